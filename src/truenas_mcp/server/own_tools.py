"""The server's own tools at call time: discovery (search, describe, call by name) and job follow-up.

Discovery answers through the same filter chain as listing and calling, so a tool found here is a tool
the caller may call, and ``call_tool`` re-enters the catalog pipeline exactly like a direct call. The job
tools let only the principal that started a job (or a FULL_ADMIN principal) follow or abort it, run over
the credential tier that owns the job on TrueNAS, and refuse to report a job of an earlier TrueNAS boot.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from truenas_mcp.catalog import Catalog
from truenas_mcp.client.errors import TrueNASError
from truenas_mcp.server import builtin, jobs, presentation, shaping
from truenas_mcp.server.authz import FULL_ADMIN, SCOPE_PREFIX, RolePolicy
from truenas_mcp.server.chain import ToolChain
from truenas_mcp.server.confirm import TOKEN_ARGUMENT
from truenas_mcp.server.context import CallContext
from truenas_mcp.server.credentials import CredentialPool, MissingCredential, Tier
from truenas_mcp.server.discovery import SearchIndex, hits_to_result
from truenas_mcp.server.execute import Executor, hidden
from truenas_mcp.server.job_owners import JobOwnership, JobRecord
from truenas_mcp.server.results import ToolError, text_result
from truenas_mcp.server.settings import ServerSettings

RunCatalogTool = Callable[[CallContext, str, dict[str, Any]], Awaitable[dict[str, Any]]]


def _string(arguments: Mapping[str, Any], key: str, tool: str) -> str:
    value = arguments.get(key)
    if not isinstance(value, str) or not value:
        raise ToolError(f"{tool}: `{key}` must be a non-empty string", "invalid_arguments")
    return value


def _no_extra(arguments: Mapping[str, Any], allowed: set[str], tool: str) -> None:
    extra = sorted(set(arguments) - allowed)
    if extra:
        raise ToolError(f"{tool}: unknown argument(s) {', '.join(extra)}", "invalid_arguments")


def tier_of(pool: CredentialPool, authority: RolePolicy, ctx: CallContext) -> Tier:
    """The credential tier a caller's calls run under; ``ToolError`` naming the missing mapping."""
    try:
        return pool.tier_for(authority.roles(ctx.principal))
    except MissingCredential as exc:
        raise ToolError(str(exc), "denied") from None


class OwnTools:
    """Handlers of the server's own tools."""

    def __init__(
        self,
        catalog: Catalog,
        settings: ServerSettings,
        chain: ToolChain,
        pool: CredentialPool,
        owners: JobOwnership,
        executor: Executor,
        run_catalog_tool: RunCatalogTool,
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        self.chain = chain
        self.authority = chain.authority
        self.pool = pool
        self.owners = owners
        self.executor = executor
        self._run_catalog_tool = run_catalog_tool

    @functools.cached_property
    def index(self) -> SearchIndex:
        # Excluded tools never enter the index; everything else is filtered per caller by the chain.
        return SearchIndex(tool for tool in self.catalog if tool.policy.excluded is None)

    async def call(self, ctx: CallContext, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        if name == builtin.SEARCH_TOOLS:
            return self._search(ctx, arguments)
        if name == builtin.DESCRIBE_TOOL:
            return self._describe(ctx, arguments)
        if name == builtin.CALL_TOOL:
            target = _string(arguments, "name", name)
            inner = arguments.get("arguments", {})
            if not isinstance(inner, dict):
                raise ToolError("call_tool: `arguments` must be an object", "invalid_arguments")
            _no_extra(arguments, {"name", "arguments", TOKEN_ARGUMENT}, name)
            if TOKEN_ARGUMENT in arguments:
                # A model may put the token beside `arguments` rather than inside: both mean this call.
                inner = {**inner, TOKEN_ARGUMENT: arguments[TOKEN_ARGUMENT]}
            if ctx.profile.builtin(target) is not None:
                raise ToolError(f"call_tool: call {target} directly, it is listed", "invalid_arguments")
            return await self._run_catalog_tool(ctx, target, inner)
        return await self._job_tool(ctx, name, arguments)

    # Discovery --------------------------------------------------------------------------------
    def _search(self, ctx: CallContext, arguments: dict[str, Any]) -> dict[str, Any]:
        query = _string(arguments, "query", builtin.SEARCH_TOOLS)
        limit = arguments.get("limit", self.settings.search_results)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 50:
            raise ToolError("search_tools: `limit` must be an integer from 1 to 50", "invalid_arguments")
        _no_extra(arguments, {"query", "limit"}, builtin.SEARCH_TOOLS)
        by_name = self.catalog.by_name

        def allowed(name: str) -> bool:
            return self.chain.offers(ctx.profile, ctx.principal, by_name[name])

        hits = self.index.search(query, limit, allowed)
        structured = {"result": hits_to_result(hits, by_name, self.catalog.by_method)}
        return text_result(structured, shaping.dumps(structured))

    def _describe(self, ctx: CallContext, arguments: dict[str, Any]) -> dict[str, Any]:
        target = _string(arguments, "name", builtin.DESCRIBE_TOOL)
        _no_extra(arguments, {"name", "full"}, builtin.DESCRIBE_TOOL)
        full = arguments.get("full", False)
        if not isinstance(full, bool):
            raise ToolError(f"{builtin.DESCRIBE_TOOL}: `full` must be true or false", "invalid_arguments")
        try:
            tool = self.chain.resolve(ctx.profile, ctx.principal, target)
        except ToolError as exc:
            if exc.outcome == "denied":
                # A tool the caller may not use is not described: its existence is not the caller's business.
                raise ToolError(f"unknown tool {target!r}", "unknown") from None
            raise
        structured = {"result": presentation.describe(tool, self.catalog.by_method, full=full)}
        return text_result(structured, shaping.dumps(structured))

    # Job follow-up ----------------------------------------------------------------------------
    async def _owned(self, ctx: CallContext, name: str, job_id: int) -> JobRecord | None:
        """The record of the job this caller may follow (``None``: a FULL_ADMIN following an unrecorded
        job); ``ToolError`` when the caller may not follow it."""
        records = await self.owners.records(job_id)
        mine = [r for r in records if r.owner == ctx.principal.key]
        if mine:
            return mine[0]
        if self.authority.is_full_admin(ctx.principal):
            return records[0] if records else None
        raise ToolError(
            f"{name}: job {job_id} was not started by this caller through this server; only the caller "
            f"that started it or {SCOPE_PREFIX}{FULL_ADMIN} may follow it",
            "denied",
        )

    async def _job_tool(self, ctx: CallContext, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        job_id = arguments.get("job_id")
        if not isinstance(job_id, int) or isinstance(job_id, bool) or job_id < 1:
            raise ToolError(f"{name}: `job_id` must be a positive integer", "invalid_arguments")
        if name == builtin.JOB_STATUS:
            _no_extra(arguments, {"job_id"}, name)
            bound = 0.0
            abort = False
        else:
            _no_extra(arguments, {"job_id", "timeout_seconds", "abort_on_cancel"}, name)
            given = arguments.get("timeout_seconds", self.settings.job_wait_seconds)
            if not isinstance(given, int | float) or isinstance(given, bool) or given <= 0:
                raise ToolError(f"{name}: `timeout_seconds` must be a positive number", "invalid_arguments")
            bound = min(float(given), self.settings.job_wait_seconds)
            abort = arguments.get("abort_on_cancel", False)
            if not isinstance(abort, bool):
                raise ToolError(f"{name}: `abort_on_cancel` must be true or false", "invalid_arguments")
        if abort and ctx.profile.read_only:
            raise ToolError(
                f"{name}: aborting jobs is not allowed on a read-only endpoint", "refused_readonly"
            )
        if abort and not self.authority.may_abort_jobs(ctx.principal):
            raise ToolError(f"{name}: aborting jobs needs a write role; this token has none", "denied")
        record = await self._owned(ctx, name, job_id)
        tier = self.pool.by_name.get(record.tier) if record is not None else None
        client = (tier or tier_of(self.pool, self.authority, ctx)).client
        try:
            if record is not None:
                await self.executor.ensure_same_boot(client, record)
            if name == builtin.JOB_STATUS:
                outcome = await jobs.status(client, job_id)
            else:
                outcome = await jobs.wait(client, job_id, bound, ctx.progress, abort_on_cancel=abort)
            if record is not None:
                await self.executor.ensure_same_boot(client, record)
        except TrueNASError as exc:
            raise ToolError(f"{name}: {exc}", "truenas_error") from exc
        tool = self.catalog.by_name.get(record.tool) if record is not None else None
        visible = self.authority.sees_secrets(ctx.principal, tool.policy if tool is not None else None)
        return self.executor.job_answer(None, outcome if visible else hidden(outcome))
