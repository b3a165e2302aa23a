"""Following TrueNAS jobs to their end without losing a result.

A job method answers with an id at once. The tracker listens to one shared ``core.get_jobs``
subscription, and every wait also reads the job's state with ``core.get_jobs`` after it starts listening,
so a job that finished before the wait began, or while the connection was down (the client calls
:meth:`JobTracker.resync` after each reconnect), is still seen. ``state`` decides the outcome: a failed job
may carry ``result: null`` just like a successful one.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from truenas_mcp.client.errors import (
    ClientClosedError,
    ConnectionLostError,
    JobAbortedError,
    JobFailedError,
    JobNotFoundError,
    JobWaitTimeoutError,
)
from truenas_mcp.client.events import CallFn, Event, EventHub

JOBS_COLLECTION = "core.get_jobs"
# core.get_jobs masks the secret fields of job results for every external caller unless asked for the raw
# result (core_service.py get_jobs); the server decides who sees them (``redact.for_answer``).
_RAW = {"extra": {"raw_result": True}}
FINAL_STATES = frozenset({"SUCCESS", "FAILED", "ABORTED"})
_RECENT_FINISHED = 1000  # the middleware itself keeps at most 1000 jobs in memory


@dataclass(frozen=True, slots=True)
class JobProgress:
    percent: int | None
    description: str | None
    extra: Any = None


@dataclass(frozen=True, slots=True)
class Job:
    """A snapshot of a job as ``core.get_jobs`` reports it; ``raw`` keeps every wire field."""

    id: int
    method: str
    state: str
    progress: JobProgress
    result: Any = None
    error: str | None = None
    exception: str | None = None
    exc_info: dict[str, Any] | None = None
    description: str | None = None
    abortable: bool = False
    time_started: Any = None
    time_finished: Any = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Job:
        progress = data.get("progress") or {}
        return cls(
            id=int(data["id"]),
            method=str(data.get("method") or ""),
            state=str(data.get("state") or "WAITING"),
            progress=JobProgress(progress.get("percent"), progress.get("description"), progress.get("extra")),
            result=data.get("result"),
            error=data.get("error"),
            exception=data.get("exception"),
            exc_info=data.get("exc_info"),
            description=data.get("description"),
            abortable=bool(data.get("abortable")),
            time_started=data.get("time_started"),
            time_finished=data.get("time_finished"),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class JobHandle:
    """What starting a job gives back: enough to wait on, poll or abort it later, after a reconnect too."""

    id: int
    method: str


ProgressCallback = Callable[[Job], Awaitable[None] | None]


def job_outcome(job: Job) -> Any:
    """The result of a finished job, or the exception its state calls for."""
    if job.state == "SUCCESS":
        return job.result
    if job.state == "ABORTED":
        raise JobAbortedError(job)
    raise JobFailedError(job)


class _Watch:
    __slots__ = ("changed", "job", "refs")

    def __init__(self) -> None:
        self.job: Job | None = None
        self.changed = asyncio.Event()
        self.refs = 0

    def update(self, job: Job) -> None:
        # Snapshots can cross on the wire (a query answer after a final event): never step back from an end.
        if self.job is not None and self.job.finished and not job.finished:
            return
        self.job = job
        self.changed.set()


class JobTracker:
    """Job waits on top of the shared ``core.get_jobs`` event subscription."""

    def __init__(self, hub: EventHub, call: CallFn) -> None:
        self._hub = hub
        self._call = call
        self._watches: dict[int, _Watch] = {}
        self._finished: collections.OrderedDict[int, Job] = collections.OrderedDict()
        self._subscribed = False
        self._stopped: str | None = None

    # Listener protocol for the hub -------------------------------------------------------------
    def deliver(self, event: Event) -> None:
        if not isinstance(event.fields, dict) or not isinstance(event.id, int):
            return
        try:
            job = Job.from_wire({"id": event.id, **event.fields})
        except (KeyError, TypeError, ValueError):
            return
        self._note(job)

    def end(self, error: Exception | None) -> None:
        # The server dropped the subscription: listen again on the next wait.
        self._subscribed = False

    # Public -----------------------------------------------------------------------------------
    async def status(self, job_id: int) -> Job:
        answer = await self._call("core.get_jobs", [[["id", "=", job_id]], _RAW])
        if not answer:
            raise JobNotFoundError(f"job {job_id} is not known to TrueNAS", job_id)
        job = Job.from_wire(answer[0])
        self._note(job)
        return job

    async def wait(self, job_id: int, timeout: float | None, on_progress: ProgressCallback | None) -> Job:
        """Wait until the job ends (or ``timeout`` passes) and return its final snapshot."""
        if self._stopped is not None:
            raise ClientClosedError(f"job {job_id}: {self._stopped}")
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        watch = self._watches.get(job_id)
        if watch is None:
            watch = self._watches[job_id] = _Watch()
        watch.refs += 1
        try:
            await self._ensure_subscribed()
            finished = self._finished.get(job_id)
            if finished is not None:
                watch.update(finished)
            else:
                # On a lost connection resync() reads the state again once the client is reconnected.
                with contextlib.suppress(ConnectionLostError):
                    await self.status(job_id)
            reported: tuple[str, JobProgress] | None = None
            while True:
                job = watch.job
                if job is not None and on_progress is not None and (job.state, job.progress) != reported:
                    reported = (job.state, job.progress)
                    outcome = on_progress(job)
                    if inspect.isawaitable(outcome):
                        await outcome
                if job is not None and job.finished:
                    return job
                if self._stopped is not None:
                    raise ClientClosedError(f"job {job_id}: {self._stopped}")
                watch.changed.clear()
                remaining = None if deadline is None else deadline - loop.time()
                if remaining is not None and remaining <= 0:
                    raise JobWaitTimeoutError(job_id, timeout or 0.0, job)
                try:
                    async with asyncio.timeout(remaining):
                        await watch.changed.wait()
                except TimeoutError:
                    raise JobWaitTimeoutError(job_id, timeout or 0.0, watch.job) from None
        finally:
            watch.refs -= 1
            if watch.refs == 0:
                self._watches.pop(job_id, None)

    def stop(self, reason: str) -> None:
        """Wake every waiter with ``ClientClosedError(reason)`` (the client closed or stopped for good)."""
        self._stopped = reason
        for watch in self._watches.values():
            watch.changed.set()

    async def resync(self) -> None:
        """After a reconnect: events sent while disconnected are gone, so read every watched job again."""
        self._subscribed = JOBS_COLLECTION in self._hub.names
        ids = list(self._watches)
        if not ids:
            return
        answer = await self._call("core.get_jobs", [[["id", "in", ids]], _RAW])
        for data in answer or []:
            self._note(Job.from_wire(data))

    # Internals --------------------------------------------------------------------------------
    async def _ensure_subscribed(self) -> None:
        if not self._subscribed:
            await self._hub.add(JOBS_COLLECTION, self, self._call)
            self._subscribed = True

    def _note(self, job: Job) -> None:
        if job.finished:
            self._finished[job.id] = job
            self._finished.move_to_end(job.id)
            while len(self._finished) > _RECENT_FINISHED:
                self._finished.popitem(last=False)
        watch = self._watches.get(job.id)
        if watch is not None:
            watch.update(job)
