"""The simulator's queries and parameter errors against TrueNAS 25.04.2's own code.

The oracle is the middleware source itself (``reference.py``): its ``filter_list``, its pydantic
``QueryArgs`` with the middleware's error formatting (``accept_params``) for new-style query methods, and
its legacy ``@accepts`` attributes for the legacy ones. Random filters and options, from a fixed seed,
run over the rows every stateful query method of the simulator answers with; each case runs through the
simulator's own call path (parameter validation, then the method) and through the oracle, and the two
outcomes are compared: the same rows, or the same kind of error on the same attributes.
"""

from __future__ import annotations

import asyncio
import copy
import random
from collections.abc import Iterator
from typing import Any

import pytest

from truenas_mcp import ejson
from truenas_mcp.sim.errors import CallError, ValidationErrors
from truenas_mcp.sim.legacy_schema import is_legacy
from truenas_mcp.sim.recording import load_recording
from truenas_mcp.sim.services import HANDLERS
from truenas_mcp.sim.services.local import LocalSimulator
from truenas_mcp.sim.validate import validate_params
from truenas_mcp.sim.world_seed import demo_world

from . import reference

SEED = 2504
CASES_PER_METHOD = 100
LEGACY_CASES_PER_METHOD = 16
MAX_DIFFERING = 0.02

pytestmark = [
    pytest.mark.skipif(reference.archive_path() is None, reason="../shared/reference is absent"),
    # The source calls pydantic's deprecated ``.dict()``; that is its business, not a finding here.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

Outcome = tuple[str, Any, Any]  # kind, what is compared, the wording (compared only for the report)


@pytest.fixture(scope="module")
def ref(tmp_path_factory: pytest.TempPathFactory) -> reference.Reference:
    return reference.load(tmp_path_factory.mktemp("middleware"))


def _legacy_query_attrs(ref: reference.Reference) -> list[Any]:
    """The registered ``query-filters``/``query-options`` of ``plugins/datastore/read.py``."""
    s, v = ref.schema, ref.validators
    return [
        s.List("query-filters", items=[s.List("query-filter")], validators=[v.QueryFilters()]),
        s.Dict(
            "query-options",
            s.Bool("relationships", default=True),
            s.Str("extend", default=None, null=True),
            s.Str("extend_context", default=None, null=True),
            s.Str("prefix", default=None, null=True),
            s.Dict("extra", additional_attrs=True),
            s.List("order_by"),
            s.List("select"),
            s.Bool("count", default=False),
            s.Bool("get", default=False),
            s.Int("offset", default=0),
            s.Int("limit", default=0),
            s.Bool("force_sql_filters", default=False),
            validators=[v.QueryOptions()],
        ),
    ]


def _classify(exc: BaseException) -> Outcome:
    """The kind of error and, for validation, its attributes in order (the wording is left aside)."""
    if isinstance(exc, ValidationErrors):
        return ("validation", [e[0] for e in exc.errors], [e[1] for e in exc.errors])
    if type(exc).__name__ == "ValidationErrors":  # the source's own class
        errors = exc.errors  # type: ignore[attr-defined]
        return ("validation", [e.attribute for e in errors], [e.errmsg for e in errors])
    if isinstance(exc, CallError) or type(exc).__name__ == "CallError":
        return ("call", f"CallError {exc.errno}", exc.errmsg)  # type: ignore[attr-defined]
    return ("call", type(exc).__name__, str(exc) or repr(exc))


def oracle(
    ref: reference.Reference, method: str, legacy: bool, rows: list[Any], params: list[Any]
) -> Outcome:
    params = copy.deepcopy(params)
    try:
        if legacy:
            if len(params) > 2:  # schema/processor.py: too many arguments is a CallError there
                expected = f"Too many arguments (expected 2, found {len(params)})"
                return ("call", "CallError 22", expected)
            verrors = ref.validation_errors()
            attrs = _legacy_query_attrs(ref)
            cleaned = [
                ref.clean_and_validate_arg(verrors, attr, params[i] if i < len(params) else {} if i else [])
                for i, attr in enumerate(attrs)
            ]
            verrors.check()
            filters, options = cleaned
        else:
            filters, options = ref.accept_params(ref.query_args, params)
        select = None
        if method == "zfs.snapshot.query":  # plugins/zfs_/snapshot.py: select applied after, top-level keys
            select = options.pop("select", None)
        result = ref.filter_list(copy.deepcopy(rows), filters, options)
        if select:
            if isinstance(result, list):
                result = [{k: v for k, v in item.items() if k in select} for item in result]
            elif isinstance(result, dict):
                result = {k: v for k, v in result.items() if k in select}
    except Exception as exc:
        return _classify(exc)
    return ("ok", ejson.dumps(result, sort_keys=True), None)


def simulated(sim: LocalSimulator, method: str, params: list[Any]) -> Outcome:
    recording = load_recording()
    entry = recording.methods[method]
    params = copy.deepcopy(params)
    if entry["accepts"] and entry["accepts"][0].get("type") == "object" and len(params) == 2:
        # ``audit.query`` takes one object holding its ``query-filters`` and ``query-options``.
        params = [{"query-filters": params[0], "query-options": params[1]}]
    try:
        args = validate_params(entry["accepts"], recording.accepts(method), params)
        result = asyncio.run(HANDLERS[method](sim.context(method), args))
    except Exception as exc:
        return _classify(exc)
    return ("ok", ejson.dumps(result, sort_keys=True), None)


# -- random cases -------------------------------------------------------------------------------------

OPS = ["=", "!=", ">", ">=", "<", "<=", "~", "in", "nin", "rin", "rnin", "^", "!^", "$", "!$"]


def _paths(rows: list[dict[str, Any]]) -> list[str]:
    found: set[str] = set()
    for row in rows[:5]:
        for key, value in row.items():
            found.add(key)
            if isinstance(value, dict):
                found.update(f"{key}.{sub}" for sub in list(value)[:4])
            if isinstance(value, list) and value:
                found.add(f"{key}.0")
                if isinstance(value[0], dict):
                    found.update(f"{key}.*.{sub}" for sub in list(value[0])[:2])
    return sorted(found)


def _value(rng: random.Random, rows: list[dict[str, Any]], path: str) -> Any:
    from truenas_mcp.sim.filters import get_path

    choice = rng.random()
    if choice < 0.6 and rows:
        value = get_path(rng.choice(rows), path)
        if isinstance(value, str) and rng.random() < 0.3:
            return value[: rng.randint(0, len(value))]
        return value
    return rng.choice([0, 1, -5, 10**6, "", "a", "tank", None, True, False, [1, "a"], "2025-01-01T00:00:00"])


def _filter(rng: random.Random, rows: list[dict[str, Any]], paths: list[str], depth: int = 0) -> list[Any]:
    if depth < 2 and rng.random() < 0.12:
        return ["OR", [_filter(rng, rows, paths, depth + 1) for _ in range(rng.randint(1, 3))]]
    path = rng.choice([*paths, "nonexistent", "a.b.c"])
    op = rng.choice(OPS)
    if rng.random() < 0.15 and op != "~":
        op = "C" + op
    if rng.random() < 0.03:
        op = rng.choice(["C~", "bad", "=="])
    value = _value(rng, rows, path)
    if op.lstrip("C") in {"in", "nin"} and rng.random() < 0.7:
        value = [_value(rng, rows, path) for _ in range(rng.randint(0, 3))]
    if op.lstrip("C") == "~" and not isinstance(value, str):
        value = rng.choice(["^t", ".*", "[a-z]+", "x$"])
    return [path, op, value]


def _options(rng: random.Random, paths: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if rng.random() < 0.35:
        prefixes = ["", "-", "nulls_first:", "nulls_last:", "nulls_last:-"]
        options["order_by"] = [rng.choice(prefixes) + rng.choice(paths) for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.3:
        select: list[Any] = [rng.choice(paths) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.2:
            select.append([rng.choice(paths), "alias"])
        if rng.random() < 0.05:
            select.append(rng.choice([5, ["a"], ["a", 1]]))
        options["select"] = select
    if rng.random() < 0.1:
        options["count"] = True
    if rng.random() < 0.15:
        options["get"] = True
    if rng.random() < 0.25:
        options["offset"] = rng.choice([0, 1, 2, -1, -3])
    if rng.random() < 0.25:
        options["limit"] = rng.choice([0, 1, 2, 5, 10001, "2", "x"])
    if rng.random() < 0.04:
        options[rng.choice(["sort", "limitt"])] = 1
    if rng.random() < 0.04:
        options["count"] = rng.choice(["yes", 1])
    return options


def cases(rng: random.Random, rows: list[dict[str, Any]]) -> Iterator[list[Any]]:
    paths = _paths(rows) or ["id"]
    for _ in range(CASES_PER_METHOD):
        filters = [_filter(rng, rows, paths) for _ in range(rng.choice([0, 0, 1, 1, 2]))]
        options = _options(rng, paths)
        roll = rng.random()
        if roll < 0.03:
            yield [filters, options, "extra"]
        elif roll < 0.06:
            yield [{"not": "a list"}, options]
        elif roll < 0.09:
            yield [filters, ["not", "a dict"]]
        else:
            yield [filters, options]


QUERY_METHODS = sorted(m for m in HANDLERS if m.endswith(".query") and m in load_recording().methods)


def test_query_answers_and_errors_match_the_25_04_2_source(ref: reference.Reference) -> None:
    rng = random.Random(SEED)
    recording = load_recording()
    total = differing = worded_differently = 0
    examples: list[str] = []
    wording: list[str] = []
    for method in QUERY_METHODS:
        sim = LocalSimulator(demo_world())
        rows = asyncio.run(HANDLERS[method](sim.context(method), []))
        assert isinstance(rows, list), method
        legacy = is_legacy(recording.methods[method]["accepts"])
        for params in cases(rng, rows):
            total += 1
            mine, theirs = simulated(sim, method, params), oracle(ref, method, legacy, rows, params)
            if mine != theirs:
                worded_differently += 1
                if len(wording) < 6:
                    wording.append(f"{method}: simulator {mine[2]!r:.150} source {theirs[2]!r:.150}")
            if mine[:2] != theirs[:2]:
                differing += 1
                if len(examples) < 8:
                    examples.append(f"{method} {params!r}: simulator {mine!r:.200} source {theirs!r:.200}")
    rate = differing / total
    print(
        f"differential queries: {total} cases over {len(QUERY_METHODS)} methods; differing ignoring wording:"
        f" {differing} ({rate:.1%}); at all: {worded_differently} ({worded_differently / total:.1%})"
    )
    print("\n".join(examples + wording))
    assert total >= 500
    assert rate <= MAX_DIFFERING, "\n".join(examples)


# -- legacy @accepts parameters -----------------------------------------------------------------------


def _attribute(ref: reference.Reference, node: dict[str, Any]) -> Any:
    """The source's own attribute class for a recorded legacy schema node (``to_json_schema`` inverted)."""
    s = ref.schema
    registered = {a.name: a for a in _legacy_query_attrs(ref)}
    if node.get("_name_") in registered:  # the registered query attributes carry their validators
        return registered[node["_name_"]]
    kinds = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
    kind = next((k for k in kinds if k != "null"), None)
    kwargs: dict[str, Any] = {"required": bool(node.get("_required_")), "null": "null" in kinds}
    if "default" in node:
        kwargs["default"] = copy.deepcopy(node["default"])
    if "enum" in node:
        kwargs["enum"] = node["enum"]
    name = node.get("_name_") or ""
    if kind == "object":
        properties = node.get("properties") or {}
        order = node.get("_attrs_order_") or list(properties)
        members = [_attribute(ref, properties[k]) for k in order if k in properties]
        additional = node.get("additionalProperties", False) is not False
        update = str(name).endswith("_update")  # what Patch(..., ('attr', {'update': True})) makes
        return s.Dict(name, *members, additional_attrs=additional, update=update, **kwargs)
    if kind == "array":
        items = [_attribute(ref, i) for i in node.get("items") or [] if isinstance(i, dict)]
        return s.List(name, items=items, **kwargs)
    classes = {"string": s.Str, "integer": s.Int, "boolean": s.Bool, "number": s.Float}
    return classes.get(kind, s.Any)(name, **kwargs)


def _mutations(rng: random.Random, node: dict[str, Any]) -> Any:
    """A value for ``node``: usually fitting, sometimes of the wrong type, null, or with an extra key."""
    kinds = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
    kind = next((k for k in kinds if k != "null"), None)
    roll = rng.random()
    if roll < 0.08:
        return rng.choice([None, 7, "7", "x", True, [], {}])
    if node.get("enum"):
        return rng.choice([*node["enum"], "NOT-A-CHOICE"]) if roll < 0.5 else node["enum"][0]
    if kind == "object":
        properties = node.get("properties") or {}
        value = {k: _mutations(rng, v) for k, v in properties.items() if rng.random() < 0.5}
        if rng.random() < 0.1:
            value["unexpected"] = 1
        return value
    if kind == "array":
        items = [i for i in node.get("items") or [] if isinstance(i, dict)]
        return [_mutations(rng, items[0]) if items else 1 for _ in range(rng.randint(0, 2))]
    samples = {
        "string": ["name", 5, ""],
        "integer": [3, "12", "x"],
        "boolean": [True, "true"],
        "number": [1.5],
    }
    return rng.choice(samples.get(str(kind), [1]))


def _legacy_outcome_of_source(
    ref: reference.Reference, raw: list[dict[str, Any]], params: list[Any]
) -> Outcome:
    verrors = ref.validation_errors()
    try:
        if len(params) > len(raw):
            return ("call", "CallError 22", f"Too many arguments (expected {len(raw)}, found {len(params)})")
        from middlewared.schema.utils import NOT_PROVIDED

        cleaned = [
            ref.clean_and_validate_arg(
                verrors, _attribute(ref, node), copy.deepcopy(params[i]) if i < len(params) else NOT_PROVIDED
            )
            for i, node in enumerate(raw)
        ]
        verrors.check()
    except Exception as exc:
        return _classify(exc)
    return ("ok", ejson.dumps(cleaned, sort_keys=True), None)


def _legacy_outcome_of_simulator(raw: list[dict[str, Any]], params: list[Any]) -> Outcome:
    from truenas_mcp.sim.legacy_schema import clean_params

    try:
        cleaned = clean_params(raw, copy.deepcopy(params))
    except Exception as exc:
        return _classify(exc)
    return ("ok", ejson.dumps(cleaned, sort_keys=True), None)


def test_legacy_parameter_cleaning_matches_the_source_attribute_classes(ref: reference.Reference) -> None:
    rng = random.Random(SEED)
    methods = load_recording().methods
    legacy = sorted(n for n, e in methods.items() if e["accepts"] and is_legacy(e["accepts"]))
    total = differing = 0
    examples: list[str] = []
    for name in legacy:
        raw = methods[name]["accepts"]
        for _ in range(LEGACY_CASES_PER_METHOD):
            params = [_mutations(rng, node) for node in raw[: rng.randint(1, len(raw))]]
            total += 1
            mine, theirs = (
                _legacy_outcome_of_simulator(raw, params),
                _legacy_outcome_of_source(ref, raw, params),
            )
            if mine != theirs:
                differing += 1
                if len(examples) < 8:
                    examples.append(f"{name} {params!r:.300}: simulator {mine!r:.600} source {theirs!r:.600}")
    print(f"differential legacy parameters: {total} cases over {len(legacy)} methods, {differing} differ")
    assert total >= 1000
    print("\n".join(examples))
    assert differing / total <= MAX_DIFFERING, "\n".join(examples)
