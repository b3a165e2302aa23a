"""Secret redaction for arguments, results, audit lines and logs.

TrueNAS marks secrets in its own code (``Secret`` fields) but the recorded schemas do not carry that mark, so
a field is treated as secret when its *name* says so (password, passphrase, secret, private key, API key,
token, ...) or when its JSON Schema does (``writeOnly: true``, ``format: password``, ``x-secret: true``).
Redaction errs on the side of hiding: a false positive costs a ``"********"`` in a log line, a false
negative costs a credential.

Values that are known to be secret whatever field they turn up in (the TrueNAS API key, the JWT signing
secret) are registered with :func:`register_secret` and scrubbed from every formatted log line by
:class:`SecretFilter`, which catches the cases no field name can (an exception message quoting a value).
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

MASK = "********"

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


# Known secret values ---------------------------------------------------------------------------------
_known: set[str] = set()
_known_lock = threading.Lock()
_MIN_SECRET_LENGTH = 8  # shorter strings would scrub ordinary words out of log lines


def register_secret(value: str | bytes | None) -> None:
    """Scrub ``value`` from every log line from now on (API keys, signing secrets)."""
    if value is None:
        return
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    text = text.strip()
    if len(text) >= _MIN_SECRET_LENGTH:
        with _known_lock:
            _known.add(text)


def scrub(text: str) -> str:
    """``text`` with every registered secret value replaced by :data:`MASK`."""
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
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
