"""Resolve: the one filter chain that decides whether a caller may use a catalog tool on a profile.

Every way of meeting a tool asks this chain and nothing else: ``tools/list`` of every profile (``/mcp``,
``/mcp/readonly``, ``/mcp/all``, ``/mcp/x/...``), ``search_tools``, ``describe_tool``, ``call_tool`` and a
direct ``tools/call``. A tool the chain refuses is neither listed, found, described nor run.

The filters run in a fixed order, each a small function over policy data, and the first that refuses
gives the reason:

1. ``excluded``: the reviewed overrides never serve the method (``policy.excluded``);
2. ``profile``: the URL's profile (the read-only profile refuses every tool that is not ``read``; toolset
   profiles reach only their toolsets);
3. ``deployment``: the deployment's allow/deny globs and its destructive-tool mode;
4. ``roles``: the TrueNAS roles the token's scopes name, against the roles the recording grants;
5. ``identity``: tools that mint, reset, reveal or change credentials and privileges
   (``policy.admin_only``) are for FULL_ADMIN principals only, whatever the recorded roles say.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from truenas_mcp.catalog import Catalog, ToolSpec
from truenas_mcp.server import messages
from truenas_mcp.server.access import Principal
from truenas_mcp.server.authz import FULL_ADMIN, SCOPE_PREFIX, RolePolicy
from truenas_mcp.server.profiles import Profile
from truenas_mcp.server.results import ToolError


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the chain refuses a tool: ``outcome`` labels the metric and audit, ``message`` tells the model."""

    outcome: str
    message: str


@dataclass(frozen=True, slots=True)
class Asked:
    """One question to the chain: this tool, on this profile, for this caller (with their roles)."""

    tool: ToolSpec
    profile: Profile
    principal: Principal
    roles: frozenset[str]


Filter = Callable[[Asked, RolePolicy], Refusal | None]


def excluded(asked: Asked, authority: RolePolicy) -> Refusal | None:
    reason = asked.tool.policy.excluded
    if reason is None:
        return None
    return Refusal("excluded", f"{asked.tool.name} is not offered by this server: {reason}")


def profile(asked: Asked, authority: RolePolicy) -> Refusal | None:
    tool, prof = asked.tool, asked.profile
    if prof.read_only and tool.policy.safety != "read":
        return Refusal(
            "refused_readonly",
            f"{tool.name} is a {tool.policy.safety} tool and this endpoint ({prof.path}) is read-only; "
            "it was refused without being sent to TrueNAS",
        )
    if not prof.offers(tool.name):
        return Refusal(
            "not_offered",
            f"{tool.name} is not offered on {prof.path}; connect to /mcp (discovery) or /mcp/all to use it",
        )
    return None


def deployment(asked: Asked, authority: RolePolicy) -> Refusal | None:
    reason = authority.deployment_refusal(asked.tool)
    return None if reason is None else Refusal("denied", f"{asked.tool.name}: not allowed: {reason}")


def roles(asked: Asked, authority: RolePolicy) -> Refusal | None:
    reason = authority.role_refusal(asked.roles, asked.tool)
    return None if reason is None else Refusal("denied", f"{asked.tool.name}: not allowed: {reason}")


def identity(asked: Asked, authority: RolePolicy) -> Refusal | None:
    reason = asked.tool.policy.admin_only
    if reason is None or FULL_ADMIN in asked.roles:
        return None
    return Refusal(
        "denied",
        f"{asked.tool.name}: not allowed: this server lets only {SCOPE_PREFIX}{FULL_ADMIN} use it, whatever "
        f"other roles TrueNAS would accept ({reason}); a confirmation does not replace that role",
    )


FILTERS: tuple[Filter, ...] = (excluded, profile, deployment, roles, identity)


class ToolChain:
    """The filter chain over one catalog and one deployment's authorization data."""

    def __init__(self, catalog: Catalog, authority: RolePolicy) -> None:
        self.catalog = catalog
        self.authority = authority

    def refusal(self, prof: Profile, principal: Principal, tool: ToolSpec) -> Refusal | None:
        asked = Asked(tool, prof, principal, self.authority.roles(principal))
        for check in FILTERS:
            refused = check(asked, self.authority)
            if refused is not None:
                return refused
        return None

    def offers(self, prof: Profile, principal: Principal, tool: ToolSpec) -> bool:
        return self.refusal(prof, principal, tool) is None

    def resolve(self, prof: Profile, principal: Principal, name: str) -> ToolSpec:
        """The catalog tool ``name`` if the chain offers it to this caller here, else a ``ToolError``."""
        tool = self.catalog.by_name.get(name)
        if tool is None:
            raise ToolError(
                messages.unknown_tool(name, self.catalog.by_name, self.catalog.by_method), "unknown"
            )
        refused = self.refusal(prof, principal, tool)
        if refused is not None:
            raise ToolError(refused.message, refused.outcome)
        return tool
