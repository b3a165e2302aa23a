"""How a catalog tool is presented to a model: the listed definition and the ``describe_tool`` answer.

The generated ``ToolSpec`` keeps the whole truth (full description, full output schema); what a client
lists is cut to what helps a model choose and call a tool, because every listed token is paid on every
conversation. Measured on the default profile, full output schemas were almost half of the list, and a
model does not read them to pick a tool, so a listing carries a compact output schema: the top-level
fields and their types, nothing below. It is a loosening of the full schema (keywords are only removed,
never added), so every answer that conforms to the full schema conforms to the listed one, as MCP requires
of ``structuredContent``. The full schema is one ``describe_tool`` call away.

Descriptions are cut to :data:`DESCRIPTION_LIMIT` characters (OpenAI refuses longer function
descriptions), name other tools by tool name rather than TrueNAS method, and say when a tool asks for
confirmation and which argument carries the token.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from truenas_mcp.catalog import Policy, ToolSpec
from truenas_mcp.server.confirm import TOKEN_ARGUMENT

DESCRIPTION_LIMIT = 1024
# Levels of ``properties`` an output schema keeps in a listing: the top level (``result``, ``page``, ``job``)
# with types; what a row holds is in the full schema.
LISTED_OUTPUT_DEPTH = 1
# Enums up to this many values stay in a compact schema (cheap, and they say what a field can be).
_SMALL_ENUM = 8
_DESCRIBE = "describe_tool"
_CUT_NOTE = " … (cut; `describe_tool` on /mcp gives the full text)"

# A TrueNAS method name as descriptions write it: dotted lower-case words, e.g. ``pool.dataset.create``.
_METHOD = re.compile(r"(?<![\w.])[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+(?![\w])")

CONFIRMATION_PROPERTY: dict[str, Any] = {
    "type": "string",
    "description": (
        "Only when repeating this call after a preview: the token the preview returned (5 minutes, once, "
        "same arguments)."
    ),
}


def may_confirm(policy: Policy) -> bool:
    """Whether the access policy may ask for confirmation before running a tool with this policy.

    The same fields the role policy reads: destructive tools always ask, write tools when their reviewed
    policy says ``confirm``. A deployment can waive confirmation, which never makes a declared optional
    token wrong.
    """
    return policy.confirm or policy.safety == "destructive"


def confirmation_note(policy: Policy) -> str:
    """The sentence a tool that asks adds to its description: that it asks, why, and how to answer."""
    why = (
        "it is destructive"
        if policy.safety == "destructive"
        else "its reviewed policy marks it as risky though reversible (it can disconnect clients, lock "
        "people out or rewrite permissions) or as revealing secrets"
    )
    return (
        f"Asks for confirmation before it runs, because {why}: approve the prompt, or repeat the call with "
        f"the `{TOKEN_ARGUMENT}` its preview returns."
    )


def name_tools(text: str, by_method: Mapping[str, ToolSpec]) -> str:
    """``text`` with every TrueNAS method it names replaced by that method's tool name."""

    def replace(match: re.Match[str]) -> str:
        tool = by_method.get(match.group(0))
        return tool.name if tool is not None else match.group(0)

    return _METHOD.sub(replace, text)


def cap(text: str, limit: int = DESCRIPTION_LIMIT, note: str = _CUT_NOTE) -> str:
    """``text`` within ``limit`` characters: whole paragraphs (or lines, or words) and a note saying where
    the rest is, so that a cut is visible to the model rather than silent."""
    if len(text) <= limit:
        return text
    room = limit - len(note)
    head = text[:room]
    for sep in ("\n\n", "\n", " "):
        at = head.rfind(sep)
        if at >= room // 2:
            head = head[:at]
            break
    return head.rstrip() + note


def compact(schema: Any, depth: int) -> Any:
    """A loosening of ``schema`` that keeps ``depth`` levels of object properties and types below.

    Built by copying only keywords whose removal can never reject a value the original accepted: a node
    cut at the depth limit keeps its ``type`` and nothing else, ``oneOf`` becomes ``anyOf`` (compacted
    branches may overlap), ``additionalProperties: false`` stays only where every property is kept, and
    ``not``, ``if``, ``$ref`` and other keywords are dropped (dropping a constraint loosens; a ``$ref``
    becomes "anything").
    """
    if not isinstance(schema, dict):
        return {} if schema is not False else False
    out: dict[str, Any] = {}
    if "type" in schema:
        out["type"] = schema["type"]
    if "const" in schema:
        out["const"] = schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and len(enum) <= _SMALL_ENUM:
        out["enum"] = enum
    branches = schema.get("anyOf", schema.get("oneOf"))
    if isinstance(branches, list):
        kept: list[Any] = []
        for branch in (compact(b, depth) for b in branches):
            if branch not in kept:  # branches that became alike say the same thing once
                kept.append(branch)
        out["anyOf"] = kept
    if depth <= 0:
        return out
    props = schema.get("properties")
    if isinstance(props, dict):
        out["properties"] = {key: compact(value, depth - 1) for key, value in props.items()}
        if isinstance(schema.get("required"), list):
            out["required"] = schema["required"]
        extra = schema.get("additionalProperties")
        if extra is False or isinstance(extra, dict):
            out["additionalProperties"] = False if extra is False else compact(extra, depth - 1)
    if isinstance(schema.get("items"), dict):
        out["items"] = compact(schema["items"], depth - 1)
    return out


def input_schema(tool: ToolSpec) -> dict[str, Any]:
    """The served input schema: the generated one, plus the optional confirmation token where it applies."""
    schema = tool.input_schema
    props = schema.get("properties")
    if not may_confirm(tool.policy) or not isinstance(props, dict) or TOKEN_ARGUMENT in props:
        return schema
    return {**schema, "properties": {**props, TOKEN_ARGUMENT: CONFIRMATION_PROPERTY}}


# Nested fields (an option inside ``options``) keep the first sentence of their description in a
# listing; the whole text is in ``describe_tool``. Measured on the default profile, the query options'
# upstream texts alone were ~1,200 tokens, repeated on every query tool.
NESTED_NOTE_CHARS = 160
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*])|\n\s*\n")


def first_sentence(text: str, limit: int = NESTED_NOTE_CHARS) -> str:
    head = _SENTENCE_END.split(text.strip(), maxsplit=1)[0]
    head = " ".join(head.split())
    return head if len(head) <= limit else head[: limit - 1].rstrip() + "…"


def brief_nested(schema: Any, depth: int = 0) -> Any:
    """``schema`` with descriptions of properties nested below the top level cut to one sentence, and
    without an object ``default`` that each property's own ``default`` already says.

    Only annotations change: every keyword that validates stays as it is.
    """
    if isinstance(schema, list):
        return [brief_nested(item, depth) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    props = schema.get("properties")
    for key, value in schema.items():
        if (
            key == "default"
            and isinstance(value, dict)
            and isinstance(props, dict)
            and _said_below(value, props)
        ):
            continue  # an object's default that only repeats its properties' own defaults
        if key == "description" and isinstance(value, str) and depth >= 2:
            out[key] = first_sentence(value)
        elif key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {k: brief_nested(v, depth + 1) for k, v in value.items()}
        elif key in ("default", "examples", "const", "enum"):
            out[key] = value
        else:
            out[key] = brief_nested(value, depth)
    return out


def _said_below(default: Mapping[str, Any], props: Mapping[str, Any]) -> bool:
    return all(
        isinstance(props.get(key), dict) and props[key].get("default", _MISSING) == value
        for key, value in default.items()
    )


_MISSING = object()


def description(tool: ToolSpec, by_method: Mapping[str, ToolSpec]) -> str:
    """The full description as served (tool names, confirmation note), before any length limit."""
    text = name_tools(tool.description, by_method).rstrip()
    if may_confirm(tool.policy):
        text += "\n\n" + confirmation_note(tool.policy)
    return text


def listed(tool: ToolSpec, by_method: Mapping[str, ToolSpec]) -> dict[str, Any]:
    """The MCP ``Tool`` object that ``tools/list`` returns for ``tool``."""
    text = description(tool, by_method)
    if may_confirm(tool.policy) and len(text) > DESCRIPTION_LIMIT:
        # Keep the confirmation note whole: cut the text before it.
        note = "\n\n" + confirmation_note(tool.policy)
        text = cap(text[: -len(note)], DESCRIPTION_LIMIT - len(note)) + note
    else:
        text = cap(text)
    annotations = tool.annotations.to_mcp()
    return {
        "name": tool.name,
        "title": tool.title,
        "description": text,
        "inputSchema": brief_nested(input_schema(tool)),
        "outputSchema": compact(tool.output_schema, LISTED_OUTPUT_DEPTH),
        "annotations": {"title": tool.title, **annotations},
    }


def output_fields(schema: Mapping[str, Any]) -> dict[str, str]:
    """Field name → type of what one answer (or one row of a query answer) holds, for a short overview."""
    props = schema.get("properties")
    node: Any = props.get("result", schema) if isinstance(props, dict) else schema
    for branch in [node, *(node.get("anyOf") or node.get("oneOf") or [])] if isinstance(node, dict) else []:
        # A query's result is rows (or one row with options.get, or a count): list a row's fields.
        if (
            isinstance(branch, dict)
            and branch.get("type") == "array"
            and isinstance(branch.get("items"), dict)
        ):
            branch = branch["items"]
        fields = branch.get("properties") if isinstance(branch, dict) else None
        if isinstance(fields, dict) and fields:
            return {key: _type_name(value) for key, value in fields.items()}
    return {}


def _type_name(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "any"
    kind = schema.get("type")
    if isinstance(kind, list):
        return "|".join(str(k) for k in kind)
    if isinstance(kind, str):
        return kind
    branches = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(branches, list):
        return "|".join(dict.fromkeys(_type_name(b) for b in branches))
    return "any"


def _without_repeats(schema: Any, known: str, seen: set[str] | None = None) -> Any:
    """``schema`` with each long property description said once: dropped where the tool description
    already says it word for word, or where an earlier property carried the same text (the generated
    schemas repeat a method's docstring on several of its fields)."""
    seen = set() if seen is None else seen
    if isinstance(schema, list):
        return [_without_repeats(item, known, seen) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "description" and isinstance(value, str):
            words = " ".join(value.split())
            if len(words) > 40 and (words in known or words in seen):
                continue
            seen.add(words)
            out[key] = value
        elif key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {k: _without_repeats(v, known, seen) for k, v in value.items()}
        elif key in ("default", "examples", "const", "enum"):
            out[key] = value
        else:
            out[key] = _without_repeats(value, known, seen)
    return out


def _tidy(schema: Any) -> Any:
    """An equivalent, shorter ``schema``: no ``enum`` that repeats a ``const``, no OpenAPI
    ``discriminator`` (an annotation; the ``oneOf`` branches' ``const`` already decide)."""
    if isinstance(schema, list):
        return [_tidy(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "discriminator" or (key == "enum" and "const" in schema and value == [schema["const"]]):
            continue
        if key in ("default", "examples", "const", "enum"):
            out[key] = value
        elif key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {k: _tidy(v) for k, v in value.items()}
        else:
            out[key] = _tidy(value)
    return out


def _without_notes(schema: Any, keep_depth: int, depth: int = 0) -> Any:
    """``schema`` without descriptions and examples of properties nested deeper than ``keep_depth``."""
    if isinstance(schema, list):
        return [_without_notes(item, keep_depth, depth) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("description", "examples", "title") and depth > keep_depth:
            continue
        if key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {k: _without_notes(v, keep_depth, depth + 1) for k, v in value.items()}
        elif key in ("default", "const", "enum", "description", "examples", "title"):
            out[key] = value
        else:
            out[key] = _without_notes(value, keep_depth, depth)
    return out


# ``describe_tool`` stays under ~2,500 tokens for every tool (JSON runs 3.6-4 characters a token).
DESCRIBE_BUDGET_CHARS = 8_000


def describe(
    tool: ToolSpec,
    by_method: Mapping[str, ToolSpec],
    *,
    full: bool = False,
    size: Callable[[Any], int] = lambda value: len(json.dumps(value, separators=(",", ":"))),
) -> dict[str, Any]:
    """``describe_tool``'s answer: everything needed to call the tool, within a budget.

    The output is summarised as its fields and their types (a query tool's full output schema alone can
    be 15k tokens). Over the budget, descriptions of nested fields go (the schema itself stays exact),
    then those of top-level fields, and the answer says so. ``full=True`` is the complete definition:
    every description and the full output schema, whatever it costs.
    """
    text = description(tool, by_method)
    schema = input_schema(tool)
    answer: dict[str, Any] = {
        "name": tool.name,
        "title": tool.title,
        "description": text,
        "inputSchema": schema,
        "annotations": {"title": tool.title, **tool.annotations.to_mcp()},
        "policy": {
            "safety": tool.policy.safety,
            "asks_confirmation": may_confirm(tool.policy),
            "job": tool.policy.job,
            "roles": list(tool.policy.roles) or ["FULL_ADMIN"],
        },
    }
    if full:
        return {**answer, "outputSchema": tool.output_schema}
    answer["output"] = {
        "fields": output_fields(tool.output_schema),
        "full_schema": f"call {_DESCRIBE} with full=true",
    }
    answer["inputSchema"] = _tidy(_without_repeats(schema, " ".join(text.split())))
    for keep, note in ((1, "nested fields"), (0, "fields")):
        if size(answer) <= DESCRIBE_BUDGET_CHARS:
            break
        answer["inputSchema"] = _without_notes(answer["inputSchema"], keep)
        answer["elided"] = f"descriptions of {note}, to stay short; {_DESCRIBE} with full=true has them"
    if size(answer) > DESCRIBE_BUDGET_CHARS:
        answer["description"] = cap(text, note=f" … (cut; {_DESCRIBE} with full=true has the rest)")
    return answer
