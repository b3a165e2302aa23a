"""From raw cells to what the report states: min–median–max per cell, ratios of medians, verdicts.

Everything here is computed from ``benchmarks.json`` alone (``--report-only`` re-renders from it), so a
sentence of the report can never say more than the numbers do. A cell is one (operation, clients, idle
sessions, memory row, contender) measured once per round; a row is that key without the contender.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from benchmarks import ops, stats, window

ERAS = {"ours-2025": "2025-11-25", "ours-2026": "2026-07-28"}
FLAT_SESSIONS = 1.10  # per-call CPU with 128 idle sessions within 10 % of that with 1 counts as flat

Key = tuple[str, int, int, bool]  # op, clients, idle sessions, memory row


@dataclass(frozen=True)
class Spread:
    low: float
    median: float
    high: float
    runs: int


def spread(values: Iterable[float | None]) -> Spread | None:
    present = [float(v) for v in values if v is not None]
    if not present:
        return None
    return Spread(min(present), statistics.median(present), max(present), len(present))


@dataclass
class Cell:
    contender: str
    key: Key
    runs: int = 0
    failed: list[str] = field(default_factory=list)
    errors: int = 0
    unsteady: int = 0  # runs whose window did not reach steady state within its bound
    p50: Spread | None = None
    p99: Spread | None = None
    rate: Spread | None = None  # calls/s
    cpu: Spread | None = None  # server CPU ms per call
    sim: Spread | None = None  # simulator CPU share of one core
    rss_peak_mb: float | None = None

    @property
    def sim_bound(self) -> bool:
        return self.sim is not None and window.simulator_bound(self.sim.median)


def key_of(cell: dict[str, Any]) -> Key:
    return (cell["op"], int(cell["clients"]), int(cell.get("idle_sessions") or 0), bool(cell.get("memory")))


def aggregate(raw: list[dict[str, Any]]) -> dict[tuple[str, Key], Cell]:
    """Every cell's runs folded into one ``Cell`` (failed runs listed, not averaged in)."""
    grouped: dict[tuple[str, Key], list[dict[str, Any]]] = {}
    for cell in raw:
        grouped.setdefault((cell["contender"], key_of(cell)), []).append(cell)
    out: dict[tuple[str, Key], Cell] = {}
    for (contender, key), runs in grouped.items():
        good = [r for r in runs if "failed" not in r]
        lat = [r.get("latency_ms") or {} for r in good]
        peaks = [r["server_rss_peak_mb"] for r in runs if r.get("server_rss_peak_mb") is not None]
        out[(contender, key)] = Cell(
            contender=contender,
            key=key,
            runs=len(good),
            failed=[r["failed"].strip().splitlines()[-1][:160] for r in runs if "failed" in r],
            errors=sum(int(r.get("errors") or 0) for r in good),
            unsteady=sum(1 for r in good if not r.get("steady", True)),
            p50=spread(x.get("p50") for x in lat),
            p99=spread(x.get("p99") for x in lat),
            rate=spread(r.get("calls_per_s") if r.get("calls") else None for r in good),
            cpu=spread(r.get("server_cpu_ms_per_call") for r in good),
            sim=spread(r.get("sim_cpu_share") for r in good),
            rss_peak_mb=max(peaks) if peaks else None,
        )
    return out


def median(spread_: Spread | None) -> float | None:
    return None if spread_ is None else spread_.median


@dataclass(frozen=True)
class Versus:
    """One of our eras against another contender on one row; ratios above 1 favour us."""

    ours: str
    other: str
    key: Key
    p50: float | None  # other p50 ÷ our p50
    rate: float | None  # our calls/s ÷ theirs
    cpu: float | None  # their server CPU per call ÷ ours
    sim_bound: bool  # the simulator set the pace in either cell: compare CPU per call, not calls/s

    @property
    def capacity(self) -> float | None:
        """What the row compares on: CPU per call when the simulator was the bottleneck, else calls/s."""
        return self.cpu if self.sim_bound else self.rate

    @property
    def at_least(self) -> bool | None:
        """At least as good on latency and on capacity (ties count)."""
        if self.p50 is None or self.capacity is None:
            return None
        return self.p50 >= 1 and self.capacity >= 1


def versus(cells: dict[tuple[str, Key], Cell], ours: str, other: str, key: Key) -> Versus | None:
    mine, theirs = cells.get((ours, key)), cells.get((other, key))
    if mine is None or theirs is None or not mine.runs or not theirs.runs:
        return None
    return Versus(
        ours=ours,
        other=other,
        key=key,
        p50=stats.ratio(median(theirs.p50), median(mine.p50)),
        rate=stats.ratio(median(mine.rate), median(theirs.rate)),
        cpu=stats.ratio(median(theirs.cpu), median(mine.cpu)),
        sim_bound=mine.sim_bound or theirs.sim_bound,
    )


def comparable_rows(cells: dict[tuple[str, Key], Cell]) -> list[Key]:
    """Rows every HTTP contender ran under the same load: not idle-session or memory rows, and not jobs
    (the peer's job tool returns when TrueNAS accepted the job, ours when it finished)."""
    keys = {key for (_, key) in cells}
    return sorted(k for k in keys if not k[2] and not k[3] and not ops.OPERATIONS[k[0]].job)


@dataclass(frozen=True)
class Target:
    what: str
    goal: str
    measured: str
    met: bool | None  # None: not measured in this run


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def targets(results: dict[str, Any], cells: dict[tuple[str, Key], Cell]) -> list[Target]:
    """The targets of the performance work, each with its measured ratio and a computed verdict."""
    rows: list[Target] = []
    for ours, era in ERAS.items():
        one = ("info", 1, 0, False)
        mine, floor = cells.get((ours, one)), cells.get(("floor", one))
        ratio = stats.ratio(median(mine.p50 if mine else None), median(floor.p50 if floor else None))
        rows.append(
            Target(f"small read p50 ÷ floor's, 1 client ({era})", "≤ 1.5×", _x(ratio), _at_most(ratio, 1.5))
        )
    for ours, era in ERAS.items():
        v = versus(cells, ours, "floor", ("info", 16, 0, False))
        label = f"small read calls/s ÷ floor's, 16 clients ({era})"
        if v is not None and v.sim_bound:
            label += " — simulator-bound, so floor's CPU per call ÷ ours"
        got = None if v is None else v.capacity
        rows.append(Target(label, "≥ 0.6×", _x(got), None if got is None else got >= 0.6))
    for ours, era in ERAS.items():
        eight = cells.get((ours, ("info", 8, 0, False)))
        ratio = None if eight is None else stats.ratio(median(eight.p99), median(eight.p50))
        rows.append(
            Target(f"small read p99 ÷ p50, 8 clients ({era})", "≤ 3×", _x(ratio), _at_most(ratio, 3.0))
        )
    for ours, era in ERAS.items():
        found = [v for k in comparable_rows(cells) if (v := versus(cells, ours, "peer", k)) is not None]
        wins = sum(1 for v in found if v.at_least)
        rows.append(
            Target(
                f"at least the peer on every row: p50, and calls/s (CPU per call if simulator-bound) ({era})",
                "every row",
                f"{wins} of {len(found)} rows" if found else "–",
                None if not found else wins == len(found),
            )
        )
    for ours, era in ERAS.items():
        query = [k for k in comparable_rows(cells) if k[0] == "query"]
        found = [v for k in query if (v := versus(cells, ours, "peer", k)) is not None and v.cpu is not None]
        worst = min((v.cpu for v in found if v.cpu is not None), default=None)
        ratio = None if worst is None else 1 / worst
        rows.append(
            Target(
                f"1,000-row query: server CPU per call ÷ peer's, worst of {len(found)} rows ({era})",
                "≤ 1×",
                _x(ratio),
                _at_most(ratio, 1.0),
            )
        )
    idle = sorted({k[2] for (c, k) in cells if c == "ours-2025" and k[2]})
    if len(idle) >= 2:
        few, many = (cells.get(("ours-2025", ("info", 1, n, False))) for n in (idle[0], idle[-1]))
        ratio = stats.ratio(median(many.cpu if many else None), median(few.cpu if few else None))
        rows.append(
            Target(
                f"server CPU per call with {idle[-1]} ÷ with {idle[0]} idle sessions (2025-11-25)",
                f"≤ {FLAT_SESSIONS:.2f}× (flat)",
                _x(ratio),
                _at_most(ratio, FLAT_SESSIONS),
            )
        )
    for ours, era in ERAS.items():
        burst = [c for (who, k), c in cells.items() if who == ours and k[3]]
        for cell in burst:
            rows.append(
                Target(
                    f"peak RSS, {cell.key[1]} concurrent 1,000-row answers ({era}, answer cap raised)",
                    "≤ 300 MB",
                    "–" if cell.rss_peak_mb is None else f"{cell.rss_peak_mb:.0f} MB",
                    _at_most(cell.rss_peak_mb, 300.0),
                )
            )
    startup = spread(s.get("first_tools_list_s") for s in results.get("startup", {}).get("ours", []))
    rows.append(
        Target(
            f"start to first `tools/list`, median of {startup.runs if startup else 0} fresh processes",
            "≤ 0.5 s",
            "–" if startup is None else f"{startup.median:.2f} s",
            _at_most(median(startup), 0.5),
        )
    )
    idle_mb = results.get("memory", {}).get("ours", {}).get("idle_mb")
    rows.append(
        Target(
            "idle RSS",
            "reported",
            "–" if idle_mb is None else f"{idle_mb:.0f} MB",
            None if idle_mb is None else True,
        )
    )
    return rows


def unsteady(cells: dict[tuple[str, Key], Cell]) -> list[Cell]:
    """Cells (memory rows aside: one burst by design) with a run that did not reach steady state."""
    return sorted(
        (c for c in cells.values() if c.unsteady and not c.key[3]), key=lambda c: (c.key, c.contender)
    )


def simulator_bound_rows(cells: dict[tuple[str, Key], Cell]) -> list[Cell]:
    return sorted((c for c in cells.values() if c.sim_bound), key=lambda c: (c.key, c.contender))
