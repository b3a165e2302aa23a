"""Bytes of answers in flight: one budget for the whole process, so memory stays bounded.

An answer is held from the moment it is encoded until its reply has been written (direct answers) or
handed to the SDK. Many large answers at once — or slow readers holding theirs — would otherwise grow the
process without bound. A query answer is cut to the room left (its ``page`` note says so and where to
continue); any other answer that does not fit is refused with a note to retry, never queued.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class AnswerBudget:
    """How many bytes of encoded answers the process holds at most (one event loop: no locking)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0

    def room(self) -> int:
        return max(0, self.total - self.used)

    def lease(self) -> AnswerLease:
        return AnswerLease(self)


@dataclass
class AnswerLease:
    """The bytes one call's answer holds; released when the reply is gone (``with`` block)."""

    budget: AnswerBudget
    held: int = field(default=0)

    def room(self) -> int:
        return self.budget.room()

    def take(self, size: int) -> None:
        self.budget.used += size
        self.held += size

    def __enter__(self) -> AnswerLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.budget.used -= self.held
        self.held = 0
