"""Authorization: TrueNAS roles carried as token scopes, deployment allow/deny rules, confirmations.

A token's ``truenas:<ROLE>`` scopes are TrueNAS role names (``truenas:READONLY_ADMIN``,
``truenas:SHARING_ADMIN``, ``truenas:FULL_ADMIN``, or any finer role of the recording such as
``truenas:POOL_SCRUB_WRITE``). A tool is visible and callable when the caller holds FULL_ADMIN or one of the
roles the recording says grant CALL on its method; a method recorded with no roles needs FULL_ADMIN, as on
TrueNAS itself. The recorded ``roles`` are already the closure of every granting role, so no hierarchy is
computed here. ``visible`` and ``authorize`` share one predicate, so what a caller sees in ``tools/list``,
in search and describe, and what it may call always agree.

On top of the roles, a deployment narrows further: tool globs to allow and deny (deny wins; ``core.bulk``
and ``auth.*`` are denied by default because they would let a caller run any method or mint TrueNAS
credentials), argument rules (deny ``pool.dataset.delete`` on ``tank/*``), and the destructive-tool mode
(confirm each call, allow, or disable entirely).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

from truenas_mcp.catalog import Catalog, Policy
from truenas_mcp.server.access import (
    ALLOW,
    Decision,
    Principal,
    ToolRef,
    deny,
    needs_confirmation,
)
from truenas_mcp.server.settings import ArgumentRule, ServerSettings

SCOPE_PREFIX = "truenas:"
FULL_ADMIN = "FULL_ADMIN"
READONLY_ADMIN = "READONLY_ADMIN"
# Roles that may see secrets in results: TrueNAS redacts ``Secret`` fields for sessions that are neither
# FULL_ADMIN nor hold a write role of the method (``main.py dump_result``).
_WRITE_SUFFIXES = ("_WRITE", "_ADMIN", "_DELETE", "_FULL_CONTROL", "_WRITE_PULL")


def is_write_role(role: str) -> bool:
    return role != READONLY_ADMIN and role.endswith(_WRITE_SUFFIXES)


def roles_of(principal: Principal) -> frozenset[str]:
    """The TrueNAS roles a principal's scopes name."""
    return frozenset(s[len(SCOPE_PREFIX) :] for s in principal.scopes if s.startswith(SCOPE_PREFIX))


def known_roles(catalog: Catalog) -> frozenset[str]:
    """Every role name of the recording, plus FULL_ADMIN (which grants everything and is never listed)."""
    return frozenset(role for tool in catalog for role in tool.policy.roles) | {FULL_ADMIN, READONLY_ADMIN}


def grants(roles: frozenset[str], policy: Policy) -> bool:
    """Whether ``roles`` may call a method with ``policy`` (empty recorded roles: FULL_ADMIN only).

    Stricter than TrueNAS in one way: a tool that is not ``read`` needs a granting role that is not a
    read role. TrueNAS lets READONLY_ADMIN call a few writing methods (``api_key.create``,
    ``system.debug``, support tickets); through an AI agent a read-only token never writes.
    """
    if FULL_ADMIN in roles:
        return True
    granting = roles.intersection(policy.roles)
    if policy.safety == "read":
        return bool(granting)
    return any(is_write_role(role) for role in granting)


def sees_secrets(roles: frozenset[str], policy: Policy | None) -> bool:
    """Whether results reach a caller with ``roles`` unredacted: TrueNAS's own rule (FULL_ADMIN, or a write
    role of the method); results of the server's own tools (job follow-up) only for FULL_ADMIN."""
    if FULL_ADMIN in roles:
        return True
    if policy is None:
        return False
    return any(role in policy.roles and is_write_role(role) for role in roles)


def _matches(globs: Iterable[str], tool: ToolRef) -> bool:
    names = [tool.name] + ([tool.method] if tool.method else [])
    return any(fnmatch.fnmatchcase(name, glob) for glob in globs for name in names)


def _values_at(arguments: Any, path: list[str]) -> list[Any]:
    """Every value at a dotted path (lists along the way are searched item by item)."""
    if isinstance(arguments, list):
        return [v for item in arguments for v in _values_at(item, path)]
    if not path:
        return [arguments]
    if isinstance(arguments, Mapping) and path[0] in arguments:
        return _values_at(arguments[path[0]], path[1:])
    return []


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ToolRules:
    """The deployment's allow/deny globs and argument rules."""

    def __init__(
        self,
        allow: Iterable[str] = ("*",),
        deny_tools: Iterable[str] = (),
        argument_deny: Iterable[ArgumentRule] = (),
    ) -> None:
        self.allow = tuple(allow)
        self.deny = tuple(deny_tools)
        self.argument_deny = tuple(argument_deny)

    def offered(self, tool: ToolRef) -> bool:
        return _matches(self.allow, tool) and not _matches(self.deny, tool)

    def refusal(self, tool: ToolRef, arguments: Mapping[str, Any]) -> str | None:
        """Why an argument rule refuses this call, or ``None``."""
        for rule in self.argument_deny:
            if not _matches([rule.tool], tool):
                continue
            for value in _values_at(arguments, rule.argument.split(".")):
                text = _as_text(value)
                if any(fnmatch.fnmatchcase(text, glob) for glob in rule.values):
                    why = f": {rule.reason}" if rule.reason else ""
                    target = tool.method or tool.name
                    return f"this deployment refuses {target} with {rule.argument}={text!r}{why}"
        return None


class RolePolicy:
    """The server's access policy: roles from scopes, deployment rules, confirmation of destructive calls.

    With ``authenticated=False`` (the loopback-only development mode) there are no scopes to check, and the
    anonymous caller gets FULL_ADMIN; rules and confirmations still apply.
    """

    def __init__(
        self,
        rules: ToolRules,
        *,
        authenticated: bool,
        destructive: str = "confirm",
        confirm_waive: Iterable[str] = (),
    ) -> None:
        self.rules = rules
        self.authenticated = authenticated
        self.destructive = destructive
        self.confirm_waive = tuple(confirm_waive)

    @classmethod
    def from_settings(cls, settings: ServerSettings) -> RolePolicy:
        return cls(
            ToolRules(settings.tool_allow, settings.tool_deny, settings.argument_deny),
            authenticated=settings.auth != "none",
            destructive=settings.destructive,
            confirm_waive=settings.confirm_waive,
        )

    def _roles(self, principal: Principal) -> frozenset[str]:
        return roles_of(principal) if self.authenticated else frozenset({FULL_ADMIN})

    def _hidden_because(self, principal: Principal, tool: ToolRef) -> str | None:
        policy = tool.policy
        if policy is None:
            return None  # the server's own tools: their targets are checked when they are used
        if not self.rules.offered(tool):
            return "this deployment does not offer it"
        if self.destructive == "disable" and policy.safety == "destructive":
            return "destructive tools are disabled on this deployment"
        roles = self._roles(principal)
        if policy.admin_only is not None and FULL_ADMIN not in roles:
            # Reviewed identity/credential rule: no other role, and no confirmation, stands in for it.
            return (
                f"it is for full administrators only ({policy.admin_only}); "
                f"it needs the scope {SCOPE_PREFIX}{FULL_ADMIN}"
            )
        if not grants(roles, policy):
            needed = ", ".join(SCOPE_PREFIX + r for r in (*policy.roles, FULL_ADMIN))
            held = ", ".join(sorted(SCOPE_PREFIX + r for r in roles)) or "none"
            return f"it needs one of the scopes {needed}; the token grants {held}"
        return None

    def visible(self, principal: Principal, tool: ToolRef) -> bool:
        return self._hidden_because(principal, tool) is None

    async def authorize(self, principal: Principal, tool: ToolRef, arguments: Mapping[str, Any]) -> Decision:
        hidden = self._hidden_because(principal, tool)
        if hidden is not None:
            return deny(hidden)
        refusal = self.rules.refusal(tool, arguments)
        if refusal is not None:
            return deny(refusal)
        policy = tool.policy
        if (
            policy is not None
            and (policy.confirm or policy.safety == "destructive")
            and self.destructive == "confirm"
            and not _matches(self.confirm_waive, tool)
        ):
            return needs_confirmation(f"{tool.method or tool.name} is {policy.safety} and needs confirmation")
        return ALLOW

    def sees_secrets(self, principal: Principal, tool: ToolRef) -> bool:
        return sees_secrets(self._roles(principal), tool.policy)

    def may_abort_jobs(self, principal: Principal) -> bool:
        """Aborting a job is a write: read-only tokens may follow jobs but not abort them."""
        roles = self._roles(principal)
        return any(is_write_role(role) for role in roles)
