"""What the server serves, counted from the decisions it makes itself (``truenas-mcp tools --summary``).

The counts come from :class:`~truenas_mcp.server.profiles.Profiles` (which tools each URL offers, and why
a tool is never offered) and from the filter chain the running server builds from the same settings,
seen by a FULL_ADMIN caller (a token with fewer roles sees fewer tools). Nothing here decides
availability; the README's numbers are checked against this.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from truenas_mcp.catalog import Catalog, ToolSpec
from truenas_mcp.server.access import LOCAL
from truenas_mcp.server.authz import RolePolicy
from truenas_mcp.server.chain import ToolChain
from truenas_mcp.server.profiles import Profiles
from truenas_mcp.server.settings import ServerSettings

# The profiles the README's table shows, in its order (``x:`` is the example toolset URL).
README_PROFILES = ("default", "readonly", "x:storage,sharing", "all")
# Why the default deny list holds what it holds (a deployment may change it).
DEFAULT_DENY_REASON = (
    "by default: the call would act on the server's own TrueNAS session or batch other calls"
)


@dataclass(frozen=True, slots=True)
class NotServed:
    tool: str
    method: str
    reason: str


@dataclass(frozen=True, slots=True)
class ProfileCount:
    name: str
    path: str
    catalog_tools: int  # generated tools in tools/list
    server_tools: int  # the server's own tools (discovery, jobs)

    @property
    def tools(self) -> int:
        return self.catalog_tools + self.server_tools


@dataclass(frozen=True, slots=True)
class Summary:
    truenas_version: str
    methods: int
    namespaces: int
    not_served: tuple[NotServed, ...]
    profiles: tuple[ProfileCount, ...]

    @property
    def served(self) -> int:
        return self.methods - len(self.not_served)


def summarize(
    catalog: Catalog, settings: ServerSettings, profile_names: tuple[str, ...] = README_PROFILES
) -> Summary:
    """Counts per profile and every generated tool no URL serves, with the reason."""
    profiles = Profiles(catalog, job_wait_seconds=settings.job_wait_seconds)
    chain = ToolChain(catalog, RolePolicy.from_settings(settings))
    everything = profiles.all

    def visible(name: str) -> bool:
        return chain.offers(everything, LOCAL, catalog.by_name[name])

    not_served = [
        NotServed(t.name, t.method, t.policy.excluded) for t in catalog if t.policy.excluded is not None
    ]
    not_served += [
        NotServed(t.name, t.method, _hidden_by(t, settings))
        for t in catalog
        if t.policy.excluded is None and not visible(t.name)
    ]
    counts = []
    for name in profile_names:
        profile = profiles.named(name)
        listed = sum(1 for name in profile.listed if chain.offers(profile, LOCAL, catalog.by_name[name]))
        counts.append(ProfileCount(profile.name, profile.path, listed, len(profile.builtins)))
    return Summary(
        truenas_version=catalog.truenas_version,
        methods=len(catalog),
        namespaces=len({tool.policy.namespace for tool in catalog}),
        not_served=tuple(sorted(not_served, key=lambda n: n.method)),
        profiles=tuple(counts),
    )


def _hidden_by(tool: ToolSpec, settings: ServerSettings) -> str:
    """Which setting hides a tool the access policy does not show (words only: the policy decided)."""

    def first(globs: list[str]) -> str | None:
        return next((g for g in globs for n in (tool.name, tool.method) if fnmatch.fnmatchcase(n, g)), None)

    denied = first(settings.tool_deny)
    if denied is not None:
        default = denied in ServerSettings.model_fields["tool_deny"].get_default(call_default_factory=True)
        why = f" ({DEFAULT_DENY_REASON})" if default else ""
        return f"TRUENAS_MCP_TOOL_DENY matches {denied!r}{why}"
    if first(settings.tool_allow) is None:
        return "TRUENAS_MCP_TOOL_ALLOW does not match it"
    if settings.destructive == "disable" and tool.policy.safety == "destructive":
        return "destructive tools are disabled (TRUENAS_MCP_DESTRUCTIVE=disable)"
    return "the access policy hides it from FULL_ADMIN"


def render(summary: Summary, tokens: dict[str, int] | None = None) -> str:
    """The summary as text; ``tokens`` (profile name -> tokens of its tool list) adds a column."""
    lines = [
        f"TrueNAS {summary.truenas_version}: {summary.methods} methods in {summary.namespaces} namespaces, "
        f"one generated tool each; {summary.served} served, {len(summary.not_served)} not served",
        "",
        f"{'profile':<18} {'path':<24} tools  (generated + server)" + ("  tokens" if tokens else ""),
    ]
    for p in summary.profiles:
        row = f"{p.name:<18} {p.path:<24} {p.tools:>5}  ({p.catalog_tools} + {p.server_tools})"
        if tokens:
            row = f"{row:<70} {tokens[p.name]:>8}"
        lines.append(row)
    lines += ["", "not served:"]
    lines += [f"  {n.method} ({n.tool}): {n.reason}" for n in summary.not_served] or ["  none"]
    return "\n".join(lines)
