"""One tool call, start to finish: profile check, validation, authorization, the TrueNAS call, shaping.

Every path into a tool (a direct ``tools/call`` or discovery's ``call_tool``) goes through
:meth:`ToolRuntime.call_catalog_tool`, so the profile, the argument check and the access policy apply
the same way whichever way the call came in. Failures a model can act on are tool results with
``isError: true`` and a message naming what to change, never protocol errors.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
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
from truenas_mcp.models import validate_arguments
from truenas_mcp.server import audit, builtin, jobs, redact, shaping
from truenas_mcp.server.access import AccessPolicy, Principal, ToolRef
from truenas_mcp.server.authz import RolePolicy
from truenas_mcp.server.confirm import (
    NO_CHANNEL,
    TOKEN_ARGUMENT,
    ConfirmationError,
    Confirmations,
    ConfirmChannel,
    derive_key,
    load_root_key,
)
from truenas_mcp.server.discovery import SearchIndex, hits_to_result
from truenas_mcp.server.metrics import Metrics
from truenas_mcp.server.profiles import Profile, Profiles
from truenas_mcp.server.settings import ServerSettings

log = logging.getLogger("truenas_mcp.server.calls")


@dataclass(frozen=True, slots=True)
class CallContext:
    """The caller's side of one call: the URL's profile, who is calling and where progress goes."""

    profile: Profile
    principal: Principal
    progress: jobs.ProgressFn | None = None
    channel: ConfirmChannel = NO_CHANNEL  # how this client can confirm a destructive call
    client_name: str | None = None  # the MCP client's own name (clientInfo), for the audit log


class ToolError(Exception):
    """A failure reported to the model as an ``isError`` result; ``outcome`` labels the metric."""

    def __init__(self, message: str, outcome: str) -> None:
        super().__init__(message)
        self.outcome = outcome


def text_result(structured: dict[str, Any] | None, text: str, *, error: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {"content": [{"type": "text", "text": text}], "isError": error}
    if structured is not None:
        result["structuredContent"] = structured
    return result


def error_result(message: str) -> dict[str, Any]:
    return text_result(None, message, error=True)


def _truenas_error(tool: ToolSpec, exc: TrueNASError) -> ToolError:
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
        return ToolError(
            f"{tool.name}: TrueNAS is unreachable right now ({exc}); retry shortly", "unavailable"
        )
    return ToolError(f"{tool.name}: {exc}", "truenas_error")


class ToolRuntime:
    """Everything a call needs, shared by all profiles and connections."""

    def __init__(
        self,
        catalog: Catalog,
        client: TrueNASClient,
        settings: ServerSettings,
        *,
        access: AccessPolicy | None = None,
        metrics: Metrics | None = None,
        confirmations: Confirmations | None = None,
        audit_log: audit.AuditLog | None = None,
    ) -> None:
        self.catalog = catalog
        self.client = client
        self.settings = settings
        self.access: AccessPolicy = access or RolePolicy.from_settings(settings)
        # A per-process key unless the deployment shares one: tokens then die with the process, which is
        # the safe failure for a single replica.
        root = load_root_key(settings.confirm_secret_file)
        self.confirmations = confirmations or Confirmations(
            derive_key(root, "confirm"), settings.confirm_ttl_seconds
        )
        self.request_state_key = derive_key(root, "request-state")
        self.audit_log = audit_log or audit.AuditLog(
            settings.audit_log, max_bytes=settings.audit_max_bytes, backups=settings.audit_backups
        )
        self.metrics = metrics or Metrics(lambda: float(client.reconnects))
        self.profiles = Profiles(catalog, job_wait_seconds=settings.job_wait_seconds)
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for calls in flight to finish; ``False`` if some did not."""
        if self._active:
            log.info("waiting for calls in flight", extra={"in_flight": self._active})
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            log.warning("shutting down with calls in flight", extra={"in_flight": self._active})
            return False
        return True

    @functools.cached_property
    def index(self) -> SearchIndex:
        return SearchIndex(tool for tool in self.catalog if tool.name not in self.profiles.excluded)

    # Entry point ------------------------------------------------------------------------------
    async def call(self, ctx: CallContext, name: str, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
        """Answer ``tools/call`` (``CallToolResult`` as JSON) and record metrics."""
        started = time.perf_counter()
        outcome = "ok"
        principal = ctx.principal
        entry = audit.AuditEntry(
            tool=name,
            principal=principal.subject,
            client=principal.client_id,
            client_name=ctx.client_name,
            profile=ctx.profile.name,
            arguments=dict(arguments or {}),
        )
        entry_token = audit.current.set(entry)
        self.metrics.in_flight.inc()
        self._active += 1
        self._idle.clear()
        try:
            result = await self._dispatch(ctx, name, dict(arguments or {}))
            if result.get("resultType") == "input_required" or entry.decision == "pending_confirmation":
                outcome = "needs_confirmation"
            elif entry.decision == "declined":
                outcome = "declined"
            elif result.get("isError"):
                outcome = "error"
            elif isinstance(result.get("structuredContent"), dict):
                handle = result["structuredContent"].get("job")
                if isinstance(handle, dict):
                    entry.job_id = handle.get("id") if isinstance(handle.get("id"), int) else None
                    if handle.get("state") not in (None, "SUCCESS"):
                        outcome = "job_running"
            return result
        except ToolError as exc:
            outcome = exc.outcome
            return error_result(str(exc))
        except BaseException:
            outcome = "cancelled_or_failed"
            raise
        finally:
            self.metrics.in_flight.dec()
            self._active -= 1
            if not self._active:
                self._idle.set()
            elapsed = time.perf_counter() - started
            label = name if name in self.catalog.by_name or ctx.profile.builtin(name) else "(unknown)"
            self.metrics.observe(label, outcome, elapsed)
            audit.current.reset(entry_token)
            if self.audit_log is not None:
                entry.outcome = outcome
                self.audit_log.write(entry.record(elapsed * 1e3))
            log.info(
                "tool call",
                extra={
                    "tool": name,
                    "outcome": outcome,
                    "profile": ctx.profile.name,
                    "ms": round(elapsed * 1e3, 3),
                },
            )

    async def _dispatch(self, ctx: CallContext, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        if ctx.profile.builtin(name) is not None:
            return await self._builtin(ctx, name, arguments)
        return await self.call_catalog_tool(ctx, name, arguments)

    # Catalog tools ----------------------------------------------------------------------------
    def resolve(self, profile: Profile, name: str) -> ToolSpec:
        """The catalog tool ``name`` if this profile offers it, else a ``ToolError`` saying why not."""
        tool = self.catalog.by_name.get(name)
        if tool is None:
            raise ToolError(
                f"unknown tool {name!r}; use search_tools to find tools by what they do", "unknown"
            )
        reason = self.profiles.excluded.get(name)
        if reason is not None:
            raise ToolError(f"{name} is not offered by this server: {reason}", "excluded")
        if profile.read_only and tool.policy.safety != "read":
            raise ToolError(
                f"{name} is a {tool.policy.safety} tool and this endpoint ({profile.path}) is read-only; "
                "it was refused without being sent to TrueNAS",
                "refused_readonly",
            )
        if not profile.offers(name):
            raise ToolError(
                f"{name} is not offered on {profile.path}; connect to /mcp (discovery) or /mcp/all to use it",
                "not_offered",
            )
        return tool

    async def call_catalog_tool(
        self, ctx: CallContext, name: str, arguments: dict[str, Any]
    ) -> dict[str, Any]:
        known = self.catalog.by_name.get(name)
        token = arguments.pop(TOKEN_ARGUMENT, None)
        audit.note(
            tool=name,
            method=known.method if known else None,
            arguments=dict(arguments),
            secret_inputs=known.policy.secret_inputs if known else None,
        )
        tool = self.resolve(ctx.profile, name)
        ref = ToolRef(tool.name, tool.method, tool.policy)
        if not self.access.visible(ctx.principal, ref):
            # Listing and calling agree: a tool the caller cannot see is refused before anything else.
            decision = await self.access.authorize(ctx.principal, ref, arguments)
            audit.note(decision="denied", reason=decision.reason)
            raise ToolError(f"{name}: not allowed: {decision.reason}", "denied")
        if token is not None and not isinstance(token, str):
            raise ToolError(f"{name}: `{TOKEN_ARGUMENT}` must be a string", "invalid_arguments")
        validated, errors = validate_arguments(tool.args_model(), arguments)
        if validated is None:
            lines = [f"invalid arguments for {name} (nothing was sent to TrueNAS):"]
            lines += [f"- {e.path or '(arguments)'}: {e.message}" for e in errors]
            raise ToolError("\n".join(lines), "invalid_arguments")
        decision = await self.access.authorize(ctx.principal, ref, validated)
        if decision.outcome == "deny":
            audit.note(decision="denied", reason=decision.reason)
            raise ToolError(f"{name}: not allowed: {decision.reason}", "denied")
        hide = not self.access.sees_secrets(ctx.principal, self._secrets_ref(tool))
        refusal = redact.query_refusal(validated, tool.policy.secret_outputs) if hide else None
        if refusal is not None and tool.policy.filterable:
            audit.note(decision="denied", reason=refusal)
            raise ToolError(f"{name}: not allowed: {refusal}", "denied")
        if decision.outcome == "confirm":
            try:
                confirmed = await self.confirmations.confirm(
                    ctx.channel,
                    ctx.principal,
                    tool=tool.name,
                    method=tool.method,
                    safety=tool.policy.safety,
                    arguments=validated,
                    token=token,
                    secret_inputs=tool.policy.secret_inputs,
                )
            except ConfirmationError as exc:
                audit.note(decision="denied", reason=str(exc))
                raise ToolError(f"{name}: {exc}", "confirmation_refused") from None
            if not confirmed.confirmed:
                assert confirmed.result is not None
                audit.note(decision="declined" if confirmed.how == "declined" else "pending_confirmation")
                return confirmed.result
            audit.note(decision="confirmed", reason=f"confirmed by {confirmed.how}")
        elif token is not None:
            raise ToolError(
                f"{name}: needs no confirmation; call it without `{TOKEN_ARGUMENT}`", "invalid_arguments"
            )
        try:
            return await self._run(ctx, tool, validated, hide=hide)
        except TrueNASError as exc:
            raise _truenas_error(tool, exc) from exc

    def _secrets_ref(self, tool: ToolSpec) -> ToolRef:
        """The tool whose roles decide whether a caller sees this tool's secrets.

        TrueNAS shows secrets to FULL_ADMIN and to holders of the namespace's write role
        (``{role_prefix}_WRITE``, ``main.py dump_result``), not to every role that may read: SHARING_ADMIN
        reads ``mail.config`` but gets its password masked. The recording does not name that role, but the
        namespace's ``update`` (or ``create``) method is granted by exactly it and the roles that include
        it. A namespace with neither shows its secrets to FULL_ADMIN only.
        """
        for verb in ("update", "create"):
            writer = self.catalog.by_method.get(f"{tool.policy.namespace}.{verb}")
            if writer is not None:
                return ToolRef(writer.name, writer.method, writer.policy)
        return ToolRef(tool.name, tool.method, None)

    async def _run(
        self, ctx: CallContext, tool: ToolSpec, arguments: dict[str, Any], *, hide: bool = False
    ) -> dict[str, Any]:
        settings = self.settings
        if tool.policy.pipe == "download":
            return await self._download(ctx, tool, arguments)
        if tool.policy.job:
            params = tool.to_wire_params(arguments)
            outcome = await jobs.run_job(
                self.client, tool.method, params, settings.job_wait_seconds, ctx.progress
            )
            return self._job_answer(tool, _for_caller_of(tool, outcome, hide=hide))
        arguments, plan = shaping.plan_query(tool, arguments, settings.default_limit)
        result = await self.client.call(tool.method, *tool.to_wire_params(arguments))
        result = redact.for_answer(result, tool.policy.secret_outputs, sees_secrets=not hide)
        shaped = shaping.shape_result(tool, result, plan, settings.max_answer_bytes)
        if shaped.error is not None:
            raise ToolError(shaped.error, "too_large")
        return text_result(shaped.structured, shaped.text)

    def _job_answer(self, tool: ToolSpec | None, outcome: jobs.JobOutcome) -> dict[str, Any]:
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
            return text_result(structured, text)
        shaped = shaping.shape_result(
            tool,
            outcome.result,
            shaping.QueryPlan(None, 0, False),
            self.settings.max_answer_bytes,
            extra={"job": outcome.handle},
        )
        if shaped.error is not None:
            raise ToolError(shaped.error, "too_large")
        return text_result(shaped.structured, shaped.text)

    async def _download(self, ctx: CallContext, tool: ToolSpec, arguments: dict[str, Any]) -> dict[str, Any]:
        filename = f"{tool.method}.bin"
        got = await jobs.download(
            self.client,
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
        answer = self._job_answer(tool, got.outcome)
        if got.data is not None and not answer["isError"]:
            answer["content"].append(jobs.blob_content(tool.name, got))
        return answer

    # Server tools -----------------------------------------------------------------------------
    async def _builtin(self, ctx: CallContext, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        if name == builtin.SEARCH_TOOLS:
            return self._search(ctx, arguments)
        if name == builtin.DESCRIBE_TOOL:
            return self._describe(ctx, arguments)
        if name == builtin.CALL_TOOL:
            target = _string(arguments, "name", name)
            inner = arguments.get("arguments", {})
            if not isinstance(inner, dict):
                raise ToolError("call_tool: `arguments` must be an object", "invalid_arguments")
            _no_extra(arguments, {"name", "arguments"}, name)
            if ctx.profile.builtin(target) is not None:
                raise ToolError(f"call_tool: call {target} directly, it is listed", "invalid_arguments")
            return await self.call_catalog_tool(ctx, target, inner)
        return await self._job_tool(ctx, name, arguments)

    def _visible(self, ctx: CallContext, name: str) -> bool:
        tool = self.catalog.by_name[name]
        return ctx.profile.offers(name) and self.access.visible(
            ctx.principal, ToolRef(tool.name, tool.method, tool.policy)
        )

    def _search(self, ctx: CallContext, arguments: dict[str, Any]) -> dict[str, Any]:
        query = _string(arguments, "query", builtin.SEARCH_TOOLS)
        limit = arguments.get("limit", self.settings.search_results)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 50:
            raise ToolError("search_tools: `limit` must be an integer from 1 to 50", "invalid_arguments")
        _no_extra(arguments, {"query", "limit"}, builtin.SEARCH_TOOLS)
        hits = self.index.search(query, limit, lambda n: self._visible(ctx, n))
        structured = {"result": hits_to_result(hits, self.catalog.by_name)}
        return text_result(structured, shaping.dumps(structured))

    def _describe(self, ctx: CallContext, arguments: dict[str, Any]) -> dict[str, Any]:
        target = _string(arguments, "name", builtin.DESCRIBE_TOOL)
        _no_extra(arguments, {"name"}, builtin.DESCRIBE_TOOL)
        tool = self.resolve(ctx.profile, target)
        if not self.access.visible(ctx.principal, ToolRef(tool.name, tool.method, tool.policy)):
            raise ToolError(f"unknown tool {target!r}", "unknown")
        structured = {"result": tool.definition()}
        return text_result(structured, shaping.dumps(structured))

    async def _job_tool(self, ctx: CallContext, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        job_id = arguments.get("job_id")
        if not isinstance(job_id, int) or isinstance(job_id, bool) or job_id < 1:
            raise ToolError(f"{name}: `job_id` must be a positive integer", "invalid_arguments")
        try:
            if name == builtin.JOB_STATUS:
                _no_extra(arguments, {"job_id"}, name)
                outcome = await jobs.status(self.client, job_id)
                return self._job_answer(None, self._for_caller(ctx, name, outcome))
            _no_extra(arguments, {"job_id", "timeout_seconds", "abort_on_cancel"}, name)
            bound = arguments.get("timeout_seconds", self.settings.job_wait_seconds)
            if not isinstance(bound, int | float) or isinstance(bound, bool) or bound <= 0:
                raise ToolError(f"{name}: `timeout_seconds` must be a positive number", "invalid_arguments")
            abort = arguments.get("abort_on_cancel", False)
            if not isinstance(abort, bool):
                raise ToolError(f"{name}: `abort_on_cancel` must be true or false", "invalid_arguments")
            if abort and ctx.profile.read_only:
                raise ToolError(
                    f"{name}: aborting jobs is not allowed on a read-only endpoint", "refused_readonly"
                )
            if abort and not self.access.may_abort_jobs(ctx.principal):
                raise ToolError(f"{name}: aborting jobs needs a write role; this token has none", "denied")
            bound = min(float(bound), self.settings.job_wait_seconds)
            outcome = await jobs.wait(self.client, job_id, bound, ctx.progress, abort_on_cancel=abort)
            return self._job_answer(None, self._for_caller(ctx, name, outcome))
        except TrueNASError as exc:
            raise ToolError(f"{name}: {exc}", "truenas_error") from exc

    def _for_caller(self, ctx: CallContext, name: str, outcome: jobs.JobOutcome) -> jobs.JobOutcome:
        visible = self.access.sees_secrets(ctx.principal, ToolRef(name, None, None))
        return outcome if visible else _hidden(outcome)


def _for_caller_of(tool: ToolSpec, outcome: jobs.JobOutcome, *, hide: bool) -> jobs.JobOutcome:
    """A job outcome of ``tool`` as its caller may see it (see ``redact.for_answer``)."""
    result = redact.for_answer(outcome.result, tool.policy.secret_outputs, sees_secrets=not hide)
    return outcome if result is outcome.result else dataclasses.replace(outcome, result=result)


def _hidden(outcome: jobs.JobOutcome) -> jobs.JobOutcome:
    """A job followed by id, whose method is not known here: secret-named fields masked."""
    return dataclasses.replace(
        outcome, result=redact.redact(outcome.result), handle=redact.redact(outcome.handle)
    )


def _string(arguments: Mapping[str, Any], key: str, tool: str) -> str:
    value = arguments.get(key)
    if not isinstance(value, str) or not value:
        raise ToolError(f"{tool}: `{key}` must be a non-empty string", "invalid_arguments")
    return value


def _no_extra(arguments: Mapping[str, Any], allowed: set[str], tool: str) -> None:
    extra = sorted(set(arguments) - allowed)
    if extra:
        raise ToolError(f"{tool}: unknown argument(s) {', '.join(extra)}", "invalid_arguments")
