"""The audit log: one JSON line per tool call, with secrets redacted.

Each line records who called (token ``sub`` and client), what (tool, TrueNAS method, arguments with the
tool's secret arguments masked and any secret-named field too, as a safety net), the access decision
(``allowed``, ``denied``, ``confirmed``, ``pending_confirmation``, ``declined``), the outcome, the
duration, and the job id when a TrueNAS job was started. Lines go to stdout (``-``, for container log
collection) or to a file rotated by size. The audit logger never propagates to the application logs, so
the two streams can be shipped and retained separately. Audit files are created readable by the server's
user only (0600), whatever the umask: they name who did what.
"""

from __future__ import annotations

import contextvars
import datetime
import io
import json
import logging
import logging.handlers
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from truenas_mcp.server import redact
from truenas_mcp.server.logs import request_id

AUDIT_LOGGER = "truenas_mcp.audit"


@dataclass(slots=True)
class AuditEntry:
    """What the runtime learns about one call while it runs; written once when the call ends."""

    tool: str
    principal: str | None
    client: str | None
    client_name: str | None
    profile: str
    method: str | None = None
    arguments: Any = None
    decision: str = "allowed"
    reason: str | None = None
    outcome: str = "ok"
    job_id: int | None = None
    secret_inputs: tuple[str, ...] | None = None  # the tool's secret argument paths, once it is known
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self, duration_ms: float) -> dict[str, Any]:
        now = datetime.datetime.now(datetime.UTC)
        line: dict[str, Any] = {
            "time": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
            "principal": self.principal,
            "client": self.client,
            "client_name": self.client_name,
            "profile": self.profile,
            "tool": self.tool,
            "method": self.method,
            "arguments": redact.for_record(self.arguments, self.secret_inputs),
            "decision": self.decision,
            "reason": self.reason,
            "outcome": self.outcome,
            "duration_ms": round(duration_ms, 3),
            "job_id": self.job_id,
            "request_id": request_id.get(),
        }
        line.update(self.extra)
        return line


current: contextvars.ContextVar[AuditEntry | None] = contextvars.ContextVar("truenas_mcp_audit", default=None)


def note(**fields: Any) -> None:
    """Update the audit entry of the call being served (no-op outside a call)."""
    entry = current.get()
    if entry is None:
        return
    for name, value in fields.items():
        setattr(entry, name, value)


class _LineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact.scrub(str(record.msg))


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file handler whose files (the first and each after rotation) are created 0600."""

    def _open(self) -> io.TextIOWrapper:
        stream = open(  # noqa: SIM115 - the handler owns and closes the stream
            self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors, opener=_private
        )
        assert isinstance(stream, io.TextIOWrapper)
        os.chmod(self.baseFilename, 0o600)  # a file left by an older version may be wider
        return stream


class AuditLog:
    """Where audit lines go: ``-`` (stdout), ``off``, or a file path rotated at ``max_bytes``."""

    def __init__(self, target: str = "-", *, max_bytes: int = 10 * 1024 * 1024, backups: int = 5) -> None:
        self.target = target
        # A private logger (not in the logging registry): nothing else can attach to it or receive from it.
        self._logger = logging.Logger(AUDIT_LOGGER)
        self._logger.propagate = False
        self._logger.setLevel(logging.INFO)
        self._handler: logging.Handler | None = None
        if target == "off":
            return
        if target == "-":
            handler: logging.Handler = logging.StreamHandler(sys.stdout)
        else:
            path = Path(target)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                handler = _PrivateRotatingFileHandler(
                    path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
                )
            except OSError as exc:
                raise ValueError(f"audit_log: cannot open {path} ({exc.strerror})") from None
        handler.setFormatter(_LineFormatter())
        self._handler = handler
        self._logger.addHandler(handler)

    @property
    def enabled(self) -> bool:
        return self._handler is not None

    def write(self, line: dict[str, Any]) -> None:
        if self._handler is None:
            return
        self._logger.info(json.dumps(line, default=str, ensure_ascii=False, sort_keys=False))

    def close(self) -> None:
        if self._handler is not None:
            self._logger.removeHandler(self._handler)
            self._handler.close()
            self._handler = None
