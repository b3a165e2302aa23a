"""Authorization: TrueNAS roles carried as token scopes, deployment allow/deny rules, confirmations.

A token's ``truenas:<ROLE>`` scopes are TrueNAS role names (``truenas:READONLY_ADMIN``,
``truenas:SHARING_ADMIN``, ``truenas:FULL_ADMIN``, or any finer role of the recording such as
``truenas:POOL_SCRUB_WRITE``). A tool is visible and callable when the caller holds FULL_ADMIN or one of the
roles the recording says grant CALL on its method; a method recorded with no roles needs FULL_ADMIN, as on
TrueNAS itself. The recorded ``roles`` are already the closure of every granting role, so no hierarchy is
computed here. Whether a caller may use a tool at all is answered by the filter chain
(:mod:`truenas_mcp.server.chain`) from the predicates here, so listing, search, describe and call agree;
:meth:`RolePolicy.authorize` then decides one call with its arguments.

On top of the roles, a deployment narrows further: tool globs to allow and deny (deny wins; ``core.bulk``
and ``auth.*`` are denied by default because they would let a caller run any method or mint TrueNAS
credentials), argument rules (deny ``pool.dataset.delete`` on ``tank/*``), and the destructive-tool mode
(confirm each call, allow, or disable entirely).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

from truenas_mcp.catalog import Catalog, Policy, ToolSpec
from truenas_mcp.server.access import ALLOW, Decision, Principal, deny, needs_confirmation
from truenas_mcp.server.settings import SCOPE_PREFIX as SCOPE_PREFIX
from truenas_mcp.server.settings import ArgumentRule, ServerSettings

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


def _matches(globs: Iterable[str], tool: ToolSpec) -> bool:
    names = (tool.name, tool.method)
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

    def offered(self, tool: ToolSpec) -> bool:
        return _matches(self.allow, tool) and not _matches(self.deny, tool)

    def refusal(self, tool: ToolSpec, arguments: Mapping[str, Any]) -> str | None:
        """Why an argument rule refuses this call, or ``None``."""
        for rule in self.argument_deny:
            if not _matches([rule.tool], tool):
                continue
            for value in _values_at(arguments, rule.argument.split(".")):
                text = _as_text(value)
                if any(fnmatch.fnmatchcase(text, glob) for glob in rule.values):
                    why = f": {rule.reason}" if rule.reason else ""
                    return f"this deployment refuses {tool.method} with {rule.argument}={text!r}{why}"
        return None


class RolePolicy:
    """The server's authorization data: roles from scopes, deployment rules, confirmation of calls.

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

    def roles(self, principal: Principal) -> frozenset[str]:
        """The TrueNAS roles the server acts on for ``principal``."""
        return roles_of(principal) if self.authenticated else frozenset({FULL_ADMIN})

    def deployment_refusal(self, tool: ToolSpec) -> str | None:
        """Why this deployment's settings never offer ``tool``, or ``None``."""
        if not self.rules.offered(tool):
            return "this deployment does not offer it"
        if self.destructive == "disable" and tool.policy.safety == "destructive":
            return "destructive tools are disabled on this deployment"
        return None

    def role_refusal(self, roles: frozenset[str], tool: ToolSpec) -> str | None:
        """Why a caller holding ``roles`` may not use ``tool`` by TrueNAS's recorded roles, or ``None``."""
        policy = tool.policy
        if grants(roles, policy):
            return None
        needed = ", ".join(SCOPE_PREFIX + r for r in (*policy.roles, FULL_ADMIN))
        held = ", ".join(sorted(SCOPE_PREFIX + r for r in roles)) or "none"
        return f"it needs one of the scopes {needed}; the token grants {held}"

    def authorize(self, principal: Principal, tool: ToolSpec, arguments: Mapping[str, Any]) -> Decision:
        """One call of a tool the chain offers: refused by an argument rule, confirmed first, or run."""
        refusal = self.rules.refusal(tool, arguments)
        if refusal is not None:
            return deny(refusal)
        policy = tool.policy
        if (
            (policy.confirm or policy.safety == "destructive")
            and self.destructive == "confirm"
            and not _matches(self.confirm_waive, tool)
        ):
            return needs_confirmation(f"{tool.method} is {policy.safety} and needs confirmation")
        return ALLOW

    def sees_secrets(self, principal: Principal, policy: Policy | None) -> bool:
        return sees_secrets(self.roles(principal), policy)

    def is_full_admin(self, principal: Principal) -> bool:
        return FULL_ADMIN in self.roles(principal)

    def may_abort_jobs(self, principal: Principal) -> bool:
        """Aborting a job is a write: read-only tokens may follow jobs but not abort them."""
        return any(is_write_role(role) for role in self.roles(principal))
