"""Execute: one authorized call on TrueNAS — a plain call, a job, or a download — and its answer.

The call runs over the TrueNAS connection of the caller's credential tier. A job is recorded with its
owner, its tier and the TrueNAS boot it runs on before anyone waits on it, and every wait ends by reading
the boot id again: after a TrueNAS restart job ids start from 1, so a result read then may belong to
another job, and the answer says the outcome is unknown instead. A write whose connection dropped may
have run; its error says how to check rather than inviting a blind retry.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from truenas_mcp.catalog import Catalog, ToolSpec
from truenas_mcp.client import TrueNASClient
from truenas_mcp.client.errors import (
    ConnectionLostError,
    NotAuthorizedError,
    RPCError,
    TrueNASError,
)
from truenas_mcp.client.errors import ValidationError as TrueNASValidationError
from truenas_mcp.server import builtin, jobs, redact, shaping
from truenas_mcp.server.context import CallContext
from truenas_mcp.server.credentials import Tier
from truenas_mcp.server.inflight import AnswerLease
from truenas_mcp.server.job_owners import JobOwnership, JobRecord
from truenas_mcp.server.results import ToolError, text_result
from truenas_mcp.server.settings import ServerSettings

BOOT_ID_METHOD = "system.boot_id"
# Methods whose answer shows the current state of what a write in the same namespace changed.
_CHECK_SUFFIXES = ("query", "config", "get_instance")


# Below this much room, even a cut query answer would be a page too small to be useful.
_MIN_BUSY_ANSWER = 4096


def _busy_message(tool: ToolSpec, total: int) -> str:
    return (
        f"{tool.name}: the server is holding {total} bytes of other answers right now (its "
        "answer_bytes_in_flight); retry shortly, or ask for less with `filters` and `options.select`"
    )


def check_tool(catalog: Catalog, method: str) -> str:
    """The tool a caller should read to learn whether a write of ``method`` happened."""
    namespace = method.rpartition(".")[0]
    while namespace:
        for suffix in _CHECK_SUFFIXES:
            tool = catalog.by_method.get(f"{namespace}.{suffix}")
            if tool is not None:
                return tool.name
        namespace = namespace.rpartition(".")[0]
    return "the TrueNAS web UI"


def restarted_message(catalog: Catalog, record: JobRecord) -> str:
    return (
        f"TrueNAS restarted; the outcome of job {record.job_id} ({record.method}) is unknown — check with "
        f"{check_tool(catalog, record.method)}"
    )


def truenas_error(catalog: Catalog, tool: ToolSpec, exc: TrueNASError) -> ToolError:
    if isinstance(exc, TrueNASValidationError):
        lines = [f"TrueNAS rejected the arguments of {tool.name}:"]
        lines += [f"- {e.field or '(arguments)'}: {e.message}" for e in exc.errors] or [f"- {exc.reason}"]
        return ToolError("\n".join(lines), "truenas_invalid")
    if isinstance(exc, NotAuthorizedError):
        return ToolError(f"{tool.name}: TrueNAS refused the call: {exc.reason}", "truenas_denied")
    if isinstance(exc, RPCError):
        name = f"[{exc.errname}] " if exc.errname and not exc.reason.startswith("[") else ""
        return ToolError(f"{tool.name}: TrueNAS error: {name}{exc.reason}", "truenas_error")
    if isinstance(exc, ConnectionLostError):
        if tool.policy.safety == "read":
            return ToolError(
                f"{tool.name}: TrueNAS is unreachable right now ({exc}); retry shortly", "unavailable"
            )
        return ToolError(
            # The client's own message invites a retry; after a write that may have run, it must not.
            f"{tool.name}: the connection to TrueNAS was lost during the call; {tool.method} may have run "
            f"— check with {check_tool(catalog, tool.method)} before calling it again",
            "unavailable",
        )
    return ToolError(f"{tool.name}: {exc}", "truenas_error")


def hidden(outcome: jobs.JobOutcome) -> jobs.JobOutcome:
    """A job outcome with secret fields of its result and handle masked."""
    return dataclasses.replace(
        outcome, result=redact.redact(outcome.result), handle=redact.redact(outcome.handle)
    )


async def boot_id(client: TrueNASClient, *, attempts: int = 3) -> str:
    """TrueNAS's current boot id. A read, so a call cut off by a dropped connection is asked again (the
    client waits for the next connection within its call timeout)."""
    for attempt in range(attempts):
        try:
            return str(await client.call(BOOT_ID_METHOD))
        except ConnectionLostError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


class Executor:
    """Runs calls the earlier stages let through, over the connection of the caller's tier."""

    def __init__(self, catalog: Catalog, settings: ServerSettings, owners: JobOwnership) -> None:
        self.catalog = catalog
        self.settings = settings
        self.owners = owners

    async def run(
        self, ctx: CallContext, tool: ToolSpec, arguments: dict[str, Any], tier: Tier, *, hide: bool
    ) -> dict[str, Any]:
        try:
            if tool.policy.pipe == "download":
                return await self._download(ctx, tool, arguments, tier)
            if tool.policy.job:
                return await self._job(ctx, tool, arguments, tier, hide=hide)
            return await self._plain(
                tool, arguments, tier.client, hide=hide, clean=not ctx.one_encoding, lease=ctx.lease
            )
        except TrueNASError as exc:
            raise truenas_error(self.catalog, tool, exc) from exc

    async def _plain(
        self,
        tool: ToolSpec,
        arguments: dict[str, Any],
        client: TrueNASClient,
        *,
        hide: bool,
        clean: bool = True,
        lease: AnswerLease | None = None,
    ) -> dict[str, Any]:
        arguments, plan = shaping.plan_query(tool, arguments, self.settings.default_limit)
        result = await client.call(tool.method, *tool.to_wire_params(arguments))
        result = redact.for_answer(result, tool.policy.secret_outputs, sees_secrets=not hide)
        cap = self.settings.max_answer_bytes
        busy = lease is not None and lease.room() < cap
        if lease is not None and busy:
            cap = lease.room()
            if cap < _MIN_BUSY_ANSWER:
                raise ToolError(_busy_message(tool, lease.budget.total), "busy")
        shaped = shaping.shape_result(tool, result, plan, cap, clean=clean, busy=busy)
        if shaped.error is not None:
            if lease is not None and busy:
                raise ToolError(_busy_message(tool, lease.budget.total), "busy")
            raise ToolError(shaped.error, "too_large")
        if lease is not None:
            lease.take(shaped.size)
        return text_result(shaped.structured, shaped.text, same=True)

    async def _record(
        self, ctx: CallContext, tool: ToolSpec, job_id: int, boot: str, tier: Tier
    ) -> JobRecord:
        record = JobRecord(job_id, boot, tool.method, tool.name, ctx.principal.key, tier.name)
        return await self.owners.record(record)

    async def _job(
        self, ctx: CallContext, tool: ToolSpec, arguments: dict[str, Any], tier: Tier, *, hide: bool
    ) -> dict[str, Any]:
        client = tier.client
        boot = await boot_id(client)
        handle = await client.start_job(tool.method, *tool.to_wire_params(arguments))
        record = await self._record(ctx, tool, handle.id, boot, tier)
        outcome = await jobs.wait(client, handle.id, self.settings.job_wait_seconds, ctx.progress)
        await self.ensure_same_boot(client, record)
        result = redact.for_answer(outcome.result, tool.policy.secret_outputs, sees_secrets=not hide)
        return self.job_answer(
            tool, outcome if result is outcome.result else dataclasses.replace(outcome, result=result)
        )

    async def ensure_same_boot(self, client: TrueNASClient, record: JobRecord) -> None:
        """``ToolError`` when TrueNAS is no longer on the boot the job ran on (or cannot say)."""
        try:
            current = await boot_id(client)
        except TrueNASError as exc:
            raise ToolError(
                f"TrueNAS became unreachable ({type(exc).__name__}); the outcome of job {record.job_id} "
                f"({record.method}) is unknown — check with {check_tool(self.catalog, record.method)} "
                "once it is back",
                "unavailable",
            ) from exc
        if current != record.boot_id:
            raise ToolError(restarted_message(self.catalog, record), "truenas_restarted")

    def job_answer(self, tool: ToolSpec | None, outcome: jobs.JobOutcome) -> dict[str, Any]:
        if outcome.error is not None:
            return text_result(None, outcome.error, error=True)
        if not outcome.finished:
            handle = outcome.handle
            structured = {"job": handle}
            note = (
                f"job {handle['id']} is still {handle['state']} after {self.settings.job_wait_seconds:g} s; "
                f"follow it with {builtin.JOB_WAIT} or {builtin.JOB_STATUS} (job_id={handle['id']})"
            )
            return text_result(structured, shaping.dumps(structured) + "\n" + note)
        if tool is None:
            structured, text = shaping.encode({"result": outcome.result, "job": outcome.handle})
            if len(text.encode()) > self.settings.max_answer_bytes:
                raise ToolError(
                    f"job result is {len(text.encode())} bytes, above the answer cap", "too_large"
                )
            return text_result(structured, text, same=True)
        shaped = shaping.shape_result(
            tool,
            outcome.result,
            shaping.QueryPlan(None, 0, False),
            self.settings.max_answer_bytes,
            extra={"job": outcome.handle},
        )
        if shaped.error is not None:
            raise ToolError(shaped.error, "too_large")
        return text_result(shaped.structured, shaped.text, same=True)

    async def _download(
        self, ctx: CallContext, tool: ToolSpec, arguments: dict[str, Any], tier: Tier
    ) -> dict[str, Any]:
        filename = f"{tool.method}.bin"
        boot = await boot_id(tier.client)
        got = await jobs.download(
            tier.client,
            tool.method,
            tool.to_wire_params(arguments),
            filename,
            bound=self.settings.job_wait_seconds,
            max_bytes=self.settings.max_download_bytes,
            report=ctx.progress,
        )
        if got.too_large is not None:
            raise ToolError(
                f"{tool.name}: the file is larger than this server's download cap of "
                f"{self.settings.max_download_bytes} bytes (stopped at {got.too_large}); "
                "fetch it from TrueNAS directly",
                "too_large",
            )
        job_id = got.outcome.handle.get("id")
        if isinstance(job_id, int):
            await self._record(ctx, tool, job_id, boot, tier)
        answer = self.job_answer(tool, got.outcome)
        if got.data is not None and not answer["isError"]:
            answer["content"].append(jobs.blob_content(tool.name, got))
        return answer
