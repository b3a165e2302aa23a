"""TrueNAS "ejson": the JSON dialect of the middleware's wire protocol.

The middleware (``truenas_api_client/ejson.py``) encodes values JSON cannot carry as one-key objects.
Both the client and the simulator decode and encode with this module, so a value survives a round trip
unchanged whichever side produced it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from typing import Any

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _to_epoch_ms(value: dt.datetime) -> int:
    if value.tzinfo is None:
        # The middleware treats naive datetimes as UTC (it stores UTC everywhere).
        value = value.replace(tzinfo=dt.UTC)
    return int((value - _EPOCH) / dt.timedelta(milliseconds=1))


def to_ejson(value: Any) -> Any:
    """Turn Python values into plain JSON values the way the middleware's encoder does."""
    if isinstance(value, dict):
        return {k: to_ejson(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_ejson(v) for v in value]
    if isinstance(value, set | frozenset):
        return {"$set": [to_ejson(v) for v in sorted(value, key=repr)]}
    if isinstance(value, dt.datetime):
        return {"$date": _to_epoch_ms(value)}
    if isinstance(value, dt.date):
        return {"$type": "date", "$value": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$time": value.strftime("%H:%M:%S")}
    if isinstance(value, ipaddress.IPv4Interface):
        return {"$ipv4_interface": str(value)}
    if isinstance(value, ipaddress.IPv6Interface):
        return {"$ipv6_interface": str(value)}
    return value


def _object_hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        key, val = next(iter(obj.items()))
        if key == "$date" and isinstance(val, int | float):
            return _EPOCH + dt.timedelta(milliseconds=val)
        if key == "$time" and isinstance(val, str):
            return dt.time.fromisoformat(val)
        if key == "$set" and isinstance(val, list):
            try:
                return set(val)
            except TypeError:  # unhashable members: keep them rather than lose the value
                return val
        if key == "$ipv4_interface" and isinstance(val, str):
            return ipaddress.IPv4Interface(val)
        if key == "$ipv6_interface" and isinstance(val, str):
            return ipaddress.IPv6Interface(val)
    elif len(obj) == 2 and obj.get("$type") == "date" and isinstance(obj.get("$value"), str):
        return dt.date.fromisoformat(obj["$value"])
    return obj


def from_ejson(value: Any) -> Any:
    """Decode ejson markers inside an already-parsed JSON value."""
    if isinstance(value, dict):
        return _object_hook({k: from_ejson(v) for k, v in value.items()})
    if isinstance(value, list):
        return [from_ejson(v) for v in value]
    return value


def loads(text: str | bytes) -> Any:
    return json.loads(text, object_hook=_object_hook)


def dumps(value: Any, **kwargs: Any) -> str:
    return json.dumps(to_ejson(value), **kwargs)


def object_hook(obj: dict[str, Any]) -> Any:
    """``json.loads(object_hook=...)`` hook decoding one ejson marker object."""
    return _object_hook(obj)


def json_default(value: Any) -> Any:
    """``json.dumps(default=...)`` hook: the encoding of :func:`to_ejson` for the values JSON cannot carry.

    Unlike ``to_ejson`` it does not rebuild the whole tree first, so encoding a plain request costs nothing
    extra; ``json`` calls it only for the rare non-JSON value.
    """
    if isinstance(value, set | frozenset):
        return {"$set": sorted(value, key=repr)}
    encoded = to_ejson(value)
    if encoded is value:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
    return encoded
