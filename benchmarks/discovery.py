"""Discovery quality: do plain-language requests find the right tool with ``search_tools``?

The requests were written from the TrueNAS web UI and documentation, not from tool names:
``data/discovery_requests.txt``, of which every third is held out and the rest is what the vocabulary was
tuned on, and ``data/discovery_fresh.txt``, written after tuning and held out whole. The test
(``tests/server/test_discovery.py``) keeps recall@5 of the held-out requests above a floor. Offline and
deterministic: the search index is the server's own, over the installed catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
REQUESTS = DATA / "discovery_requests.txt"
FRESH = DATA / "discovery_fresh.txt"
TOP = 5


@dataclass(frozen=True, slots=True)
class Request:
    text: str
    tools: frozenset[str]
    held_out: bool


def load(path: Path = REQUESTS, *, all_held_out: bool = False) -> list[Request]:
    """The requests of ``path`` (every third held out, or all); a malformed line is an error naming it."""
    out: list[Request] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        text, bar, tools = line.rpartition("|")
        names = frozenset(t.strip() for t in tools.split(",") if t.strip())
        if not bar or not text.strip() or not names:
            raise ValueError(f"{path}:{number}: expected 'request | tool[,tool...]', got {line!r}")
        out.append(Request(text.strip(), names, held_out=all_held_out or len(out) % 3 == 2))
    return out


@dataclass(frozen=True, slots=True)
class Score:
    requests: int
    recall_at_5: float
    recall_at_1: float
    mrr: float
    misses: tuple[tuple[str, tuple[str, ...]], ...]  # request, what came first instead

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "recall_at_5": round(self.recall_at_5, 3),
            "recall_at_1": round(self.recall_at_1, 3),
            "mrr": round(self.mrr, 3),
            "misses": [{"request": r, "top": list(top)} for r, top in self.misses],
        }


def score(search: Callable[[str, int], Sequence[str]], requests: Iterable[Request]) -> Score:
    """Recall@5, recall@1 and mean reciprocal rank (over the top 20) of ``search`` on ``requests``."""
    found = first = 0
    reciprocal = 0.0
    misses = []
    items = list(requests)
    for request in items:
        ranked = list(search(request.text, 20))
        rank = next((i for i, name in enumerate(ranked, 1) if name in request.tools), None)
        if rank is not None:
            reciprocal += 1 / rank
            first += rank == 1
        if rank is not None and rank <= TOP:
            found += 1
        else:
            misses.append((request.text, tuple(ranked[:TOP])))
    n = len(items) or 1
    return Score(len(items), found / n, first / n, reciprocal / n, tuple(misses))


def requests() -> list[Request]:
    return load() + load(FRESH, all_held_out=True)


def measure() -> dict[str, Any]:
    """Scores on the tuning part, the held-out part and all requests, with the server's own index."""
    from truenas_mcp.catalog import load_catalog
    from truenas_mcp.server.discovery import SearchIndex

    catalog = load_catalog()
    index = SearchIndex(tool for tool in catalog if tool.policy.excluded is None)

    def search(text: str, limit: int) -> list[str]:
        return [hit.name for hit in index.search(text, limit, lambda _: True)]

    every = requests()
    return {
        "tuning": score(search, [r for r in every if not r.held_out]).to_json(),
        "held_out": score(search, [r for r in every if r.held_out]).to_json(),
        "all": score(search, every).to_json(),
    }


if __name__ == "__main__":
    import json
    import sys

    result = measure()
    part = sys.argv[1] if len(sys.argv) > 1 else "tuning"
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "misses"} for k, v in result.items()}))
    for miss in result[part]["misses"]:
        print(f"- {miss['request']}: {', '.join(miss['top'])}")
