"""Finding a tool by words: BM25 over each tool's name, title, description and parameter names.

The index is small (a few thousand distinct terms over 771 documents) and built once, in well under a
second, so it is hand-written rather than pulled in from a search library. Names and titles are weighted
above description text, because a model's request ("list snapshots") usually names the object and verb.
A light stemmer and a short synonym table map plain-language words onto TrueNAS vocabulary
("drive" → disk, "folder" → dataset, "remove" → delete).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from truenas_mcp.catalog import ToolSpec

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "the",
        "this",
        "to",
        "what",
        "which",
        "with",
        "you",
        "your",
        "all",
        "any",
        "show",
        "get",
    ]
)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "drive": ("disk",),
    "hdd": ("disk",),
    "ssd": ("disk",),
    "folder": ("dataset",),
    "filesystem": ("dataset",),
    "volume": ("dataset", "zvol"),
    "remove": ("delete",),
    "erase": ("delete", "wipe"),
    "destroy": ("delete",),
    "make": ("create",),
    "add": ("create",),
    "new": ("create",),
    "change": ("update",),
    "modify": ("update",),
    "edit": ("update",),
    "set": ("update",),
    "list": ("query",),
    "find": ("query",),
    "share": ("sharing",),
    "windows": ("smb",),
    "samba": ("smb",),
    "cifs": ("smb",),
    "container": ("app",),
    "docker": ("app",),
    "application": ("app",),
    "account": ("user",),
    "password": ("user",),
    "reboot": ("reboot", "restart"),
    "version": ("version", "info"),
    "health": ("alert", "status"),
    "warning": ("alert",),
    "temp": ("temperature",),
    "backup": ("replication", "cloudsync", "snapshot"),
    "virtual": ("vm", "virt"),
    "machine": ("vm",),
    "ip": ("interface", "network"),
}
_FIELD_WEIGHTS = {"name": 3.0, "title": 2.0, "params": 1.0, "description": 1.0}


def stem(word: str) -> str:
    """A deliberately small suffix stripper: plural and -ing forms onto the base TrueNAS term."""
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ches", "ch"), ("shes", "sh"), ("ing", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + repl
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    return [stem(word) for word in _WORD.findall(text.lower()) if word not in _STOP]


def query_terms(text: str) -> list[str]:
    words = [word for word in _WORD.findall(text.lower()) if word not in _STOP]
    out: list[str] = []
    for word in words:
        out.append(stem(word))
        out.extend(stem(s) for s in SYNONYMS.get(word, SYNONYMS.get(stem(word), ())))
    return out


@dataclass(frozen=True, slots=True)
class Hit:
    name: str
    score: float


def _param_names(schema: dict[str, Any]) -> list[str]:
    props = schema.get("properties")
    names = list(props) if isinstance(props, dict) else []
    for value in (props or {}).values():
        if isinstance(value, dict) and isinstance(value.get("properties"), dict):
            names.extend(value["properties"])
    return names


class SearchIndex:
    """Okapi BM25 (k1=1.2, b=0.75) with per-field weights folded into term frequencies."""

    def __init__(self, tools: Iterable[ToolSpec], k1: float = 1.2, b: float = 0.75) -> None:
        self._k1 = k1
        self._b = b
        self._docs: list[tuple[str, dict[str, float], float]] = []
        df: Counter[str] = Counter()
        for tool in tools:
            tf: dict[str, float] = {}
            fields = {
                "name": tool.name.replace("_", " ") + " " + tool.policy.namespace.replace(".", " "),
                "title": tool.title,
                "params": " ".join(_param_names(tool.input_schema)).replace("_", " "),
                "description": tool.description,
            }
            for field_name, text in fields.items():
                weight = _FIELD_WEIGHTS[field_name]
                for term in terms(text):
                    tf[term] = tf.get(term, 0.0) + weight
            length = sum(tf.values())
            self._docs.append((tool.name, tf, length))
            df.update(tf.keys())
        count = len(self._docs) or 1
        self._avg = sum(d[2] for d in self._docs) / count
        self._idf = {t: math.log(1 + (count - n + 0.5) / (n + 0.5)) for t, n in df.items()}

    def search(self, query: str, limit: int, allowed: Callable[[str], bool]) -> list[Hit]:
        """Best ``limit`` tools for ``query`` among those ``allowed``; ties broken by name (deterministic)."""
        q = query_terms(query)
        if not q:
            return []
        qtf = Counter(q)
        hits: list[Hit] = []
        for name, tf, length in self._docs:
            if not allowed(name):
                continue
            score = 0.0
            norm = self._k1 * (1 - self._b + self._b * length / self._avg)
            for term, qn in qtf.items():
                f = tf.get(term)
                if f:
                    score += qn * self._idf[term] * f * (self._k1 + 1) / (f + norm)
            if score > 0:
                hits.append(Hit(name, score))
        hits.sort(key=lambda h: (-h.score, h.name))
        return hits[:limit]


def summary(tool: ToolSpec, limit: int = 200) -> str:
    """The first paragraph of the description (the title when that is all there is), cut at ``limit``."""
    text = tool.description.strip()
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    first = next((p for p in paragraphs if p != tool.title), tool.title)
    first = " ".join(first.split())
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def hits_to_result(hits: Sequence[Hit], by_name: Any) -> list[dict[str, Any]]:
    out = []
    for hit in hits:
        tool: ToolSpec = by_name[hit.name]
        out.append(
            {
                "name": tool.name,
                "title": tool.title,
                "summary": summary(tool),
                "safety": tool.policy.safety,
                "job": tool.policy.job,
            }
        )
    return out
