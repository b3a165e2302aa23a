"""The client's fast ejson paths agree with the shared codec."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json

from truenas_mcp import ejson

VALUES = {
    "when": dt.datetime(2025, 6, 1, 12, 30, 5, 123000, tzinfo=dt.UTC),
    "day": dt.date(2025, 6, 1),
    "at": dt.time(23, 59, 1),
    "tags": {"b", "a"},
    "v4": ipaddress.IPv4Interface("10.0.0.1/24"),
    "v6": ipaddress.IPv6Interface("fe80::1/64"),
    "nested": [{"deep": {1, 2}}],
}


def test_json_default_encodes_like_to_ejson() -> None:
    fast = json.dumps(VALUES, default=ejson.json_default, sort_keys=True)
    assert json.loads(fast) == json.loads(json.dumps(ejson.to_ejson(VALUES), sort_keys=True))


def test_round_trip_restores_python_types() -> None:
    text = json.dumps(VALUES, default=ejson.json_default)
    assert json.loads(text, object_hook=ejson.object_hook) == VALUES
