"""Secret redaction for arguments, results, audit lines and logs: the one place where it is decided.

TrueNAS marks secrets in its own code (legacy ``private=True``, pydantic ``Secret[...]``) but the recorded
schemas do not carry that mark, so the reviewed overrides carry it instead: each tool's policy lists the
paths of its secret arguments (``secret_inputs``) and result fields (``secret_outputs``), and
:func:`mask_paths` masks exactly those. Where they apply:

* answers: masked for callers who are not allowed to see secrets (:func:`for_answer`), like TrueNAS does for
  a session without the method's write role; nothing else is masked, so an answer stays true;
* confirmation previews and elicitation texts (:func:`for_preview`): always masked by path, so a human sees
  every other argument as it will be sent;
* the audit log and every log line (:func:`for_record`): masked by path *and* by field name, because these
  also carry arguments that validation refused, whose secret may sit under a misspelt or unexpected key.
  Name-based masking (:func:`redact`) errs on the side of hiding: a false positive costs a ``"********"``
  in a log line, a false negative costs a credential.

The values found at secret argument paths are also remembered (a bounded set) and scrubbed from every
formatted log and audit line, which catches a TrueNAS error message that quotes one.

Values that are known to be secret whatever field they turn up in (the TrueNAS API key, the JWT signing
secret) are registered with :func:`register_secret` and scrubbed from every formatted log line by
:class:`SecretFilter`, which catches the cases no field name can (an exception message quoting a value).
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from truenas_mcp.secrets import MASK, mask_paths

# Words that make any field holding them secret, wherever they appear in the name.
_SECRET_WORDS = frozenset(
    {"password", "passwd", "passphrase", "secret", "privatekey", "apikey", "otp", "psk", "credential", "pin"}
)
# Words that make a field secret only as the last word (``encryption_key``, ``access_token``), so that
# ``key_format`` or ``token_ttl`` stay readable.
_SECRET_TAILS = frozenset({"key", "token", "secrets", "credentials", "passwords", "cookie", "authorization"})
# Last words that look secret but are not (public halves of key pairs, non-secret key metadata).
_PUBLIC = frozenset({"publickey", "pubkey", "sshpubkey"})
_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _words(name: str) -> list[str]:
    return [w for w in _SPLIT.split(_CAMEL.sub("_", name).lower()) if w]


def is_secret_name(name: str) -> bool:
    """Whether a field called ``name`` holds a secret (by its name alone)."""
    words = _words(name)
    if not words:
        return False
    joined = "".join(words)
    if joined in _PUBLIC or (len(words) >= 2 and words[-2] == "public" and words[-1] == "key"):
        return False
    pairs = {a + b for a, b in itertools.pairwise(words)}
    if (set(words) | pairs | {joined}) & _SECRET_WORDS:
        return True
    return words[-1] in _SECRET_TAILS


def is_secret_schema(schema: Mapping[str, Any] | None) -> bool:
    """Whether a JSON Schema marks its value as secret."""
    if not isinstance(schema, Mapping):
        return False
    return bool(
        schema.get("writeOnly") is True
        or schema.get("format") == "password"
        or schema.get("x-secret") is True
    )


def redact(value: Any, schema: Mapping[str, Any] | None = None) -> Any:
    """A copy of ``value`` with every secret field's value replaced by :data:`MASK` (``None`` stays)."""
    if isinstance(value, Mapping):
        props = schema.get("properties", {}) if isinstance(schema, Mapping) else {}
        out: dict[str, Any] = {}
        for key, item in value.items():
            sub = props.get(key) if isinstance(props, Mapping) else None
            if item is not None and (is_secret_name(str(key)) or is_secret_schema(sub)):
                out[key] = MASK
            else:
                out[key] = redact(item, sub)
        return out
    if isinstance(value, list | tuple):
        if (
            len(value) == 3
            and isinstance(value[0], str)
            and isinstance(value[1], str)
            and is_secret_name(value[0])
        ):
            return [value[0], value[1], MASK]  # a query filter on a secret field: ["password", "=", "..."]
        items = schema.get("items") if isinstance(schema, Mapping) else None
        return [redact(item, items if isinstance(items, Mapping) else None) for item in value]
    return value


# Redaction by reviewed paths (:func:`mask_paths` lives in ``truenas_mcp.secrets``) --------------------
def values_at(value: Any, paths: Iterable[str]) -> list[Any]:
    """Every non-null value at one of ``paths``."""
    found: list[Any] = []

    def walk(node: Any, path: list[str]) -> None:
        if not path:
            if node is not None:
                found.append(node)
            return
        head, rest = path[0], path[1:]
        if isinstance(node, Mapping):
            for key in node if head == "*" else [head] if head in node else []:
                walk(node[key], rest)
        elif isinstance(node, list | tuple) and head == "*":
            for item in node:
                walk(item, rest)
        elif head == "*" and not rest and node is not None:
            found.append(node)

    for path in paths:
        walk(value, path.split("."))
    return found


def for_answer(result: Any, secret_outputs: Iterable[str], *, sees_secrets: bool) -> Any:
    """A result as the caller may see it: intact for those allowed, else with secret fields masked.

    Secrets handed to a caller who may see them are remembered, so that no log line repeats them (a
    transport's debug log of the response body, an error quoting the answer).
    """
    paths = tuple(secret_outputs)
    if sees_secrets:
        remember(_strings(values_at(result, paths)))
        return result
    return mask_paths(result, paths)


def for_preview(arguments: Mapping[str, Any], secret_inputs: Iterable[str]) -> dict[str, Any]:
    """Arguments as a human is shown them before confirming: secret arguments masked, the rest as sent."""
    masked: dict[str, Any] = mask_paths(dict(arguments), secret_inputs)
    return masked


def for_record(arguments: Any, secret_inputs: Iterable[str] | None) -> Any:
    """Arguments as the audit log and logs keep them: masked by path and, as a safety net, by name."""
    paths = tuple(secret_inputs or ())
    remember(_strings(values_at(arguments, paths)))
    return redact(mask_paths(arguments, paths))


def _strings(values: Iterable[Any]) -> Iterator[str]:
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, Mapping):
            yield from _strings(value.values())
        elif isinstance(value, list | tuple):
            yield from _strings(value)


def query_refusal(arguments: Mapping[str, Any], secret_outputs: Iterable[str]) -> str | None:
    """Why a query may not run for a caller who does not see secrets, or ``None``.

    Masking rows is not enough when the query itself reads a secret: a filter (``["pass", "^", "a"]``)
    answers yes or no about its value and ``select`` can rename it out of reach of the mask. So a query that
    names a secret field in ``filters``, ``order_by`` or ``select`` is refused for such callers.
    """
    row_fields = {p.removeprefix("*.") for p in secret_outputs if p != "*"}
    if not row_fields:
        return None
    tops = {p.split(".")[0] for p in row_fields}

    def secret(name: Any) -> bool:
        if not isinstance(name, str):
            return False
        name = name.lstrip("-").removeprefix("nulls_first:").removeprefix("nulls_last:")
        return name.split(".")[0] in tops

    def in_filters(node: Any) -> bool:
        if isinstance(node, list) and len(node) == 3 and isinstance(node[1], str) and secret(node[0]):
            return True
        if isinstance(node, list):
            return any(in_filters(item) for item in node if isinstance(item, list))
        return False

    options = arguments.get("options")
    options = options if isinstance(options, Mapping) else {}
    select = options.get("select") or []
    named = [s[0] if isinstance(s, list) and s else s for s in select]
    hits = sorted(
        {str(n) for n in [*named, *(options.get("order_by") or [])] if secret(n)}
        | ({"filters"} if in_filters(arguments.get("filters")) else set())
    )
    if not hits:
        return None
    fields = ", ".join(sorted(tops))
    return (
        f"this query refers to secret fields ({fields}) in {', '.join(hits)}; a token without the write role "
        "of this namespace may not filter, sort or select on them (they are masked in its answers)"
    )


# Known secret values ---------------------------------------------------------------------------------
_known: set[str] = set()
_recent: OrderedDict[str, None] = OrderedDict()  # secret argument values seen lately, oldest first
_known_lock = threading.Lock()
_MIN_SECRET_LENGTH = 8  # shorter strings would scrub ordinary words out of log lines
_MAX_RECENT = 256  # bounds the memory a stream of calls with secrets can take


def register_secret(value: str | bytes | None) -> None:
    """Scrub ``value`` from every log line from now on (API keys, signing secrets)."""
    if value is None:
        return
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    text = text.strip()
    if len(text) >= _MIN_SECRET_LENGTH:
        with _known_lock:
            _known.add(text)


def remember(values: Iterable[Any]) -> None:
    """Scrub these secret argument values from log lines for a while (the newest :data:`_MAX_RECENT`)."""
    with _known_lock:
        for value in values:
            text = value if isinstance(value, str) else None
            if text is None or len(text.strip()) < _MIN_SECRET_LENGTH:
                continue
            _recent[text.strip()] = None
            _recent.move_to_end(text.strip())
            while len(_recent) > _MAX_RECENT:
                _recent.popitem(last=False)


def scrub(text: str) -> str:
    """``text`` with every registered or remembered secret value replaced by :data:`MASK`."""
    with _known_lock:
        known = sorted(_known | set(_recent), key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class SecretFilter(logging.Filter):
    """Redacts secret-named ``extra`` fields and registered secret values on every record it sees.

    Installed on the server's log handlers, so it covers records of every library (the SDK, uvicorn,
    httpx), not just ours.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        for key, item in list(record.__dict__.items()):
            if key.startswith("_") or key in _RECORD_FIELDS:
                continue
            if item is not None and is_secret_name(key):
                setattr(record, key, MASK)
            elif isinstance(item, Mapping | list):
                setattr(record, key, redact(item))
        message = record.getMessage()
        scrubbed = scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and record.exc_info[1] is not None:
            # The formatted traceback quotes the exception message; format it now so it can be scrubbed.
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = scrub(formatted)
        return True


_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
