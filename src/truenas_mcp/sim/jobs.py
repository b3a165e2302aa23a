"""Jobs as ``middlewared/job.py`` runs them: an id at once, then WAITING → RUNNING → SUCCESS/FAILED/ABORTED.

Every state or progress change is published as a ``core.get_jobs`` ``collection_update`` carrying the full
job object, which is what clients (the official one included) wait on.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import traceback
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from truenas_mcp.sim.api import EventKind, Session
from truenas_mcp.sim.errors import CallError, InstanceNotFound, ValidationErrors
from truenas_mcp.sim.faults import Faults

JobState = Literal["WAITING", "RUNNING", "SUCCESS", "FAILED", "ABORTED"]
FINAL_STATES: frozenset[str] = frozenset({"SUCCESS", "FAILED", "ABORTED"})
MAX_JOBS_KEPT = 1000  # the middleware keeps at most this many jobs in memory


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Job:
    """One job; also the ``JobHandle`` its method implementation sees while it runs."""

    def __init__(
        self,
        job_id: int,
        method: str,
        arguments: list[Any],
        session: Session,
        faults: Faults,
        publish: Callable[[Job, EventKind], None],
        *,
        pipe_in: bytes | None = None,
        want_output: bool = False,
    ) -> None:
        self.id = job_id
        self.method = method
        self.arguments = arguments
        self.owner = session.username
        self.credentials = (
            {"type": session.credential_type, "data": {"username": session.username}}
            if session.username
            else None
        )
        self.description: str | None = None
        self.state: JobState = "WAITING"
        self.progress: dict[str, Any] = {"percent": 0, "description": "", "extra": None}
        self.result: Any = None
        self.error: str | None = None
        self.exception: str | None = None
        self.exc_info: dict[str, Any] | None = None
        self.time_started = _now()
        self.time_finished: dt.datetime | None = None
        self.done = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self._faults = faults
        self._publish = publish
        self._pipe_in = pipe_in
        self.output: bytearray | None = bytearray() if want_output else None

    # -- JobHandle ---------------------------------------------------------------------------------------
    def set_progress(self, percent: int, description: str = "", extra: Any = None) -> None:
        self.progress = {"percent": int(percent), "description": description, "extra": extra}
        self._publish(self, "changed")

    async def checkpoint(self) -> None:
        """Yield to the loop; where injected stalls wait and injected job failures strike."""
        await asyncio.sleep(0)
        if self._faults.job_stalls(self.method):
            await self._faults.wait_released(self.method)
        if self._faults.job_fails(self.method):
            raise CallError(f"Injected failure of job {self.id} ({self.method})", errno.EFAULT)

    def pipe_input(self) -> bytes | None:
        return self._pipe_in

    def pipe_output(self, data: bytes) -> None:
        if self.output is None:
            raise CallError("Pipe 'output' is not open", errno.EINVAL)
        self.output.extend(data)

    # -- lifecycle ---------------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    def encode(self) -> dict[str, Any]:
        """``Job.__encode__``; datetimes stay Python values and become ``{"$date": ms}`` on the wire."""
        return {
            "id": self.id,
            "method": self.method,
            "arguments": self.arguments,
            "transient": False,
            "description": self.description,
            "abortable": True,
            "logs_path": None,
            "logs_excerpt": None,
            "progress": dict(self.progress),
            "result": self.result,
            "result_encoding_error": None,
            "error": self.error,
            "exception": self.exception,
            "exc_info": self.exc_info,
            "state": self.state,
            "time_started": self.time_started,
            "time_finished": self.time_finished,
            "credentials": self.credentials,
        }

    def _set_state(self, state: JobState) -> None:
        self.state = state
        if state in FINAL_STATES:
            self.time_finished = _now()
        self._publish(self, "changed")

    def _fail(self, exc: BaseException) -> None:
        etype: str
        extra: Any = None
        code: int | None = None
        # job.py Job.__encode__: validation errors are VALIDATION with the errors as extra (the errno only
        # for a single ValidationError such as InstanceNotFound); anything else is named by its class.
        if isinstance(exc, ValidationErrors):
            etype = "VALIDATION"
            extra = [list(e) for e in exc.errors]
            code = exc.errno if isinstance(exc, InstanceNotFound) else None
        elif isinstance(exc, CallError):
            etype = type(exc).__name__
            code, extra = exc.errno, exc.extra
        else:
            etype = type(exc).__name__
        self.error = str(exc) or repr(exc)
        self.exception = "".join(traceback.format_exception(exc))
        self.exc_info = {"repr": repr(exc), "type": etype, "errno": code, "extra": extra}
        self._set_state("FAILED")

    async def run(self, body: Callable[[Job], Awaitable[Any]]) -> None:
        try:
            if self.state != "WAITING":  # aborted before it started
                return
            self._set_state("RUNNING")
            await self.checkpoint()
            result = await body(self)
        except asyncio.CancelledError:
            self.error = "Job aborted"
            self._set_state("ABORTED")
        except Exception as exc:
            self._fail(exc)
        else:
            self.result = result
            self.progress = {**self.progress, "percent": 100}
            self._set_state("SUCCESS")
        finally:
            self.done.set()

    def abort(self) -> None:
        if self.finished:
            return
        if self.task is None or self.state == "WAITING":
            self.error = "Job aborted"
            self._set_state("ABORTED")
            self.done.set()
            if self.task is not None:
                self.task.cancel()
        else:
            self.task.cancel()

    async def wait(self) -> None:
        await self.done.wait()


class JobManager:
    """All jobs of one simulator run; ids are sequential from 1, as after a middleware restart."""

    def __init__(self, faults: Faults, publish: Callable[[Job, EventKind], None]) -> None:
        self._faults = faults
        self._publish = publish
        self._jobs: OrderedDict[int, Job] = OrderedDict()
        self._next_id = 1

    def __iter__(self) -> Any:
        return iter(list(self._jobs.values()))

    def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def start(
        self,
        method: str,
        arguments: list[Any],
        session: Session,
        body: Callable[[Job], Awaitable[Any]],
        *,
        pipe_in: bytes | None = None,
        want_output: bool = False,
    ) -> Job:
        job = Job(
            self._next_id,
            method,
            arguments,
            session,
            self._faults,
            self._publish,
            pipe_in=pipe_in,
            want_output=want_output,
        )
        self._next_id += 1
        self._jobs[job.id] = job
        self._evict()
        self._publish(job, "added")
        job.task = asyncio.get_running_loop().create_task(job.run(body), name=f"sim-job-{job.id}-{method}")
        return job

    def _evict(self) -> None:
        while len(self._jobs) > MAX_JOBS_KEPT:
            oldest = next((j for j in self._jobs.values() if j.finished), None)
            if oldest is None:
                return
            del self._jobs[oldest.id]

    async def close(self) -> None:
        """Cancel every unfinished job (simulator shutdown) and wait for them to settle."""
        tasks = [j.task for j in self._jobs.values() if j.task is not None and not j.task.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
