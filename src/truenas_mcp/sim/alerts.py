"""Alert rows as ``alert.list`` answers them, shared by the seeded world and the state's own alerts."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import Any


def stable_uuid(*parts: str) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256("\0".join(parts).encode()).digest()[:16], version=4))


def make_alert(
    *,
    klass: str,
    level: str,
    text: str,
    args: Any,
    key: str,
    when: dt.datetime,
    one_shot: bool = False,
) -> dict[str, Any]:
    """An ``alert.list`` row; the uuid is derived from class and key, so a re-raised alert keeps its id."""
    alert_uuid = stable_uuid("alert", klass, key, when.isoformat())
    return {
        "uuid": alert_uuid,
        "id": alert_uuid,
        "source": "",
        "klass": klass,
        "args": args,
        "node": "Controller A",
        "key": json.dumps(args, sort_keys=True),
        "datetime": when,
        "last_occurrence": when,
        "dismissed": False,
        "mail": None,
        "text": text,
        "formatted": text,
        "level": level,
        "one_shot": one_shot,
    }
