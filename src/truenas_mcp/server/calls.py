"""One tool call, start to finish, as a pipeline of stages, one module each:

resolve (:mod:`~truenas_mcp.server.chain`, the filter chain) → validate
(:mod:`~truenas_mcp.server.validation`) → authorize (:mod:`~truenas_mcp.server.authz`) → confirm
(:mod:`~truenas_mcp.server.confirm`) → execute (:mod:`~truenas_mcp.server.execute`: plain call, job or
download, over the caller's credential tier) → shape (:mod:`~truenas_mcp.server.shaping`).

Every path into a catalog tool (a direct ``tools/call`` or discovery's ``call_tool``) runs
:meth:`ToolRuntime.run_catalog_tool`, so each stage applies the same way whichever way the call came in.
Failures a model can act on are tool results with ``isError: true`` and a message naming what to change,
never protocol errors.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from truenas_mcp.catalog import Catalog, Policy, ToolSpec
from truenas_mcp.client import TrueNASClient
from truenas_mcp.server import audit, previews, redact, validation
from truenas_mcp.server.authz import RolePolicy
from truenas_mcp.server.chain import ToolChain
from truenas_mcp.server.confirm import (
    TOKEN_ARGUMENT,
    ConfirmationError,
    Confirmations,
    derive_key,
    load_root_key,
)
from truenas_mcp.server.context import CallContext
from truenas_mcp.server.credentials import CredentialPool, Tier
from truenas_mcp.server.execute import Executor
from truenas_mcp.server.job_owners import JobOwnership, JobRecord, MemoryJobOwnership
from truenas_mcp.server.metrics import Metrics
from truenas_mcp.server.own_tools import OwnTools, tier_of
from truenas_mcp.server.profiles import Profiles
from truenas_mcp.server.results import ToolError, error_result, text_result
from truenas_mcp.server.settings import ServerSettings
from truenas_mcp.server.store import StoreJobOwnership, open_store

log = logging.getLogger("truenas_mcp.server.calls")

__all__ = ["CallContext", "ToolError", "ToolRuntime", "error_result", "text_result"]


class ToolRuntime:
    """Everything a call needs, shared by all profiles and connections.

    ``truenas`` is one client (single-credential mode) or a :class:`CredentialPool` of one client per
    role tier.
    """

    def __init__(
        self,
        catalog: Catalog,
        truenas: TrueNASClient | CredentialPool,
        settings: ServerSettings,
        *,
        authority: RolePolicy | None = None,
        metrics: Metrics | None = None,
        confirmations: Confirmations | None = None,
        audit_log: audit.AuditLog | None = None,
        job_owners: JobOwnership | None = None,
    ) -> None:
        self.catalog = catalog
        self.pool = truenas if isinstance(truenas, CredentialPool) else CredentialPool.single(truenas)
        self.settings = settings
        self.authority = authority or RolePolicy.from_settings(settings)
        self.chain = ToolChain(catalog, self.authority)
        # A per-process key unless the deployment shares one: tokens then die with the process, which is
        # the safe failure for a single replica.
        root = load_root_key(settings.confirm_secret_file)
        # What replicas must agree on (single-use confirmations, rate limits, job owners): see store.py.
        self.store = open_store(settings)
        self.confirmations = confirmations or Confirmations(
            derive_key(root, "confirm"), settings.confirm_ttl_seconds, store=self.store
        )
        self.request_state_key = derive_key(root, "request-state")
        self.audit_log = audit_log or audit.AuditLog(
            settings.audit_log, max_bytes=settings.audit_max_bytes, backups=settings.audit_backups
        )
        pool = self.pool
        self.metrics = metrics or Metrics(lambda: float(pool.reconnects))
        self.profiles = Profiles(catalog, job_wait_seconds=settings.job_wait_seconds)
        self.job_owners: JobOwnership = job_owners or (
            # Replicas share who started which job; one process keeps it in memory.
            StoreJobOwnership(self.store, JobRecord) if self.store.shared else MemoryJobOwnership()
        )
        self.executor = Executor(catalog, settings, self.job_owners)
        self.own_tools = OwnTools(
            catalog, settings, self.chain, self.pool, self.job_owners, self.executor, self.run_catalog_tool
        )
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
            # The audit log is the record of every call; with it on, this line is for debugging only.
            log.log(
                logging.DEBUG if self.audit_log is not None and self.audit_log.enabled else logging.INFO,
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
            return await self.own_tools.call(ctx, name, arguments)
        return await self.run_catalog_tool(ctx, name, arguments)

    # The catalog pipeline ---------------------------------------------------------------------
    async def run_catalog_tool(
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
        try:
            tool = self.chain.resolve(ctx.profile, ctx.principal, name)
        except ToolError as exc:
            if exc.outcome == "denied":
                audit.note(decision="denied", reason=str(exc))
            raise
        validated = validation.validate(tool, arguments, token)
        tier = tier_of(self.pool, self.authority, ctx)
        hide = not self.authority.sees_secrets(ctx.principal, self._secrets_policy(tool))
        refusal = redact.query_refusal(validated, tool.policy.secret_outputs) if hide else None
        if refusal is not None and tool.policy.filterable:
            audit.note(decision="denied", reason=refusal)
            raise ToolError(f"{name}: not allowed: {refusal}", "denied")
        answer = await self._authorize_and_confirm(ctx, tool, validated, token, tier)
        if answer is not None:
            return answer
        return await self.executor.run(ctx, tool, validated, tier, hide=hide)

    def _secrets_policy(self, tool: ToolSpec) -> Policy | None:
        """The policy whose roles decide whether a caller sees this tool's secrets.

        TrueNAS shows secrets to FULL_ADMIN and to holders of the namespace's write role
        (``{role_prefix}_WRITE``, ``main.py dump_result``), not to every role that may read: SHARING_ADMIN
        reads ``mail.config`` but gets its password masked. The recording does not name that role, but the
        namespace's ``update`` (or ``create``) method is granted by exactly it and the roles that include
        it. A namespace with neither shows its secrets to FULL_ADMIN only.
        """
        for verb in ("update", "create"):
            writer = self.catalog.by_method.get(f"{tool.policy.namespace}.{verb}")
            if writer is not None:
                return writer.policy
        return None

    async def _authorize_and_confirm(
        self, ctx: CallContext, tool: ToolSpec, arguments: dict[str, Any], token: str | None, tier: Tier
    ) -> dict[str, Any] | None:
        """``None`` when the call may run now, else the answer to give instead (a confirmation request,
        or the user's refusal); ``ToolError`` when it is not allowed."""
        decision = self.authority.authorize(ctx.principal, tool, arguments)
        if decision.outcome == "deny":
            audit.note(decision="denied", reason=decision.reason)
            raise ToolError(f"{tool.name}: not allowed: {decision.reason}", "denied")
        if decision.outcome != "confirm":
            if token is not None:
                raise ToolError(
                    f"{tool.name}: needs no confirmation; call it without `{TOKEN_ARGUMENT}`",
                    "invalid_arguments",
                )
            return None
        # The plain-words preview reads its target over the caller's own tier, so it shows only what the
        # caller may read; a redeemed token needs no preview.
        plain = None if token is not None else await previews.plain_words(tool, arguments, tier.client)
        try:
            confirmed = await self.confirmations.confirm(
                ctx.channel,
                ctx.principal,
                tool=tool.name,
                method=tool.method,
                safety=tool.policy.safety,
                arguments=arguments,
                token=token,
                plain=plain,
                secret_inputs=tool.policy.secret_inputs,
            )
        except ConfirmationError as exc:
            audit.note(decision="denied", reason=str(exc))
            raise ToolError(f"{tool.name}: {exc}", "confirmation_refused") from None
        if not confirmed.confirmed:
            assert confirmed.result is not None
            audit.note(decision="declined" if confirmed.how == "declined" else "pending_confirmation")
            return confirmed.result
        audit.note(decision="confirmed", reason=f"confirmed by {confirmed.how}")
        return None
