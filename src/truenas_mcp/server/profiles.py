"""Profiles: which tools each MCP URL offers.

A profile is decided by the URL alone (2026-07-28 forbids tool lists that vary per connection), so every
client of ``/mcp/readonly`` sees the same list, in the same order, byte for byte. What a profile offers:

* ``listed``: catalog tools in ``tools/list`` (sorted by name), plus the server's own tools;
* ``reachable``: catalog tools that discovery (search, describe, ``call_tool``) can reach; a direct call
  by name works for these too, so ``/mcp`` can run any tool its discovery found.

A profile is the shape of a URL only. Whether a caller may use one of its tools (excluded methods, the
read-only rule, deployment rules, roles, identity methods) is decided by the filter chain
(:mod:`truenas_mcp.server.chain`), which every listing, search, describe and call goes through.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from truenas_mcp.catalog import Catalog, ToolSpec
from truenas_mcp.server.builtin import BuiltinTool, builtin_tools

# The curated core of ``/mcp``: the everyday questions and actions, chosen so that the whole list (with
# the discovery and job tools) stays well under 15k tokens. Query tools with very large schemas (datasets,
# NFS shares, jobs) are left to discovery. Order does not matter: listings are sorted.
CORE_TOOLS: tuple[str, ...] = (
    "system_info",
    "pool_query",
    "pool_scrub_run",
    "pool_dataset_details",
    "zfs_snapshot_query",
    "zfs_snapshot_create",
    "sharing_smb_query",
    "service_query",
    "service_start",
    "service_stop",
    "service_restart",
    "alert_list",
    "alert_dismiss",
    "app_query",
    "app_start",
    "app_stop",
    "disk_query",
    "disk_temperatures",
)
MAX_CORE_TOOLS = 30

PATH_DEFAULT = "/mcp"
PATH_READONLY = "/mcp/readonly"
PATH_ALL = "/mcp/all"
PATH_TOOLSETS = "/mcp/x/{toolsets}"
_MAX_TOOLSET_PROFILES = 64


class ProfileError(LookupError):
    """An unknown profile or toolset; the message lists what exists."""


@dataclass(frozen=True)
class Profile:
    name: str
    path: str
    read_only: bool
    discovery: bool
    listed: tuple[str, ...]
    reachable: frozenset[str]
    builtins: tuple[BuiltinTool, ...]

    def offers(self, name: str) -> bool:
        return name in self.reachable

    def builtin(self, name: str) -> BuiltinTool | None:
        for tool in self.builtins:
            if tool.name == name:
                return tool
        return None


class Profiles:
    """The profiles of one catalog; toolset profiles are built on first use and kept (bounded)."""

    def __init__(self, catalog: Catalog, *, job_wait_seconds: float) -> None:
        self.catalog = catalog
        self._wait = job_wait_seconds
        self._offered = tuple(catalog)
        self.groups: frozenset[str] = frozenset(g for tool in self._offered for g in tool.policy.toolsets)
        self.namespaces: frozenset[str] = frozenset(tool.policy.namespace for tool in self._offered)
        self._lock = threading.Lock()
        self._toolsets: collections.OrderedDict[tuple[str, ...], Profile] = collections.OrderedDict()
        offered_names = {tool.name for tool in self._offered}
        core = [name for name in CORE_TOOLS if name in offered_names]
        read = [tool.name for tool in self._offered if tool.policy.safety == "read"]
        self.default = self._make(
            "default", PATH_DEFAULT, core, offered_names, read_only=False, discovery=True
        )
        self.readonly = self._make(
            "readonly",
            PATH_READONLY,
            [name for name in core if self.catalog.by_name[name].policy.safety == "read"],
            read,
            read_only=True,
            discovery=True,
        )
        self.all = self._make("all", PATH_ALL, offered_names, offered_names, read_only=False, discovery=False)

    def _make(
        self,
        name: str,
        path: str,
        listed: Iterable[str],
        reachable: Iterable[str],
        *,
        read_only: bool,
        discovery: bool,
    ) -> Profile:
        listed_names = tuple(sorted(set(listed)))
        return Profile(
            name=name,
            path=path,
            read_only=read_only,
            discovery=discovery,
            listed=listed_names,
            reachable=frozenset(reachable) | frozenset(listed_names),
            builtins=builtin_tools(read_only=read_only, discovery=discovery, wait_seconds=self._wait),
        )

    def named(self, name: str) -> Profile:
        """A profile by CLI name: ``default``, ``readonly``, ``all`` or ``x:<toolset>,<toolset>``."""
        if name in ("default", "readonly", "all"):
            profile: Profile = getattr(self, name)
            return profile
        if name.startswith("x:"):
            return self.toolsets(name[2:])
        raise ProfileError(f"unknown profile {name!r}; use default, readonly, all or x:<toolset>[,<toolset>]")

    def toolsets(self, spec: str) -> Profile:
        """The profile of ``/mcp/x/<spec>``: comma-separated group names or TrueNAS namespaces."""
        wanted = tuple(sorted({part.strip() for part in spec.split(",") if part.strip()}))
        if not wanted:
            raise ProfileError("no toolset named; " + self._known())
        with self._lock:
            cached = self._toolsets.get(wanted)
            if cached is not None:
                self._toolsets.move_to_end(wanted)
                return cached
        unknown = [w for w in wanted if w not in self.groups and not self._is_namespace(w)]
        if unknown:
            raise ProfileError(f"unknown toolset(s) {', '.join(unknown)}; " + self._known())
        names = [tool.name for tool in self._offered if any(self._matches(tool, w) for w in wanted)]
        profile = self._make(
            "x:" + ",".join(wanted),
            PATH_TOOLSETS.format(toolsets=",".join(wanted)),
            names,
            names,
            read_only=False,
            discovery=False,
        )
        with self._lock:
            self._toolsets[wanted] = profile
            while len(self._toolsets) > _MAX_TOOLSET_PROFILES:
                self._toolsets.popitem(last=False)
        return profile

    def _is_namespace(self, name: str) -> bool:
        return any(ns == name or ns.startswith(name + ".") for ns in self.namespaces)

    @staticmethod
    def _matches(tool: ToolSpec, wanted: str) -> bool:
        ns = tool.policy.namespace
        return wanted in tool.policy.toolsets or ns == wanted or ns.startswith(wanted + ".")

    def _known(self) -> str:
        return f"groups: {', '.join(sorted(self.groups))}; or a TrueNAS namespace such as pool.dataset"
