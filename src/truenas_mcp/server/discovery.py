"""Finding a tool by words: BM25 over each tool's name, title, description and parameter names.

The index is small (a few thousand distinct terms over 771 documents) and built once, in well under a
second, so it is hand-written rather than pulled in from a search library. Names and titles (the reviewed
ones) are weighted above description text, because a request usually names the object and the verb.

How admins phrase things is data (``vocabulary.toml``): stop words, single-word synonyms and multi-word
UI terms onto TrueNAS vocabulary ("drive" → disk, "time zone" → timezone), and the verbs of requests
("add", "show", "remove") onto the verbs of tools (create, query, delete). A tool whose verb is the one
asked for ranks higher, and a show/list request favours read tools, so that "show the network
interfaces" finds ``interface_query`` before the actions that mention interfaces.
"""

from __future__ import annotations

import functools
import math
import re
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from truenas_mcp.catalog import ToolSpec
from truenas_mcp.server.presentation import name_tools

_WORD = re.compile(r"[a-z0-9]+")
_FIELD_WEIGHTS = {"name": 3.0, "title": 2.5, "params": 1.0, "description": 1.0}
VOCABULARY_FILE = "vocabulary.toml"
READ_ACTION = "query"


class VocabularyError(ValueError):
    """A vocabulary file that does not have the documented shape; the message names the table."""


def stem(word: str) -> str:
    """A deliberately small suffix stripper: plural and -ing forms onto the base TrueNAS term."""
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ches", "ch"), ("shes", "sh"), ("ing", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + repl
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class Vocabulary:
    stop: frozenset[str]
    actions: Mapping[tuple[str, ...], str]  # request word(s) -> action
    tool_verbs: Mapping[str, str]  # last word of a method -> action
    synonyms: Mapping[str, tuple[str, ...]]
    phrases: Mapping[tuple[str, ...], tuple[str, ...]]
    demote: Mapping[str, float]
    action_boost: float
    read_boost: float
    object_boost: float

    @classmethod
    def parse(cls, data: Mapping[str, Any], source: str) -> Vocabulary:
        def table(name: str) -> Mapping[str, Any]:
            value = data.get(name, {})
            if not isinstance(value, dict):
                raise VocabularyError(f"{source}: [{name}] must be a table")
            return value

        def words(name: str, key: str, value: Any) -> tuple[str, ...]:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise VocabularyError(f"{source}: [{name}] {key} must be a list of strings")
            return tuple(value)

        def inverted(name: str) -> dict[str, str]:
            out: dict[str, str] = {}
            for action, members in table(name).items():
                for member in words(name, action, members):
                    if member in out:
                        raise VocabularyError(
                            f"{source}: [{name}] {member!r} is in {out[member]} and {action}"
                        )
                    out[member] = action
            return out

        stop = data.get("stop", [])
        ranking = table("ranking")
        boosts = {key: ranking.get(key, 1.0) for key in ("action_boost", "read_boost", "object_boost")}
        for key, value in boosts.items():
            if not isinstance(value, int | float) or value < 1:
                raise VocabularyError(f"{source}: [ranking] {key} must be a number of at least 1")
        demote = dict(table("demote"))
        if not all(isinstance(v, int | float) and 0 < v <= 1 for v in demote.values()):
            raise VocabularyError(f"{source}: [demote] factors must be numbers in (0, 1]")
        return cls(
            stop=frozenset(words("stop", "stop", stop)),
            actions={tuple(k.split()): v for k, v in inverted("actions").items()},
            tool_verbs=inverted("tool_verbs"),
            synonyms={k: words("synonyms", k, v) for k, v in table("synonyms").items()},
            phrases={tuple(k.split()): words("phrases", k, v) for k, v in table("phrases").items()},
            demote={str(k): float(v) for k, v in demote.items()},
            action_boost=float(boosts["action_boost"]),
            read_boost=float(boosts["read_boost"]),
            object_boost=float(boosts["object_boost"]),
        )

    def tool_action(self, tool: ToolSpec) -> str | None:
        return self.tool_verbs.get(tool.method.rsplit(".", 1)[-1])

    def tool_object(self, tool: ToolSpec) -> str:
        """What a tool acts on: the last word of its namespace (``pool.dataset`` → dataset)."""
        return stem(tool.policy.namespace.rsplit(".", 1)[-1].replace("_", ""))

    def factor(self, tool: ToolSpec) -> float:
        return math.prod(f for suffix, f in self.demote.items() if tool.name.endswith(suffix))


@functools.cache
def vocabulary() -> Vocabulary:
    """The vocabulary shipped with the server."""
    text = resources.files(__package__ or "truenas_mcp.server").joinpath(VOCABULARY_FILE).read_text("utf-8")
    return Vocabulary.parse(tomllib.loads(text), VOCABULARY_FILE)


def terms(text: str, vocab: Vocabulary | None = None) -> list[str]:
    stop = (vocab or vocabulary()).stop
    return [stem(word) for word in _words(text) if word not in stop]


@dataclass(frozen=True, slots=True)
class Query:
    terms: tuple[str, ...]
    actions: frozenset[str]


def analyse(text: str, vocab: Vocabulary | None = None) -> Query:
    """The terms of a request (with synonyms and phrase expansions) and the actions its verbs ask for."""
    vocab = vocab or vocabulary()
    words = _words(text)
    out: list[str] = []
    for size in sorted({len(p) for p in vocab.phrases}, reverse=True):
        for i in range(len(words) - size + 1):
            out.extend(stem(t) for t in vocab.phrases.get(tuple(words[i : i + size]), ()))
    actions: set[str] = set()
    consumed: set[int] = set()  # words of a multi-word verb ("turn off") say what to do, not to what
    for size in sorted({len(a) for a in vocab.actions}, reverse=True):
        for i in range(len(words) - size + 1):
            action = vocab.actions.get(tuple(words[i : i + size]))
            if action is not None:
                actions.add(action)
                if size > 1:
                    consumed.update(range(i, i + size))
    for at, word in enumerate(words):
        if word in vocab.stop or at in consumed:
            continue
        base = stem(word)
        out.append(base)
        out.extend(stem(s) for s in vocab.synonyms.get(word, vocab.synonyms.get(base, ())))
    return Query(tuple(out), frozenset(actions))


def query_terms(text: str) -> list[str]:
    return list(analyse(text).terms)


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


@dataclass(frozen=True, slots=True)
class _Doc:
    name: str
    tf: dict[str, float]
    length: float
    action: str | None
    object: str
    read: bool
    factor: float


class SearchIndex:
    """Okapi BM25 (k1=1.2, b=0.75) with per-field weights folded into term frequencies, scaled by how
    well the tool's verb and safety fit what the request asks for."""

    def __init__(
        self,
        tools: Iterable[ToolSpec],
        k1: float = 1.2,
        b: float = 0.75,
        vocab: Vocabulary | None = None,
    ) -> None:
        self._k1 = k1
        self._b = b
        self._vocab = vocab or vocabulary()
        self._docs: list[_Doc] = []
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
                for term in terms(text, self._vocab):
                    tf[term] = tf.get(term, 0.0) + weight
            doc = _Doc(
                tool.name,
                tf,
                sum(tf.values()),
                self._vocab.tool_action(tool),
                self._vocab.tool_object(tool),
                tool.policy.safety == "read",
                self._vocab.factor(tool),
            )
            self._docs.append(doc)
            df.update(tf.keys())
        count = len(self._docs) or 1
        self._avg = sum(d.length for d in self._docs) / count
        self._idf = {t: math.log(1 + (count - n + 0.5) / (n + 0.5)) for t, n in df.items()}

    def search(self, query: str, limit: int, allowed: Callable[[str], bool]) -> list[Hit]:
        """Best ``limit`` tools for ``query`` among those ``allowed``; ties broken by name (deterministic)."""
        asked = analyse(query, self._vocab)
        if not asked.terms:
            return []
        qtf = Counter(asked.terms)
        reading = asked.actions <= {READ_ACTION} and bool(asked.actions)
        wanted = set(asked.terms)
        hits: list[Hit] = []
        for doc in self._docs:
            if not allowed(doc.name):
                continue
            score = 0.0
            norm = self._k1 * (1 - self._b + self._b * doc.length / self._avg)
            for term, qn in qtf.items():
                f = doc.tf.get(term)
                if f:
                    score += qn * self._idf[term] * f * (self._k1 + 1) / (f + norm)
            if score <= 0:
                continue
            if doc.action is not None and doc.action in asked.actions:
                score *= self._vocab.action_boost
            if doc.object in wanted:
                score *= self._vocab.object_boost
            if reading and doc.read:
                score *= self._vocab.read_boost
            hits.append(Hit(doc.name, score * doc.factor))
        hits.sort(key=lambda h: (-h.score, h.name))
        return hits[:limit]


def summary(tool: ToolSpec, limit: int = 200) -> str:
    """The first paragraph of the description (the title when that is all there is), cut at ``limit``."""
    text = tool.description.strip()
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    first = next((p for p in paragraphs if p != tool.title), tool.title)
    first = " ".join(first.split())
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def hits_to_result(
    hits: Sequence[Hit], by_name: Any, by_method: Mapping[str, ToolSpec] | None = None
) -> list[dict[str, Any]]:
    """Search hits as ``search_tools`` returns them; summaries name other tools by tool name."""
    out = []
    for hit in hits:
        tool: ToolSpec = by_name[hit.name]
        text = summary(tool)
        out.append(
            {
                "name": tool.name,
                "title": tool.title,
                "summary": text if by_method is None else name_tools(text, by_method),
                "safety": tool.policy.safety,
                "job": tool.policy.job,
            }
        )
    return out
