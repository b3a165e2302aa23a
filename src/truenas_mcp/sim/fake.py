"""Deterministic, schema-valid answers for methods the simulator has no stateful handler for.

``fake_result(method, returns_schema, params)`` generates a value that validates against the method's
normalized ``returns`` schema (JSON Schema 2020-12). The value depends only on the method name and the
canonical JSON of the parameters, through SHA-256 (never ``hash()``), so it is the same across runs, hosts
and hash seeds, and different arguments give different (but equally valid) answers.

Each schema is compiled once into a tree of small generator functions (cached by identity), so a call
costs one walk of the output, not of the schema. Property names steer the choice of plausible values
(``name``, ``path``, ``size``, ``port``...), so generated answers read like a real box rather than noise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from truenas_mcp import ejson

MAX_DEPTH: Final = 6
_ATTEMPTS: Final = 8
_FAKE_EPOCH: Final = dt.datetime(2025, 8, 14, 9, 30, tzinfo=dt.UTC)

Schema = dict[str, Any]


@dataclass
class _State:
    rng: random.Random
    depth: int = 0


Gen = Callable[[_State], Any]


def seed_for(method: str, params: list[Any]) -> int:
    """A 64-bit seed from the method name and the canonical JSON of ``params``."""
    canonical = json.dumps(ejson.to_ejson(params), sort_keys=True, separators=(",", ":"), default=repr)
    return int.from_bytes(hashlib.sha256(f"{method}\0{canonical}".encode()).digest()[:8], "big")


def fake_result(method: str, returns_schema: dict[str, Any], params: list[Any]) -> Any:
    """A deterministic value valid against ``returns_schema`` for a call of ``method`` with ``params``.

    Query methods answer a list, an object (``get``) or an int (``count``) depending on their options,
    as the middleware does; the schema allows all three, the options decide which one is plausible.
    """
    state = _State(random.Random(seed_for(method, params)))
    branch = _query_branch(returns_schema, params)
    return compile_schema(branch if branch is not None else returns_schema, root=returns_schema)(state)


def _query_branch(schema: Schema, params: list[Any]) -> Schema | None:
    members = schema.get("anyOf")
    if not isinstance(members, list):
        return None
    by_type = {m.get("type"): m for m in members if isinstance(m, dict) and isinstance(m.get("type"), str)}
    if not {"array", "integer", "object"} <= by_type.keys():
        return None
    options = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
    if options.get("count"):
        return by_type["integer"]
    return by_type["object"] if options.get("get") else by_type["array"]


_CACHE: dict[tuple[int, int], tuple[Schema, Schema, Gen]] = {}


def compile_schema(schema: Schema, root: Schema | None = None) -> Gen:
    """The generator of ``schema`` (a part of ``root``, whose ``$defs`` its references use).

    Compiled once per schema object; the cache keeps the schema objects alive with their generator, so an
    identity key can never be reused by another schema.
    """
    root = schema if root is None else root
    key = (id(schema), id(root))
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is schema and hit[1] is root:
        return hit[2]
    gen = _Compiler(root).compile(schema, None)
    _CACHE[key] = (schema, root, gen)
    return gen


def _merge(base: Schema, extra: Schema) -> Schema:
    """Schema ``base`` with the constraints of ``extra`` added (for allOf and for keywords beside anyOf)."""
    out = dict(base)
    for key, value in extra.items():
        if key == "properties" and isinstance(out.get("properties"), dict):
            out["properties"] = {**out["properties"], **value}
        elif key == "required" and isinstance(out.get("required"), list):
            out["required"] = sorted(set(out["required"]) | set(value))
        elif key not in out:
            out[key] = value
    return out


class _Compiler:
    def __init__(self, root: Schema) -> None:
        self.root = root
        self.defs: dict[str, Gen] = {}
        self._validators: dict[int, Any] = {}

    def resolve(self, ref: str) -> Schema:
        if not ref.startswith("#/"):
            raise ValueError(f"unsupported $ref {ref!r}: only local references are used by the recording")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def validates(self, schema: Schema, value: Any) -> bool:
        import jsonschema

        validator = self._validators.get(id(schema))
        if validator is None:
            # Sub-schemas may hold local references: resolve them against the root document.
            full = {**schema, "$defs": self.root.get("$defs", {})} if "$defs" in self.root else schema
            validator = jsonschema.Draft202012Validator(full)
            self._validators[id(schema)] = (schema, validator)
        else:
            validator = validator[1]
        return bool(validator.is_valid(value))

    def compile(self, schema: Any, name: str | None) -> Gen:
        if schema is True or schema == {} or schema is None:
            return self._any(name)
        if schema is False:
            raise ValueError("a schema of `false` accepts no value")
        if "$ref" in schema:
            return self._ref(schema, name)
        if "const" in schema:
            value = schema["const"]
            return lambda st: value
        if "enum" in schema:
            return self._enum(schema)
        if "allOf" in schema:
            merged: Schema = {k: v for k, v in schema.items() if k != "allOf"}
            for member in schema["allOf"]:
                member = self.resolve(member["$ref"]) if "$ref" in member else member
                merged = _merge(merged, member)
            return self.compile(merged, name)
        if "anyOf" in schema or "oneOf" in schema:
            return self._union(schema, name)
        if "not" in schema:
            return self._not(schema, name)
        return self._typed(schema, name)

    def _ref(self, schema: Schema, name: str | None) -> Gen:
        ref = schema["$ref"]
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        if siblings:
            return self.compile(_merge(self.resolve(ref), siblings), name)
        if ref not in self.defs:
            # Placeholder first: a recursive definition compiles to a call through this table.
            self.defs[ref] = lambda st: self.defs[ref](st)
            self.defs[ref] = self.compile(self.resolve(ref), name)
        return lambda st: self.defs[ref](st)

    def _enum(self, schema: Schema) -> Gen:
        choices = list(schema["enum"])
        if not choices:
            raise ValueError("an empty enum accepts no value")
        return lambda st: choices[st.rng.randrange(len(choices))]

    def _union(self, schema: Schema, name: str | None) -> Gen:
        kind = "oneOf" if "oneOf" in schema else "anyOf"
        siblings = {k: v for k, v in schema.items() if k not in (kind, "discriminator")}
        members = [
            _merge(self.resolve(m["$ref"]) if "$ref" in m else m, siblings) if siblings else m
            for m in schema[kind]
        ]
        gens = [self.compile(member, name) for member in members]
        non_null = [i for i, m in enumerate(members) if m.get("type") != "null"] or list(range(len(members)))
        null = [i for i in range(len(members)) if i not in non_null]
        exclusive = kind == "oneOf" and len(members) > 1

        def gen(st: _State) -> Any:
            order = list(non_null)
            st.rng.shuffle(order)
            # Mostly real values; sometimes ``null`` where allowed, and always when nesting gets deep.
            if null and (st.depth >= MAX_DEPTH or st.rng.random() < 0.15):
                order = null + order
            else:
                order = order + null
            last: Any = None
            for index in order:
                for _ in range(_ATTEMPTS if exclusive else 1):
                    value = gens[index](st)
                    if not exclusive or sum(self.validates(m, value) for m in members) == 1:
                        return value
                    last = value
            return last

        return gen

    def _not(self, schema: Schema, name: str | None) -> Gen:
        base = self.compile({k: v for k, v in schema.items() if k != "not"}, name)
        forbidden = schema["not"]

        def gen(st: _State) -> Any:
            value = base(st)
            for _ in range(_ATTEMPTS * 8):
                if not self.validates(forbidden, value):
                    return value
                value = base(st)
            return value

        return gen

    def _any(self, name: str | None) -> Gen:
        text = self._string({}, name)
        return lambda st: text(st) if st.rng.random() < 0.6 else st.rng.randint(0, 100)

    def _typed(self, schema: Schema, name: str | None) -> Gen:
        types = schema.get("type")
        if types is None:
            if "properties" in schema or "additionalProperties" in schema or "required" in schema:
                types = "object"
            elif "items" in schema or "prefixItems" in schema:
                types = "array"
            else:
                return self._any(name)
        if isinstance(types, list):
            options = [t for t in types if t != "null"]
            nullable = "null" in types
            gens = [self._typed({**schema, "type": t}, name) for t in options]
            if not gens:
                return lambda st: None

            def gen_multi(st: _State) -> Any:
                if nullable and (st.depth >= MAX_DEPTH or st.rng.random() < 0.15):
                    return None
                return gens[st.rng.randrange(len(gens))](st)

            return gen_multi
        builder = {
            "null": lambda s, n: lambda st: None,
            "boolean": lambda s, n: lambda st: st.rng.random() < 0.5,
            "integer": self._integer,
            "number": self._number,
            "string": self._string,
            "array": self._array,
            "object": self._object,
        }.get(types)
        if builder is None:
            raise ValueError(f"unknown type {types!r}")
        return builder(schema, name)

    @staticmethod
    def _bounds(schema: Schema, integer: bool) -> tuple[float | None, float | None]:
        low = schema.get("minimum")
        high = schema.get("maximum")
        step = 1 if integer else 1e-6
        if "exclusiveMinimum" in schema:
            low = max(low if low is not None else -1e300, schema["exclusiveMinimum"] + step)
        if "exclusiveMaximum" in schema:
            high = min(high if high is not None else 1e300, schema["exclusiveMaximum"] - step)
        return low, high

    def _integer(self, schema: Schema, name: str | None) -> Gen:
        low, high = self._bounds(schema, True)
        hint_low, hint_high = int_hint(name)
        lo = (
            int(low)
            if low is not None
            else (hint_low if high is None or hint_low <= high else int(high) - 100)
        )
        hi = int(high) if high is not None else (hint_high if hint_high >= lo else lo + 100)
        multiple = schema.get("multipleOf")

        def gen(st: _State) -> int:
            value = st.rng.randint(lo, hi)
            if isinstance(multiple, int) and multiple > 0:
                value -= value % multiple
                if value < lo:
                    value += multiple
            return value

        return gen

    def _number(self, schema: Schema, name: str | None) -> Gen:
        low, high = self._bounds(schema, False)
        lo = float(low) if low is not None else 0.0
        hi = float(high) if high is not None else max(lo, 100.0) + (lo if lo > 100.0 else 0.0)
        return lambda st: round(st.rng.uniform(lo, hi), 2) if hi - lo > 0.02 else lo

    def _string(self, schema: Schema, name: str | None) -> Gen:
        min_len = int(schema.get("minLength", 0))
        max_len = schema.get("maxLength")
        pattern = schema.get("pattern")
        fmt = schema.get("format")

        def fit(text: str, st: _State) -> str:
            if len(text) < min_len:
                text += "".join(st.rng.choice(string.ascii_lowercase) for _ in range(min_len - len(text)))
            if max_len is not None and len(text) > max_len:
                text = text[: int(max_len)]
            return text

        def gen(st: _State) -> str:
            if pattern is not None:
                for _ in range(_ATTEMPTS):
                    text = pattern_value(pattern, st.rng, name)
                    text = fit(text, st)
                    if re.search(pattern, text):
                        return text
                return text
            if fmt is not None:
                value = format_value(fmt, st.rng, _FAKE_EPOCH)
                if value is not None:
                    return fit(value, st)
            return fit(string_hint(name, st.rng, _FAKE_EPOCH), st)

        return gen

    def _array(self, schema: Schema, name: str | None) -> Gen:
        prefix = [self.compile(item, name) for item in schema.get("prefixItems", [])]
        items = schema.get("items", True)
        rest = None if items is False else self.compile(items, _singular(name))
        min_items = max(int(schema.get("minItems", 0)), 0)
        max_items = schema.get("maxItems")
        unique = bool(schema.get("uniqueItems"))

        def gen(st: _State) -> list[Any]:
            st.depth += 1
            try:
                out = [g(st) for g in prefix]
                if rest is not None:
                    wanted = st.rng.randint(1, 3) if st.depth < MAX_DEPTH else 0
                    target = max(min_items, len(out) + wanted)
                    if max_items is not None:
                        target = min(target, int(max_items))
                    seen = {_key(v) for v in out}
                    tries = 0
                    while len(out) < target and tries < target * _ATTEMPTS:
                        tries += 1
                        value = rest(st)
                        if unique and _key(value) in seen:
                            continue
                        seen.add(_key(value))
                        out.append(value)
                return out
            finally:
                st.depth -= 1

        return gen

    def _object(self, schema: Schema, name: str | None) -> Gen:
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        gens = {key: self.compile(sub, key) for key, sub in props.items()}
        additional = schema.get("additionalProperties", True)
        extra_gen = self.compile(additional, _singular(name)) if isinstance(additional, dict) else None
        missing_required = sorted(required - set(props))
        fallback = extra_gen or self._any(None)

        def gen(st: _State) -> dict[str, Any]:
            st.depth += 1
            try:
                out: dict[str, Any] = {}
                for key, sub in gens.items():
                    if key in required or (st.depth < MAX_DEPTH - 1 and st.rng.random() < 0.85):
                        out[key] = sub(st)
                for key in missing_required:
                    out[key] = fallback(st)
                if extra_gen is not None and not props and st.depth < MAX_DEPTH:
                    for index in range(st.rng.randint(1, 3)):
                        out.setdefault(f"{_singular(name) or 'key'}{index + 1}", extra_gen(st))
                return out
            finally:
                st.depth -= 1

        return gen


def _singular(name: str | None) -> str | None:
    if name is None:
        return None
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def _key(value: Any) -> str:
    return json.dumps(ejson.to_ejson(value), sort_keys=True, default=repr)


# -- plausible leaf values --------------------------------------------------------------------------------

_WORDS: Final = (
    "tank",
    "backup",
    "media",
    "documents",
    "home",
    "alice",
    "nextcloud",
    "plex",
    "archive",
    "vault",
)
_SIZE_WORDS: Final = (
    "size",
    "bytes",
    "used",
    "free",
    "avail",
    "alloc",
    "capacity",
    "quota",
    "memory",
    "physmem",
)


def int_hint(name: str | None) -> tuple[int, int]:
    """A plausible range for an integer called ``name`` (sizes in bytes, ports, ids...)."""
    key = (name or "").lower()
    if any(word in key for word in _SIZE_WORDS):
        return 1 << 20, 1 << 42
    if "port" in key:
        return 1024, 65535
    if key in ("uid", "gid") or key.endswith(("_uid", "_gid")):
        return 3000, 3100
    if key == "pid" or key.endswith("pid"):
        return 100, 65000
    if "percent" in key:
        return 0, 100
    if key in ("id", "number") or key.endswith("_id"):
        return 1, 500
    if "time" in key or "date" in key:
        return 1_700_000_000, 1_760_000_000
    return 0, 100


def _hex(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(length))


def _uuid(rng: random.Random) -> str:
    raw = _hex(rng, 32)
    return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-{raw[20:]}"


def _when(rng: random.Random, epoch: dt.datetime) -> dt.datetime:
    return epoch - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 90))


def format_value(fmt: str, rng: random.Random, epoch: dt.datetime) -> str | None:
    """A string in format ``fmt``; ``None`` for a format this generator does not know."""
    ip = f"192.168.10.{rng.randint(2, 254)}"
    values: dict[str, Callable[[], str]] = {
        "date-time": lambda: _when(rng, epoch).isoformat(),
        "date": lambda: _when(rng, epoch).date().isoformat(),
        "time": lambda: _when(rng, epoch).time().isoformat(),
        "email": lambda: f"{rng.choice(_WORDS)}@example.home",
        "uri": lambda: f"https://truenas.example.home/{rng.choice(_WORDS)}",
        "uri-reference": lambda: f"/{rng.choice(_WORDS)}",
        "url": lambda: f"https://truenas.example.home/{rng.choice(_WORDS)}",
        "uuid": lambda: _uuid(rng),
        "hostname": lambda: f"{rng.choice(_WORDS)}.example.home",
        "ipv4": lambda: ip,
        "ipv6": lambda: f"fd00::{rng.randint(1, 0xFFFF):x}",
        "ipvanyaddress": lambda: ip,
        "ipvanyinterface": lambda: f"{ip}/24",
        "ipvanynetwork": lambda: "192.168.10.0/24",
        "file-path": lambda: f"/mnt/tank/{rng.choice(_WORDS)}",
        "directory-path": lambda: f"/mnt/tank/{rng.choice(_WORDS)}",
    }
    maker = values.get(fmt)
    return maker() if maker is not None else None


def string_hint(name: str | None, rng: random.Random, epoch: dt.datetime) -> str:
    """A plausible string for a field called ``name``."""
    key = (name or "").lower()
    word = rng.choice(_WORDS)
    rules: tuple[tuple[tuple[str, ...], Callable[[], str]], ...] = (
        (
            ("description", "comment", "message", "text", "reason", "summary", "error", "notes"),
            lambda: f"{word.capitalize()} check completed on truenas",
        ),
        (("uuid", "guid"), lambda: _uuid(rng)),
        (("hostname", "host"), lambda: f"{word}.example.home"),
        (("email", "mail"), lambda: f"{word}@example.home"),
        (("mountpoint", "path", "dir", "file"), lambda: f"/mnt/tank/{word}"),
        (("dataset",), lambda: f"tank/{word}"),
        (("pool",), lambda: rng.choice(("tank", "backup"))),
        (("username", "user", "owner"), lambda: rng.choice(("alice", "bob", "truenas_admin"))),
        (("group",), lambda: rng.choice(("family", "builtin_users", "apps"))),
        (("version",), lambda: rng.choice(("25.04.2", "1.2.8", "31.0.6"))),
        (("mac",), lambda: ":".join(_hex(rng, 2) for _ in range(6))),
        (("address", "ip", "ipv4", "gateway", "nameserver"), lambda: f"192.168.10.{rng.randint(2, 254)}"),
        (("url", "uri", "link"), lambda: f"https://truenas.example.home/{word}"),
        (("date", "time", "created", "modified", "expire"), lambda: _when(rng, epoch).isoformat()),
        (("serial",), lambda: "WD-CA" + _hex(rng, 7).upper()),
        (("key", "token", "secret", "hash", "password", "fingerprint"), lambda: _hex(rng, 32)),
        (("name", "id", "label", "title"), lambda: word),
    )
    tokens = set(key.split("_")) | {key}
    for words, make in rules:
        # Whole words only for short hints (``ip`` must not match ``description``).
        if any(w in tokens or (len(w) >= 5 and w in key) for w in words):
            return make()
    return f"{word}-{rng.randint(1, 99)}"


def pattern_value(pattern: str, rng: random.Random, name: str | None) -> str:
    """A string matching ``pattern`` (anchors, classes, groups, alternation, repeats, categories)."""
    import re._parser as sre  # the stdlib regex parser: exact semantics without re-implementing them

    return _emit(sre.parse(pattern), rng, sre)


def _emit(parsed: Any, rng: random.Random, sre: Any) -> str:
    c = sre  # the parser module re-exports the opcode constants (``re._constants``)

    printable = [ch for ch in string.ascii_letters + string.digits + "_-./ "]
    out: list[str] = []
    for op, arg in parsed:
        if op is c.LITERAL:
            out.append(chr(arg))
        elif op is c.NOT_LITERAL:
            out.append(rng.choice([ch for ch in printable if ord(ch) != arg]))
        elif op is c.ANY:
            out.append(rng.choice(string.ascii_lowercase))
        elif op is c.IN:
            out.append(_from_class(arg, rng, printable, c))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            low, high, sub = arg
            count = rng.randint(low, min(high, low + 3) if high != c.MAXREPEAT else low + 3)
            out.extend(_emit(sub, rng, sre) for _ in range(count))
        elif op is c.SUBPATTERN:
            out.append(_emit(arg[-1], rng, sre))
        elif op is c.BRANCH:
            out.append(_emit(rng.choice(arg[1]), rng, sre))
        elif op is c.CATEGORY:
            out.append(_from_class([(c.CATEGORY, arg)], rng, printable, c))
        # AT (anchors) and lookarounds emit nothing.
    return "".join(out)


def _from_class(items: list[tuple[Any, Any]], rng: random.Random, printable: list[str], c: Any) -> str:
    negate = bool(items) and items[0][0] is c.NEGATE
    allowed: set[str] = set()
    for op, arg in items[1:] if negate else items:
        if op is c.LITERAL:
            allowed.add(chr(arg))
        elif op is c.RANGE:
            allowed.update(chr(code) for code in range(arg[0], min(arg[1], arg[0] + 200) + 1))
        elif op is c.CATEGORY:
            allowed.update(
                {
                    c.CATEGORY_DIGIT: string.digits,
                    c.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
                    c.CATEGORY_SPACE: " ",
                    c.CATEGORY_NOT_DIGIT: string.ascii_letters,
                    c.CATEGORY_NOT_WORD: "-. ",
                    c.CATEGORY_NOT_SPACE: string.ascii_letters,
                }.get(arg, string.ascii_letters)
            )
    pool = [ch for ch in printable if ch not in allowed] if negate else sorted(allowed)
    return rng.choice(pool or printable)
