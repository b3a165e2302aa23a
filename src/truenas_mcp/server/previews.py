"""Plain-words previews of what a call will do, for confirmation questions and two-step previews.

The phrasings are data (``data/previews.toml``): a template per method where the generic wording would
hide what matters ("resets API key 1 of user truenas_admin; the old key stops working"), and one per verb
for the rest. A template may read the object the call acts on first (``lookup``), over the caller's own
TrueNAS connection, so the name of a key's owner appears without the caller having typed it. Every value
shown passes through :func:`truenas_mcp.server.redact.redact` first; conditions only test whether an
argument is set and never print it.
"""

from __future__ import annotations

import contextlib
import functools
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from truenas_mcp.catalog import ToolSpec
from truenas_mcp.client import TrueNASClient
from truenas_mcp.client.errors import TrueNASError
from truenas_mcp.server import redact

_IDENTIFIERS = ("id", "name", "app_name", "service", "dev", "username")


@dataclass(frozen=True, slots=True)
class Case:
    when: str
    text: str


@dataclass(frozen=True, slots=True)
class Phrasing:
    text: str
    lookup: str | None = None
    cases: tuple[Case, ...] = ()


@dataclass(frozen=True, slots=True)
class Phrasebook:
    methods: Mapping[str, Phrasing]
    verbs: Mapping[str, str]


def _phrasing(method: str, entry: Mapping[str, Any]) -> Phrasing:
    unknown = set(entry) - {"text", "lookup", "cases"}
    if unknown or not isinstance(entry.get("text"), str):
        raise ValueError(f"previews.toml: methods.{method!r} needs `text` (and only lookup, cases besides)")
    cases = tuple(Case(str(case["when"]), str(case["text"])) for case in entry.get("cases", ()))
    return Phrasing(entry["text"], entry.get("lookup"), cases)


@functools.cache
def phrasebook() -> Phrasebook:
    data = tomllib.loads(resources.files(__package__).joinpath("data", "previews.toml").read_text("utf-8"))
    methods = {method: _phrasing(method, entry) for method, entry in data.get("methods", {}).items()}
    return Phrasebook(methods, dict(data.get("verbs", {})))


def _at(value: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


class _Missing(KeyError):
    pass


def _render(template: str, values: Mapping[str, Any]) -> str:
    """``template`` with ``{path}`` fields filled from ``values``; ``_Missing`` when one is absent."""
    out = []
    for literal, field, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if field is None:
            continue
        value = _at(values, field)
        if value is None or isinstance(value, Mapping | list):
            raise _Missing(field)
        out.append(str(value).lower() if isinstance(value, bool) else str(value))
    return "".join(out)


def _generic(book: Phrasebook, tool: ToolSpec, shown: Mapping[str, Any]) -> str:
    namespace, _, verb = tool.method.rpartition(".")
    noun = namespace.replace(".", " ").replace("_", " ") or "system"
    what = next((str(shown[k]) for k in _IDENTIFIERS if isinstance(shown.get(k), str | int)), "")
    template = book.verbs.get(verb)
    if template is None:
        return f"{verb.replace('_', ' ')} on {noun}" + (f" {what}" if what else "")
    return " ".join(template.format(noun=noun, what=what).split())


async def plain_words(tool: ToolSpec, arguments: Mapping[str, Any], client: TrueNASClient | None) -> str:
    """What calling ``tool`` with ``arguments`` does, in a sentence (secrets masked)."""
    book = phrasebook()
    shown: dict[str, Any] = dict(redact.redact(dict(arguments)))
    phrasing = book.methods.get(tool.method)
    if phrasing is None:
        return _generic(book, tool, shown)
    if phrasing.lookup is not None and client is not None and "id" in arguments:
        # On failure the template falls back to the verb phrasing; the call itself reports what is wrong.
        with contextlib.suppress(TrueNASError):
            shown["target"] = redact.redact(await client.call(phrasing.lookup, arguments["id"]))
    template = next((c.text for c in phrasing.cases if _at(arguments, c.when)), phrasing.text)
    try:
        return _render(template, shown)
    except _Missing:
        return _generic(book, tool, shown)
