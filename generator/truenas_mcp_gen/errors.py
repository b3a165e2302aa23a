"""Errors and diagnostics of the generator: values with a severity, collected and reported once."""

from __future__ import annotations

import dataclasses
import enum


class GenerationError(Exception):
    """A fatal, user-facing problem: one line naming the file/setting and what is wrong."""


class Severity(enum.IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2


@dataclasses.dataclass(frozen=True, order=True)
class Diagnostic:
    """One finding about the input, e.g. a schema construct the normalizer does not understand."""

    severity: Severity
    method: str
    pointer: str
    message: str

    def __str__(self) -> str:
        where = f"{self.method}{'#' + self.pointer if self.pointer else ''}"
        return f"{self.severity.name.lower()}: {where}: {self.message}"
