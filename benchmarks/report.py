"""docs/benchmarks.md from benchmarks.json: targets first, then every measured table, then how and where.

Every sentence stating a result or a verdict is computed here from the results (``benchmarks.summary``);
the prose that does not depend on them describes the method.
"""

from __future__ import annotations

from typing import Any

from benchmarks import ops, stats, summary, window
from benchmarks.summary import Cell, Key, Spread, Target

CONTENDER_NAMES = {
    "bare": "bare WebSocket JSON-RPC",
    "direct": "TrueNASClient (direct)",
    "floor": "floor (uvicorn + starlette)",
    "ours-2025": "truenas-mcp, 2025-11-25 sessions",
    "ours-2026": "truenas-mcp, 2026-07-28 single exchange",
    "peer": "peer over MCP",
}
OTHER_TARGETS = {"default_tokens": 8_000, "generation_s": 30.0, "check_s": 30.0, "import_s": 1.0}


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _ok(passed: bool | None) -> str:
    return "–" if passed is None else "met" if passed else "**missed**"


def _range(value: Spread | None, fmt: Any = _ms) -> str:
    """min–median–max, or the one value of a single run."""
    if value is None:
        return "–"
    if value.runs == 1:
        return fmt(value.median)
    return f"{fmt(value.low)}–**{fmt(value.median)}**–{fmt(value.high)}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _runs(count: int) -> str:
    return "" if not count else f" ({count} run{'s' if count > 1 else ''})"


def _row_name(key: Key) -> str:
    op, clients, idle, memory = key
    text = f"{op} ×{clients}"
    if idle:
        text += f", {idle} idle session{'s' if idle > 1 else ''}"
    if memory:
        text += ", memory burst"
    return text


def _other_targets(results: dict[str, Any]) -> list[Target]:
    rows: list[Target] = []
    tokens = results.get("tokens", {}).get("profiles", {}).get("default", {}).get("tokens")
    limit = OTHER_TARGETS["default_tokens"]
    rows.append(
        Target("`tools/list` of the default profile", f"< {limit // 1000}k tokens",
               "–" if tokens is None else f"{tokens:,} tokens", None if tokens is None else tokens < limit)
    )  # fmt: skip
    gen = results.get("generator")
    if gen:
        g, i = gen["generation"], gen["import"]
        what = f"generation of {i['tools']} methods (median of {g['runs']})"
        rows.append(
            Target(what, "< 30 s", f"{g['median_s']:.1f} s", g["median_s"] < OTHER_TARGETS["generation_s"])
        )
        if "check" in gen:
            c = gen["check"]
            what = f"`truenas-mcp-gen check` (CPU {c['median_cpu_s']:.0f} s)"
            rows.append(
                Target(what, "< 30 s", f"{c['median_s']:.1f} s", c["median_s"] < OTHER_TARGETS["check_s"])
            )
        what = "import generated package + build every tool definition"
        got = f"{i['median_s'] * 1000:.0f} ms"
        rows.append(Target(what, "< 1 s", got, i["median_s"] < OTHER_TARGETS["import_s"]))
    return rows


def _table(rows: list[Target]) -> list[str]:
    lines = ["| target | goal | measured | |", "|---|---|---|---|"]
    lines += [f"| {t.what} | {t.goal} | {t.measured} | {_ok(t.met)} |" for t in rows]
    return [*lines, ""]


def _verdict(targets: list[Target], cells: dict[tuple[str, Key], Cell]) -> list[str]:
    """The summary sentences: counts and named rows, all from the numbers."""
    judged = [t for t in targets if t.met is not None]
    missed = [t.what for t in judged if not t.met]
    lines = [f"In this run {len(judged) - len(missed)} of {len(judged)} measured targets are met."]
    if missed:
        lines[0] += " Missed: " + "; ".join(missed) + "."
    for ours, era in summary.ERAS.items():
        one = summary.versus(cells, ours, "floor", ("info", 1, 0, False))
        if one is not None and one.p50 is not None:
            lines.append(
                f"In the {era} era a small read takes {1 / one.p50:.2f}× the floor's p50 at 1 client"
                + (f" and costs {1 / one.cpu:.2f}× its server CPU per call." if one.cpu else ".")
            )
    bound = summary.simulator_bound_rows(cells)
    if bound:
        names = sorted({f"{_row_name(c.key)} ({c.contender})" for c in bound})
        share = f"{window.SIMULATOR_BOUND_SHARE:.0%}"
        lines.append(
            f"The simulator used at least {share} of a core in these cells, so they are simulator-bound and "
            "compared on server CPU per call rather than calls/s: " + ", ".join(names) + "."
        )
    else:
        lines.append(f"No cell was simulator-bound (below {window.SIMULATOR_BOUND_SHARE:.0%} of a core).")
    unsteady = summary.unsteady(cells)
    if unsteady:
        names = sorted(
            {f"{_row_name(c.key)} ({c.contender}, {c.unsteady} of {c.runs} runs)" for c in unsteady}
        )
        lines.append("These cells did not reach steady state within their bound: " + ", ".join(names) + ".")
    else:
        lines.append("Every cell reached steady state within its bound.")
    failed = sorted(f"{_row_name(c.key)} ({c.contender})" for c in cells.values() if c.failed or c.errors)
    if failed:
        lines.append("Cells with failed runs or call errors: " + ", ".join(failed) + ".")
    return [" ".join(lines), ""]


def _versus(cells: dict[tuple[str, Key], Cell]) -> list[str]:
    lines = [
        "Ratios of medians of this run; above 1× favours truenas-mcp. *Capacity* is calls/s, or server CPU "
        "per call (inverted) where the simulator was the bottleneck of the row.",
        "",
        "| row | era | vs | their p50 ÷ ours | capacity ours ÷ theirs | their CPU/call ÷ ours | |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    found = False
    for key in summary.comparable_rows(cells):
        for ours, era in summary.ERAS.items():
            for other in ("floor", "peer"):
                v = summary.versus(cells, ours, other, key)
                if v is None:
                    continue
                found = True
                note = "simulator-bound: CPU per call" if v.sim_bound else "calls/s"
                verdict = "at least" if v.at_least else "behind" if v.at_least is False else "–"
                lines.append(
                    f"| {_row_name(key)} | {era} | {other} | {_x(v.p50)} | {_x(v.capacity)} ({note}) | "
                    f"{_x(v.cpu)} | {verdict} |"
                )
    return [*lines, ""] if found else []


def _latency(cells: dict[tuple[str, Key], Cell]) -> list[str]:
    lines: list[str] = []
    keys = sorted({key for (_, key) in cells if not key[3]})
    for op_key, op in ops.OPERATIONS.items():
        rows = [k for k in keys if k[0] == op_key]
        if not rows:
            continue
        lines += [
            f"### {op.title}",
            "",
            "| row | contender | p50 ms | p99 ms | calls/s | server CPU ms/call | simulator CPU | "
            "p50 ÷ floor | p50 ÷ peer | runs |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for key in rows:
            floor, peer = cells.get(("floor", key)), cells.get(("peer", key))
            for contender, name in CONTENDER_NAMES.items():
                cell = cells.get((contender, key))
                if cell is None:
                    continue
                marks = []
                if cell.unsteady:
                    marks.append(f"{cell.unsteady} not steady")
                if cell.sim_bound:
                    marks.append("simulator-bound")
                if cell.errors:
                    marks.append(f"{cell.errors} errors")
                if cell.failed:
                    marks.append("failed: " + cell.failed[0])
                note = f" ({'; '.join(marks)})" if marks else ""
                p50 = summary.median(cell.p50)
                ratio = stats.ratio(p50, summary.median(floor.p50 if floor else None))
                to_peer = stats.ratio(p50, summary.median(peer.p50 if peer else None))
                lines.append(
                    f"| {_row_name(key)} | {name}{note} | {_range(cell.p50)} | {_range(cell.p99)} | "
                    f"{_range(cell.rate, lambda v: f'{v:,.0f}')} | {_range(cell.cpu)} | "
                    f"{_pct(summary.median(cell.sim))} | {_x(ratio)} | {_x(to_peer)} | {cell.runs} |"
                )
        lines.append("")
    return lines


def _memory(results: dict[str, Any], cells: dict[tuple[str, Key], Cell]) -> list[str]:
    lines = [
        "| server | start to first `tools/list` (min–median–max) | to ready | idle RSS "
        "| peak RSS, memory burst | peak RSS under load |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    names = {"ours": ("ours-2025", "ours-2026"), "floor": ("floor",), "peer": ("peer",)}
    for who, contenders in names.items():
        mem = results.get("memory", {}).get(who)
        if mem is None:
            continue
        runs = results.get("startup", {}).get(who, [])
        first = summary.spread(r.get("first_tools_list_s") for r in runs)
        ready = summary.spread(r.get("ready_s") for r in runs)
        bursts = [c for (name, k), c in cells.items() if name in contenders and k[3] and c.rss_peak_mb]
        burst = " / ".join(f"{c.rss_peak_mb:.0f} MB ({c.key[1]} answers, {c.contender})" for c in bursts)
        idle, peak = mem.get("idle_mb"), mem.get("load_peak_mb")
        label = {"ours": "truenas-mcp", "floor": CONTENDER_NAMES["floor"], "peer": CONTENDER_NAMES["peer"]}[
            who
        ]
        lines.append(
            f"| {label} | {_range(first, lambda v: f'{v:.2f} s')}{_runs(len(runs))} | "
            f"{_range(ready, lambda v: f'{v:.2f} s')} | {'–' if idle is None else f'{idle:.0f} MB'} | "
            f"{burst or '–'} | {'–' if peak is None else f'{peak:.0f} MB'} |"
        )
    return [*lines, ""]


def _method(results: dict[str, Any]) -> list[str]:
    method = results.get("method", {})
    timing = method.get("timing", {})
    rounds = method.get("rounds", "?")
    rule = window.SteadyRule(seconds=timing.get("seconds", 0), min_samples=timing.get("min_samples", 0))
    bound = f"{window.SIMULATOR_BOUND_SHARE:.0%}"
    return [
        "## How it was measured",
        "",
        "* One command, `nox -s bench`: the simulator (`truenas-mcp sim`), our server (`truenas-mcp serve`), "
        "the floor (`benchmarks/floor.py`), the peer and every load worker are separate processes on one "
        f"machine ({results.get('machine', {}).get('cpus', '?')} CPUs, shared), all traffic on 127.0.0.1. "
        "Ratios between contenders of one run are the meaningful part.",
        f"* {rounds} rounds: each round runs every row for every contender in turn, then the next round "
        "starts, so drift in the machine's load hits all alike; tables give min–**median**–max over the "
        "rounds, ratios are of medians.",
        "* Each cell is a fresh load-worker process. Warm-up, not measured: at least "
        f"{timing.get('warmup_seconds', '?')} s and one completed call per client. The window then runs "
        f"until it is steady — at least {rule.seconds} s, {rule.min_samples} calls, {rule.calls_per_client} "
        f"calls per client and {rule.medians:g} median call times — or its bound "
        f"({timing.get('max_seconds', '?')} s; longer for 1,000-row rows) runs out, which the tables mark "
        "as *not steady*.",
        "* Server CPU per call: utime + stime of the server process (`/proc/PID/stat`) over the window, "
        "divided by the calls completed in it; the simulator's CPU over the same window gives its share of "
        f"a core. At {bound} or more the simulator is the bottleneck (*simulator-bound*) and the row "
        "compares CPU per call instead of calls/s.",
        "* Contenders: **bare** (one WebSocket, hand-written JSON-RPC) and **direct** (one shared "
        "`TrueNASClient`) make the TrueNAS call without MCP; **floor** is raw uvicorn + starlette answering "
        "`tools/call` through one shared `TrueNASClient` with a plain JSON body (no auth, validation or "
        "session); **ours** is our server in both protocol eras (2025-11-25 sessions, 2026-07-28 single "
        "exchange); **peer** is `truenas-ws-mcp`"
        + (
            f" (it answered `initialize` with {results['peer_protocol']})"
            if results.get("peer_protocol")
            else ""
        )
        + ". Every HTTP contender is loaded by the same lean client "
        "(`benchmarks/mcp_http.py`, one keep-alive connection per client); the floor with the 2026-07-28 "
        "form, like ours.",
        "* Our server runs with its defaults except: JWT bearer authentication as documented (HS256, one "
        "FULL_ADMIN token), the per-caller rate limit and session cap lifted (one token is one caller here), "
        "and the answer cap raised so the 1,000-row query returns 1,000 rows. The peer and the floor have no "
        "authentication.",
        "* Every answer is checked (`benchmarks/ops.py`: the `system.info` object, exactly 1,000 rows); a "
        "wrong first answer fails the cell, a wrong later one counts as an error. Job rows wait for the "
        "job to finish, except the peer's `start_app`, which returns once TrueNAS has accepted the job: "
        "job rows are not compared with the peer.",
        "* Idle sessions: N 2025-11-25 sessions are opened and left idle while one client makes small "
        "reads. Memory burst: every client makes one 1,000-row call at once; the server's resident set is "
        "sampled every 0.1 s meanwhile.",
        "* Tokens: `anthropic-tokenizer` (offline Claude BPE) over compact JSON; for answers, the text "
        "blocks of the tool result (what clients put in context).",
        "",
    ]


def _tokens(results: dict[str, Any]) -> list[str]:
    t = results.get("tokens")
    if not t:
        return []
    lines = [
        "| tool list | tools | tokens | bytes |",
        "|---|---:|---:|---:|",
    ]
    for name, row in t["profiles"].items():
        lines.append(f"| profile `{name}` | {row['tools']} | {row['tokens']:,} | {row['bytes']:,} |")
    full = t["catalogue"]
    lines.append(
        f"| full catalogue (every generated tool) | {full['tools']} | {full['tokens']:,} | "
        f"{full['bytes']:,} |"
    )
    if "peer_tools_list" in t:
        p = t["peer_tools_list"]
        lines.append(f"| peer (`truenas-ws-mcp`) | {p['tools']} | {p['tokens']:,} | {p['bytes']:,} |")
    lines += [
        "",
        "| answer | our tool | tokens | bytes (text) | bytes (whole result) | peer tokens "
        "| peer bytes (text) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for a in t["answers"]:
        o, p = a["ours"], a.get("peer")
        peer_cols = f"{p['tokens']:,} | {p['bytes']:,}" if p else "– | –"
        lines.append(
            f"| {a['title']} | `{a['tool']}` | {o['tokens']:,} | {o['bytes']:,} | {o['wire_bytes']:,} "
            f"| {peer_cols} |"
        )
    return [*lines, ""]


def _discovery(scores: dict[str, Any]) -> list[str]:
    lines = [
        "Plain-language requests written from the TrueNAS UI and documentation "
        "(`benchmarks/data/discovery_*.txt`), ranked by `search_tools`' index over every served tool.",
        "",
        "| requests | n | recall@5 | recall@1 | MRR |",
        "|---|---|---|---|---|",
    ]
    for key, label in (("tuning", "tuned on"), ("held_out", "held out"), ("all", "all")):
        row = scores[key]
        lines.append(
            f"| {label} | {row['requests']} | {row['recall_at_5']:.3f} | {row['recall_at_1']:.3f} | "
            f"{row['mrr']:.3f} |"
        )
    misses = scores["held_out"]["misses"]
    if misses:
        lines += ["", "Held-out requests outside the top 5:", ""]
        lines += [f"- {m['request']} (top: {', '.join(m['top'][:3])})" for m in misses]
    return [*lines, ""]


def markdown(results: dict[str, Any]) -> str:
    cells = summary.aggregate(results.get("cells", []))
    targets = summary.targets(results, cells)
    lines = [
        "# Benchmarks",
        "",
        f"Measured with `nox -s bench` ({results.get('started', '?')}, "
        f"{results.get('bench_seconds', '?')} s) on the machine below; every figure and verdict here is "
        "computed from `docs/benchmarks.json`.",
        "",
    ]
    if results.get("quick"):
        lines += ["**Quick run (`--quick`): a smoke test of the harness, not numbers to quote.**", ""]
    lines += ["## Targets", "", *_verdict(targets, cells), *_table(targets)]
    other = _other_targets(results)
    if other:
        lines += ["### Other targets", "", *_table(other)]
    comparison = _versus(cells)
    if comparison:
        lines += ["## Against the floor and the peer", "", *comparison]
    lines += ["## Latency, throughput and CPU", "", *_latency(cells)]
    if results.get("tokens"):
        lines += ["## Context cost", "", *_tokens(results)]
    if results.get("discovery"):
        lines += ["## Discovery", "", *_discovery(results["discovery"])]
    lines += ["## Start-up and memory", "", *_memory(results, cells)]
    lines += [*_method(results), "## Machine", ""]
    lines += [f"- {key}: {value}" for key, value in results.get("machine", {}).items()]
    lines += ["", "Raw numbers: `docs/benchmarks.json`. Profiling notes: `docs/profiling.md`.", ""]
    return "\n".join(lines)


README_START = "<!-- bench-headline: written by `python -m benchmarks.run` from docs/benchmarks.json -->"
README_END = "<!-- /bench-headline -->"


def _cell_ms(cells: dict[tuple[str, Key], Cell], who: str, key: Key, field_: str) -> float | None:
    cell = cells.get((who, key))
    return None if cell is None else summary.median(getattr(cell, field_))


def headline(results: dict[str, Any]) -> str:
    """The README's performance summary: the same numbers and verdicts as docs/benchmarks.md."""
    cells = summary.aggregate(results.get("cells", []))
    judged = [t for t in summary.targets(results, cells) if t.met is not None]
    missed = [t.what for t in judged if not t.met]
    one, sixteen = ("info", 1, 0, False), ("info", 16, 0, False)
    eras = list(summary.ERAS.items())

    def both(key: Key, field_: str, fmt: str) -> str:
        values = [(era, _cell_ms(cells, who, key, field_)) for who, era in eras]
        return " / ".join(f"{fmt.format(v)} ({era})" for era, v in values if v is not None) or "–"

    def other(who: str, key: Key, field_: str, fmt: str) -> str:
        value = _cell_ms(cells, who, key, field_)
        return "–" if value is None else fmt.format(value)

    quick = " (**quick run: a harness smoke test, not numbers to quote**)" if results.get("quick") else ""
    lines = [
        f"- Run of {results.get('started', '?')}{quick}: **{len(judged) - len(missed)} of {len(judged)} "
        "targets met** (table in docs/benchmarks.md).",
        f"- Small `system.info` read, 1 client, p50: {both(one, 'p50', '{:.2f} ms')}; the floor "
        f"{other('floor', one, 'p50', '{:.2f} ms')}, the peer {other('peer', one, 'p50', '{:.2f} ms')}.",
        f"- Same read, 16 clients: {both(sixteen, 'rate', '{:,.0f} calls/s')}; the floor "
        f"{other('floor', sixteen, 'rate', '{:,.0f}')}, "
        f"the peer {other('peer', sixteen, 'rate', '{:,.0f}')}.",
    ]
    query = [k for k in summary.comparable_rows(cells) if k[0] == "query"]
    if query:
        key = query[0]
        bound = any(c.sim_bound for (who, k), c in cells.items() if k == key)
        lines.append(
            f"- {ops.QUERY_ROWS:,}-row query, {key[1]} clients, server CPU per call: "
            f"{both(key, 'cpu', '{:.1f} ms')}; the floor {other('floor', key, 'cpu', '{:.1f} ms')}, the peer "
            f"{other('peer', key, 'cpu', '{:.1f} ms')}"
            + (" (the simulator is the bottleneck of this row)." if bound else ".")
        )
    burst = [c for (who, k), c in cells.items() if who in summary.ERAS and k[3] and c.rss_peak_mb]
    startup = summary.spread(s.get("first_tools_list_s") for s in results.get("startup", {}).get("ours", []))
    idle_mb = results.get("memory", {}).get("ours", {}).get("idle_mb")
    tail = []
    if burst:
        worst = max(burst, key=lambda c: c.rss_peak_mb or 0.0)
        tail.append(f"peak RSS {worst.rss_peak_mb:.0f} MB with {worst.key[1]} concurrent 1,000-row answers")
    if startup is not None:
        tail.append(f"first `tools/list` {startup.median:.2f} s after start")
    if idle_mb is not None:
        tail.append(f"{idle_mb:.0f} MB idle")
    if tail:
        lines.append("- Memory and start-up: " + ", ".join(tail) + ".")
    if missed:
        lines.append("- Missed: " + "; ".join(missed) + ".")
    return "\n".join(lines)


def with_headline(readme: str, results: dict[str, Any]) -> str:
    """``readme`` with its headline block replaced (unchanged text when it has no such block)."""
    if README_START not in readme or README_END not in readme:
        return readme
    head, rest = readme.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    return f"{head}{README_START}\n{headline(results)}\n{README_END}{tail}"
