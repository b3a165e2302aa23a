from __future__ import annotations

from typing import Any

from benchmarks import report


def _cell(contender: str, op: str, clients: int, p50: float, rate: float) -> dict[str, Any]:
    return {
        "contender": contender,
        "op": op,
        "clients": clients,
        "calls": 100,
        "errors": 0,
        "calls_per_s": rate,
        "latency_ms": {"p50": p50, "p95": p50 * 2, "p99": p50 * 3, "mean": p50},
        "server_rss_peak_mb": (250.0 if op == "query" else 120.0) if contender == "ours" else None,
    }


def _results() -> dict[str, Any]:
    cells = []
    for op in ("info", "query", "job"):
        for clients in (1, 32):
            cells += [
                _cell("bare", op, clients, 0.2, 5000),
                _cell("direct", op, clients, 0.25, 4800),
                _cell("ours", op, clients, 1.0 if clients == 1 else 40.0, 900 if clients == 1 else 450),
                _cell("peer", op, clients, 1.5, 600),
            ]
    return {
        "machine": {"python": "3.11", "cpus": 2},
        "cells": cells,
        "tokens": {
            "profiles": {"default": {"tools": 23, "tokens": 16_000, "bytes": 1}},
            "catalogue": {"tools": 771, "tokens": 5, "bytes": 5},
            "answers": [],
        },
        "startup": {"ours": [{"first_tools_list_s": 0.7, "ready_s": 0.8, "rss_mb": 80.0}]},
        "memory": {"ours": {"idle_mb": 80.0, "load_peak_mb": 250.0}},
    }


def test_headline_derives_added_latency_and_the_peer_ratios_from_the_cells() -> None:
    head = report.headline(_results())
    assert head["added_p50_ms"] == 0.75
    assert head["calls_per_s_32"] == 450
    first = head["versus_peer"][0]
    assert first["op"] == "info" and first["clients"] == 1
    assert first["p50_speedup"] == 1.5 and first["throughput_ratio"] == 1.5


def test_markdown_marks_each_target_met_or_missed() -> None:
    text = report.markdown(_results())
    lines = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| ")}
    assert lines["| added latency over the direct client, p50, `system.info`, 1 client"].endswith("| met |")
    assert "**missed**" in lines["| throughput at 32 MCP clients, `system.info`"]
    assert "**missed**" in lines["| `tools/list` of the default profile"]
    heavy = "| resident memory, peak under 1,000-row answers (up to 128 at once, cap raised to 16 MB)"
    assert "250 MB | **missed**" in lines[heavy]
    light = "| resident memory, peak under small reads and jobs (up to 128 clients)"
    assert "120 MB | met" in lines[light]
    assert (
        "2 of 4" in lines["| faster than the peer (p50 and calls/s) on every comparable row (reads, queries)"]
    )
    assert "### small read (`system.info`)" in text and "- cpus: 2" in text
