"""Tool descriptions: upstream docstrings cleaned of reStructuredText noise, plus fixed explanatory notes."""

from __future__ import annotations

import re
import textwrap

QUERY_GRAMMAR = (
    "Query arguments: `filters` is a list of `[field, op, value]` conditions, all of which must match; "
    'use `["OR", [cond, cond, ...]]` for alternatives. Operators: `=` `!=` `>` `>=` `<` `<=` `~` (regex) '
    "`in` `nin` `rin` `rnin` (value in list / list contains value) `^` `!^` (starts with) `$` `!$` (ends "
    "with); prefix `C` for case-insensitive (e.g. `C=`). Fields use dots for nesting (`properties.used`). "
    "`options`: `select` (list of fields to return; use it to keep answers small), `order_by` (`field` or "
    "`-field`), `limit`, `offset`, `count` (return only the number of matches), `get` (return the first "
    "match as an object)."
)
JOB_NOTE = (
    "Runs as a TrueNAS job: the call reports progress and returns the job's result, or a job handle to "
    "follow with the job tools if it takes longer than the server's wait bound."
)
PIPE_NOTES = {
    "upload": "Takes a file upload (TrueNAS input pipe).",
    "download": "Produces a file download (TrueNAS output pipe).",
}

_ROLE_RE = re.compile(r":(?:ref|class|meth|func|attr):`([^`<]*?)(?:\s*<[^>]*>)?`")
_DIRECTIVE_RE = re.compile(r"^\.\.\s+(note|warning|important)::\s*", re.IGNORECASE | re.MULTILINE)
_DOUBLE_TICKS_RE = re.compile(r"``([^`]+)``")


def clean(text: str | None) -> str:
    """Turn an upstream docstring into plain Markdown-ish prose.

    Upstream text is RST written for the middleware's API docs: roles (``:ref:`x```), double back-ticks and
    directive markers mean nothing to a model and cost tokens, while the back-ticked names are worth keeping.
    """
    if not text:
        return ""
    text = textwrap.dedent(text).replace("\r\n", "\n")
    text = _ROLE_RE.sub(lambda m: f"`{m.group(1).strip()}`", text)
    text = _DOUBLE_TICKS_RE.sub(r"`\1`", text)
    text = _DIRECTIVE_RE.sub(lambda m: f"{m.group(1).capitalize()}: ", text)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def summary(text: str) -> str:
    """First sentence (or line) of a description, for catalogues."""
    first = text.strip().split("\n\n", 1)[0].replace("\n", " ")
    # A sentence ends at punctuation followed by a capitalised word or the end; "e.g." does not end one.
    match = re.match(r"(.+?[.!?])(?=\s+[A-Z`(\"]|\s*$)", first)
    return (match.group(1) if match else first).strip()


def join(*parts: str) -> str:
    return "\n\n".join(p.strip() for p in parts if p and p.strip())
