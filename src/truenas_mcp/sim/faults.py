"""Fault injection: the ways a real box or network misbehaves, on demand, so reliability can be tested.

One ``Faults`` object is shared by the whole simulator and read on every message, so changes made at run
time (from Python or through the private ``sim.faults.set`` method) apply to the next message at once.
"""

from __future__ import annotations

import asyncio
import errno
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from truenas_mcp.sim.errors import CallError, errname


@dataclass
class MethodFault:
    """The error a named method fails with instead of running."""

    errmsg: str = "Injected failure"
    errno: int = errno.EFAULT
    extra: Any = None

    def error(self) -> CallError:
        return CallError(self.errmsg, self.errno, self.extra)


@dataclass
class Faults:
    """What to break. Every field's default means "behave normally".

    * ``drop_after_messages``: close the connection (no close frame, as a dying network would) once the
      server has received this many messages on it; ``None`` never.
    * ``delay_seconds``: answer every call this much later.
    * ``fail_methods``: method name → the ``CallError`` it raises (before parameter validation).
    * ``fail_jobs``: job methods (``"*"`` = all) that end ``FAILED`` after their first step.
    * ``stall_jobs``: job methods (``"*"`` = all) whose jobs stop at their first checkpoint until released
      (``stall_jobs`` no longer names them) or aborted.
    """

    drop_after_messages: int | None = None
    delay_seconds: float = 0.0
    fail_methods: dict[str, MethodFault] = field(default_factory=dict)
    fail_jobs: set[str] = field(default_factory=set)
    stall_jobs: set[str] = field(default_factory=set)
    _released: asyncio.Event | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.drop_after_messages is not None and self.drop_after_messages < 1:
            raise ValueError(f"drop_after_messages: must be at least 1, got {self.drop_after_messages}")
        if self.delay_seconds < 0:
            raise ValueError(f"delay_seconds: must not be negative, got {self.delay_seconds}")
        self.fail_methods = {
            name: f if isinstance(f, MethodFault) else MethodFault(**f)
            for name, f in self.fail_methods.items()
        }
        self.fail_jobs = set(self.fail_jobs)
        self.stall_jobs = set(self.stall_jobs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faults:
        """Build from JSON (CLI ``--faults`` and ``sim.faults.set``); unknown keys are an error."""
        known = {f.name for f in fields(cls) if f.init}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"faults: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        for name, fault in dict(data.get("fail_methods", {})).items():
            if not isinstance(fault, dict):
                raise ValueError(f"faults.fail_methods.{name}: expected an object with errmsg/errno/extra")
            bad = sorted(set(fault) - {"errmsg", "errno", "extra"})
            if bad:
                raise ValueError(f"faults.fail_methods.{name}: unknown key(s) {', '.join(bad)}")
            if "errno" in fault and errname(int(fault["errno"])) == "EUNKNOWN":
                raise ValueError(f"faults.fail_methods.{name}.errno: {fault['errno']} is not an errno")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return {
            "drop_after_messages": self.drop_after_messages,
            "delay_seconds": self.delay_seconds,
            "fail_methods": {name: asdict(f) for name, f in sorted(self.fail_methods.items())},
            "fail_jobs": sorted(self.fail_jobs),
            "stall_jobs": sorted(self.stall_jobs),
        }

    def update(self, other: Faults) -> None:
        """Take every setting of ``other`` (run-time change); releases stalled jobs if no longer stalled."""
        for f in fields(self):
            if f.init:
                setattr(self, f.name, getattr(other, f.name))
        if self._released is not None:  # let stalled jobs re-check whether they are still stalled
            self._released.set()
            self._released = None

    def method_fault(self, method: str) -> CallError | None:
        fault = self.fail_methods.get(method)
        return fault.error() if fault else None

    def job_fails(self, method: str) -> bool:
        return "*" in self.fail_jobs or method in self.fail_jobs

    def job_stalls(self, method: str) -> bool:
        return "*" in self.stall_jobs or method in self.stall_jobs

    async def wait_released(self, method: str) -> None:
        """Block a job of ``method`` for as long as ``stall_jobs`` names it."""
        while self.job_stalls(method):
            if self._released is None:
                self._released = asyncio.Event()
            await self._released.wait()
