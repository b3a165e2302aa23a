"""Context cost: what tool lists and typical answers cost a model, in tokens and bytes.

Counted with ``anthropic-tokenizer`` (an offline copy of Claude's BPE), on compact JSON: for ``tools/list``
the tool definitions as the server sent them, for answers the text blocks of the tool result (what an MCP
client puts in the model's context; the structured copy travels on the wire too, and ``wire_bytes`` counts
the whole result). Everything is fetched from the running servers over MCP, so it is what a client gets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from anthropic_tokenizer import count_tokens

from benchmarks.mcp_http import MCPSession

TOKENIZER = "anthropic-tokenizer"


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def cost(text: str) -> dict[str, int]:
    return {"tokens": int(count_tokens(text)), "bytes": len(text.encode())}


@dataclass(frozen=True)
class Answer:
    """One typical question, asked of our server one way and (when it has such a tool) of the peer."""

    key: str
    title: str
    tool: str
    arguments: dict[str, Any]
    peer_tool: str | None = None
    peer_arguments: dict[str, Any] | None = None


ANSWERS: tuple[Answer, ...] = (
    Answer("system_info", "system information", "system_info", {}, "system_info", {}),
    Answer("pools", "pools, server defaults", "pool_query", {}, "list_pools", {}),
    Answer("pools_select", "pools, select name/status/healthy", "pool_query",
           {"options": {"select": ["name", "status", "healthy"]}}),
    Answer("services", "services, server defaults", "service_query", {}, "list_services", {}),
    Answer("services_select", "services, select service/state/enable", "service_query",
           {"options": {"select": ["service", "state", "enable"]}}),
    Answer("apps", "apps, server defaults", "app_query", {}, "list_apps", {}),
    Answer("snapshots_all", "1,000 snapshots, no limit", "zfs_snapshot_query",
           {"options": {"limit": 1000}}, "list_snapshots", {}),
    Answer("snapshots_default", "snapshots, server defaults (limit 50)", "zfs_snapshot_query", {}),
    Answer("snapshots_select", "snapshots, default limit + select name/dataset", "zfs_snapshot_query",
           {"options": {"select": ["name", "dataset"]}}),
    Answer("describe_query", "describe_tool pool_dataset_query", "describe_tool",
           {"name": "pool_dataset_query"}),
    Answer("describe_largest", "describe_tool pool_dataset_create (largest answer)", "describe_tool",
           {"name": "pool_dataset_create"}),
)  # fmt: skip


def _answer_cost(result: dict[str, Any]) -> dict[str, int]:
    text = "".join(str(block.get("text", "")) for block in result.get("content", []))
    return {**cost(text), "wire_bytes": len(compact(result).encode())}


async def tool_lists(url: str, paths: dict[str, str], headers: dict[str, str]) -> dict[str, dict[str, int]]:
    """``tools/list`` cost of each profile: ``paths`` maps a profile name to its URL path."""
    out = {}
    for name, path in paths.items():
        async with MCPSession(url + path, headers=headers) as session:
            tools = await session.list_tools()
        out[name] = {"tools": len(tools), **cost(compact(tools))}
    return out


async def answers(ours_url: str, headers: dict[str, str], peer_url: str | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    async with MCPSession(ours_url, headers=headers) as ours:
        peer = MCPSession(peer_url) if peer_url else None
        if peer is not None:
            await peer.open()
        try:
            for answer in ANSWERS:
                row: dict[str, Any] = {"key": answer.key, "title": answer.title, "tool": answer.tool}
                row["ours"] = _answer_cost(await ours.call_tool(answer.tool, answer.arguments))
                if peer is not None and answer.peer_tool is not None:
                    result = await peer.call_tool(answer.peer_tool, answer.peer_arguments or {})
                    row["peer_tool"] = answer.peer_tool
                    row["peer"] = _answer_cost(result)
                rows.append(row)
        finally:
            if peer is not None:
                await peer.close()
    return rows


def catalogue() -> dict[str, Any]:
    """Every tool definition of the generated catalogue (all 771, offered or not), and the toolsets."""
    from truenas_mcp.catalog import load_catalog
    from truenas_mcp.server.profiles import Profiles

    catalog = load_catalog()
    definitions = [tool.definition() for tool in catalog.tools]
    profiles = Profiles(catalog, job_wait_seconds=30.0)
    return {
        "full": {"tools": len(definitions), **cost(compact(definitions))},
        "toolsets": sorted(profiles.groups),
    }


async def measure(ours_base: str, headers: dict[str, str], peer_url: str | None) -> dict[str, Any]:
    """Every profile's list (default, readonly, all, each toolset), the catalogue, the peer, the answers."""
    full = catalogue()
    paths = {"default": "/mcp", "readonly": "/mcp/readonly", "all": "/mcp/all"}
    paths |= {f"x:{group}": f"/mcp/x/{group}" for group in full["toolsets"]}
    lists = await tool_lists(ours_base, paths, headers)
    result: dict[str, Any] = {
        "tokenizer": TOKENIZER,
        "profiles": lists,
        "catalogue": full["full"],
        "answers": await answers(ours_base + "/mcp", headers, peer_url),
    }
    if peer_url is not None:
        result["peer_tools_list"] = (await tool_lists(peer_url, {"peer": ""}, {}))["peer"]
    return result
