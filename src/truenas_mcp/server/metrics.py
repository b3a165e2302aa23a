"""Prometheus metrics of one server instance (its own registry, so several can live in one process)."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Latency buckets from sub-millisecond (cached reads on a LAN box) to the job wait bound.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self, reconnects: Callable[[], float] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.calls = Counter(
            "truenas_mcp_tool_calls",
            "MCP tool calls by tool and outcome",
            ["tool", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "truenas_mcp_tool_call_seconds",
            "Time to answer an MCP tool call",
            ["tool"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "truenas_mcp_tool_calls_in_flight", "MCP tool calls being answered", registry=self.registry
        )
        self.reconnects = Gauge(
            "truenas_mcp_truenas_reconnects", "Reconnections to TrueNAS since start", registry=self.registry
        )
        if reconnects is not None:
            self.reconnects.set_function(reconnects)

    def observe(self, tool: str, outcome: str, seconds: float) -> None:
        self.calls.labels(tool, outcome).inc()
        self.latency.labels(tool).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def authorized(header: str | None, token_file: Path) -> bool:
    """Whether ``Authorization: Bearer <token>`` carries the token in ``token_file``.

    The file is read on each scrape (a few per minute), so a rotated token takes effect at once; an
    unreadable or empty file refuses every scrape rather than opening the endpoint.
    """
    try:
        expected = token_file.read_bytes().strip()
    except OSError:
        return False
    kind, _, given = (header or "").partition(" ")
    return (
        bool(expected) and kind.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected)
    )
