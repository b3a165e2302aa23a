"""Running TrueNAS jobs inside an MCP call: bounded waits, progress notifications, handles, downloads.

A job tool starts the job and waits at most the configured bound, turning the job's progress into MCP
progress notifications. A job still running at the bound is answered with its handle
(``{"job": {id, state, progress}}``) for ``job_status``/``job_wait`` to follow. A client cancelling the MCP
request ends the wait only; the job goes on unless the caller asked ``job_wait`` to abort it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from truenas_mcp.client import Job, JobAbortedError, JobFailedError, JobWaitTimeoutError, TrueNASClient
from truenas_mcp.client.errors import ProtocolError, TransferError
from truenas_mcp.client.transport import build_ssl_context

log = logging.getLogger("truenas_mcp.server.jobs")

ProgressFn = Callable[[float, float | None, str | None], Awaitable[None]]


def job_handle(job: Job | None, job_id: int) -> dict[str, Any]:
    """The ``job`` object of a job tool's output schema."""
    if job is None:
        return {"id": job_id, "state": "WAITING", "progress": {"percent": None, "description": None}}
    return {
        "id": job.id,
        "state": job.state,
        "progress": {"percent": job.progress.percent, "description": job.progress.description},
    }


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """How a wait ended: ``finished`` with ``result``, still running, or failed with ``error``."""

    handle: dict[str, Any]
    finished: bool
    result: Any = None
    error: str | None = None


class ProgressRelay:
    """Job snapshots → MCP progress notifications, with strictly increasing values as the spec requires."""

    def __init__(self, report: ProgressFn | None) -> None:
        self._report = report
        self._last = -1.0

    async def __call__(self, job: Job) -> None:
        percent = job.progress.percent
        if self._report is None or percent is None:
            return
        value = float(percent)
        if value <= self._last:
            return
        self._last = value
        message = job.progress.description or f"{job.method}: {job.state.lower()}"
        try:
            await self._report(value, 100.0, message)
        except Exception:  # a client that went away must not fail the job wait
            log.debug("progress notification not delivered", exc_info=True)


def failure_message(exc: JobFailedError | JobAbortedError) -> str:
    if isinstance(exc, JobAbortedError):
        return f"job {exc.job_id} was aborted"
    lines = [f"job {exc.job_id} failed: {exc.error}"]
    lines += [f"- {e.field or '(arguments)'}: {e.message}" for e in exc.errors]
    return "\n".join(lines)


async def wait(
    client: TrueNASClient,
    job_id: int,
    bound: float,
    report: ProgressFn | None,
    *,
    abort_on_cancel: bool = False,
) -> JobOutcome:
    """Wait up to ``bound`` seconds for job ``job_id``, relaying progress."""
    relay = ProgressRelay(report)
    try:
        result = await client.wait_job(job_id, timeout=bound, on_progress=relay)
    except JobWaitTimeoutError as exc:
        return JobOutcome(job_handle(exc.job, job_id), finished=False)
    except (JobFailedError, JobAbortedError) as exc:
        return JobOutcome(job_handle(exc.job, job_id), finished=True, error=failure_message(exc))
    except asyncio.CancelledError:
        if abort_on_cancel:
            # The caller's cancellation is already under way: shield the abort so it reaches TrueNAS.
            with contextlib.suppress(Exception):
                await asyncio.shield(client.abort_job(job_id))
        raise
    status = {"id": job_id, "state": "SUCCESS", "progress": {"percent": 100, "description": None}}
    return JobOutcome(status, finished=True, result=result)


async def run_job(
    client: TrueNASClient, method: str, params: list[Any], bound: float, report: ProgressFn | None
) -> JobOutcome:
    handle = await client.start_job(method, *params)
    return await wait(client, handle.id, bound, report)


async def status(client: TrueNASClient, job_id: int) -> JobOutcome:
    job = await client.job_status(job_id)
    if not job.finished:
        return JobOutcome(job_handle(job, job_id), finished=False)
    if job.state == "SUCCESS":
        return JobOutcome(job_handle(job, job_id), finished=True, result=job.result)
    exc = JobAbortedError(job) if job.state == "ABORTED" else JobFailedError(job)
    return JobOutcome(job_handle(job, job_id), finished=True, error=failure_message(exc))


@dataclass(frozen=True, slots=True)
class Download:
    outcome: JobOutcome
    data: bytes | None
    filename: str
    too_large: int | None = None  # the size, when above the cap


async def download(
    client: TrueNASClient,
    method: str,
    params: list[Any],
    filename: str,
    *,
    bound: float,
    max_bytes: int,
    report: ProgressFn | None,
) -> Download:
    """Run a download job through ``core.download`` and fetch its file (at most ``max_bytes``).

    The file is streamed and the transfer stopped as soon as it passes the cap, so a large download costs
    neither memory nor the whole transfer.
    """
    answer = await client.call("core.download", method, params, filename, False)
    if not (isinstance(answer, list) and len(answer) == 2 and isinstance(answer[0], int)):
        raise ProtocolError(f"core.download({method}) answered {answer!r}, expected [job_id, url]")
    job_id, url = answer
    endpoint = client.config.endpoint
    verify: Any = build_ssl_context(
        endpoint, verify=client.config.verify_tls, ca_bundle=client.config.ca_bundle
    )
    chunks: list[bytes] = []
    size = 0
    too_large: int | None = None
    async with (
        httpx.AsyncClient(base_url=endpoint.http_base, verify=verify or True, timeout=bound) as http,
        http.stream("GET", url) as response,
    ):
        if response.status_code != 200:
            outcome = await status(client, job_id)
            if outcome.error is not None:
                return Download(outcome, None, filename)
            raise TransferError(
                f"{method}: download answered HTTP {response.status_code}", response.status_code
            )
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                too_large = size
                break
            chunks.append(chunk)
    outcome = await wait(client, job_id, bound, report)
    if too_large is not None:
        return Download(outcome, None, filename, too_large=too_large)
    return Download(outcome, b"".join(chunks), filename)


def blob_content(tool: str, download_: Download) -> dict[str, Any]:
    """An MCP embedded resource carrying the downloaded file as base64."""
    assert download_.data is not None
    return {
        "type": "resource",
        "resource": {
            "uri": f"truenas://download/{tool}/{download_.filename}",
            "mimeType": "application/octet-stream",
            "blob": base64.b64encode(download_.data).decode("ascii"),
        },
    }
