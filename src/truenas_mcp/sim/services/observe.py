"""What the box observes about itself: reporting graphs, disk temperatures, audit entries, sessions, updates.

Values are functions of the simulated clock and the demo world, never random words: a graph point at time
``t`` is the same in every answer, CPU follows a working-day curve, interface traffic sits on the demo's
interfaces, disk I/O on its disks, and an update to the next 25.04 maintenance release is on offer
(``plugins/update_/trains.py``). Shapes follow ``plugins/reporting/netdata/graph_base.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import uuid
from collections.abc import Callable
from typing import Any, Final

from truenas_mcp.sim import filters
from truenas_mcp.sim.api import CallContext, Handler
from truenas_mcp.sim.errors import CallError
from truenas_mcp.sim.services.common import arg, world
from truenas_mcp.sim.state import World

UNIT_SECONDS: Final = {
    "HOUR": 3600,
    "DAY": 86400,
    "WEEK": 7 * 86400,
    "MONTH": 30 * 86400,
    "YEAR": 365 * 86400,
}
MAX_POINTS: Final = 360


def _noise(*parts: Any) -> float:
    """A stable value in [0, 1) for ``parts`` (the same point reads the same in every answer)."""
    digest = hashlib.sha256("\0".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def _daily(t: int) -> float:
    """0 at 04:00, 1 at 16:00: how busy a home/office box is at time ``t``."""
    hour = (t % 86400) / 3600
    return (1 - math.cos((hour - 4) / 24 * 2 * math.pi)) / 2


Series = Callable[[World, str, int], list[float]]


def _cpu(w: World, ident: str, t: int) -> list[float]:
    return [round(4 + 22 * _daily(t) + 6 * _noise("cpu", t), 2)]


def _cputemp(w: World, ident: str, t: int) -> list[float]:
    return [round(38 + 14 * _daily(t) + 2 * _noise("temp", t), 1)]


def _memory(w: World, ident: str, t: int) -> list[float]:
    physmem = float(w.system["info"]["physmem"])
    return [round(physmem * (0.31 - 0.06 * _daily(t) - 0.02 * _noise("mem", t)))]


def _disk(w: World, ident: str, t: int) -> list[float]:
    busy = _daily(t)
    return [
        round(400 + 5200 * busy * _noise("dr", ident, t), 2),
        round(150 + 2600 * busy * _noise("dw", ident, t), 2),
    ]


def _interface(w: World, ident: str, t: int) -> list[float]:
    scale = 0.05 if ident.startswith("br") else 1.0
    busy = _daily(t)
    received = 1800 + 48000 * busy * _noise("rx", ident, t)
    sent = 900 + 21000 * busy * _noise("tx", ident, t)
    return [round(received * scale, 2), round(sent * scale, 2)]


def _load(w: World, ident: str, t: int) -> list[float]:
    base = 0.3 + 1.6 * _daily(t)
    return [round(base + 0.4 * _noise("l1", t), 2), round(base, 2), round(base * 0.9, 2)]


def _uptime(w: World, ident: str, t: int) -> list[float]:
    boot = w.system["info"]["boottime"]
    return [max(0.0, float(t - int(boot.timestamp())))]


def _arcsize(w: World, ident: str, t: int) -> list[float]:
    return [round(float(w.system["info"]["physmem"]) * (0.48 + 0.03 * _noise("arc", t // 600)))]


# name -> (title, vertical label, legend after "time", identifiers from the world or None, series)
GRAPHS: Final[dict[str, tuple[str, str, tuple[str, ...], str | None, Series]]] = {
    "cpu": ("CPU Usage", "%CPU", ("cpu",), None, _cpu),
    "cputemp": ("CPU Temperature", "Celsius", ("cpu",), None, _cputemp),
    "memory": ("Physical memory available", "Bytes", ("available",), None, _memory),
    "disk": ("Disk I/O Bandwidth", "Kibibytes/s", ("reads", "writes"), "disk", _disk),
    "interface": ("Interface Traffic", "Kilobits/s", ("received", "sent"), "interface", _interface),
    "load": ("System Load Average", "Load", ("shortterm", "midterm", "longterm"), None, _load),
    "uptime": ("System Uptime", "Seconds", ("uptime",), None, _uptime),
    "arcsize": ("ARC Size", "bytes", ("arc_size",), None, _arcsize),
}


def _identifiers(w: World, source: str | None) -> list[str] | None:
    if source is None:
        return None
    return sorted(str(row["name"]) for row in w.table(source))


def _graph_rows(ctx: CallContext) -> list[dict[str, Any]]:
    w = world(ctx)
    return [
        {"name": name, "title": title, "vertical_label": label, "identifiers": _identifiers(w, source)}
        for name, (title, label, _, source, _) in GRAPHS.items()
    ]


async def reporting_graphs(ctx: CallContext, params: list[Any]) -> Any:
    return filters.query(_graph_rows(ctx), arg(params, 0, []), arg(params, 1, {}))


def _window(w: World, query: dict[str, Any]) -> tuple[int, int]:
    now = int(w.now().timestamp())
    if query.get("start") is not None or query.get("end") is not None:
        end = int(query.get("end") or now)
        start = int(query.get("start") or end - UNIT_SECONDS["HOUR"])
    else:
        span = UNIT_SECONDS.get(str(query.get("unit") or "HOUR"), UNIT_SECONDS["HOUR"])
        page = max(int(query.get("page") or 1), 1)
        end = now - span * (page - 1)
        start = end - span
    if start >= end:
        raise CallError("Start time must be less than end time")
    return start, end


def _aggregate(legend: list[str], data: list[list[float]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {"min": {}, "mean": {}, "max": {}}
    for column, name in enumerate(legend[1:], start=1):
        values = [row[column] for row in data]
        out["min"][name] = min(values) if values else 0.0
        out["max"][name] = max(values) if values else 0.0
        out["mean"][name] = sum(values) / len(values) if values else 0.0
    return out


async def reporting_get_data(ctx: CallContext, params: list[Any]) -> list[dict[str, Any]]:
    w = world(ctx)
    query = dict(arg(params, 1, {}) or {})
    aggregate = bool(query.get("aggregate", True))
    start, end = _window(w, query)
    step = max(1, (end - start) // MAX_POINTS)
    results = []
    for graph in arg(params, 0, []):
        name = graph["name"]
        if name not in GRAPHS:
            raise CallError(f"{name!r} graph is not available on this system")
        _, _, columns, source, series = GRAPHS[name]
        known = _identifiers(w, source)
        identifier = graph.get("identifier")
        if known is not None and identifier not in known:
            raise CallError(f"{identifier!r} is not a valid identifier for the {name!r} graph")
        legend = ["time", *columns]
        data = [
            [float(t), *series(w, identifier or name, t)]
            for t in range(start - start % step + step, end + 1, step)
        ]
        results.append(
            {
                "name": name,
                "identifier": identifier or name,
                "data": data,
                "aggregations": _aggregate(legend, data) if aggregate else {"min": {}, "mean": {}, "max": {}},
                "start": start,
                "end": end,
                "legend": legend,
            }
        )
    return results


async def disk_temperatures(ctx: CallContext, params: list[Any]) -> dict[str, int | None]:
    w = world(ctx)
    names = arg(params, 0, []) or [row["name"] for row in w.table("disk")]
    now = int(w.now().timestamp())
    out: dict[str, int | None] = {}
    for row in w.table("disk"):
        if row["name"] in names:
            base = 41 if row["type"] == "SSD" else 33
            out[row["name"]] = base + round(5 * _daily(now) + 2 * _noise("disktemp", row["name"], now // 300))
    return out


# -- audit ---------------------------------------------------------------------------------------------

_AUDIT_EVENTS: Final = [
    # (minutes before base time, user, address, event, method or None, description, success)
    (4310, "truenas_admin", "192.168.10.23", "AUTHENTICATION", None, "Log in as truenas_admin", True),
    (
        4302,
        "truenas_admin",
        "192.168.10.23",
        "METHOD_CALL",
        "sharing.smb.create",
        "SMB share create media",
        True,
    ),
    (2890, "alice", "192.168.10.41", "AUTHENTICATION", None, "Log in as alice", False),
    (2889, "alice", "192.168.10.41", "AUTHENTICATION", None, "Log in as alice", True),
    (1450, "truenas_admin", "192.168.10.23", "AUTHENTICATION", None, "Log in as truenas_admin", True),
    (1447, "truenas_admin", "192.168.10.23", "METHOD_CALL", "app.update", "Update app nextcloud", True),
    (600, "truenas_admin", "192.168.10.23", "METHOD_CALL", "pool.scrub.run", "Run scrub on tank", True),
    (75, "truenas_admin", "192.168.10.23", "AUTHENTICATION", None, "Log in as truenas_admin", True),
    (70, "truenas_admin", "192.168.10.23", "METHOD_CALL", "alert.dismiss", "Dismiss alert", True),
]


def _uuid(text: str) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256(text.encode()).digest()[:16], version=4))


def audit_rows(w: World) -> list[dict[str, Any]]:
    rows = []
    for minutes, user, address, event, method, description, success in _AUDIT_EVENTS:
        when = w.base_time - dt.timedelta(minutes=minutes)
        session = _uuid(f"session{user}{minutes // 1000}")
        audit_id = _uuid(f"audit{minutes}{event}")
        credentials = {"credentials": "LOGIN_PASSWORD", "credentials_data": {"username": user}}
        event_data: dict[str, Any] = (
            {"credentials": credentials, "error": None if success else "Bad username or password"}
            if method is None
            else {
                "method": method,
                "params": [],
                "description": description,
                "authenticated": True,
                "authorized": True,
            }
        )
        rows.append(
            {
                "audit_id": audit_id,
                "message_timestamp": int(when.timestamp()),
                "timestamp": when,
                "address": address,
                "username": user,
                "session": session,
                "service": "MIDDLEWARE",
                "service_data": {
                    "vers": {"major": 0, "minor": 1},
                    "origin": address,
                    "protocol": "WEBSOCKET",
                    "credentials": credentials,
                },
                "event": event,
                "event_data": event_data,
                "success": success,
            }
        )
    return rows


async def audit_query(ctx: CallContext, params: list[Any]) -> Any:
    data = dict(arg(params, 0, {}) or {})
    services = data.get("services") or ["MIDDLEWARE"]
    rows = [row for row in audit_rows(world(ctx)) if row["service"] in services]
    return filters.query(
        rows,
        data.get("query-filters") or [],
        data.get("query-options") or {},
        filters_name="audit_query.query-filters",
        options_name="audit_query.query-options",
    )


# -- sessions ------------------------------------------------------------------------------------------

_LOGIN_AT: dict[str, dt.datetime] = {}


async def auth_sessions(ctx: CallContext, params: list[Any]) -> Any:
    """Every authenticated connection to the simulator, the caller marked ``current``."""
    w = world(ctx)
    me = ctx.extra.get("connection")
    rows = []
    live: set[str] = set()
    for conn in sorted(getattr(ctx.sim, "connections", ()), key=lambda c: c.session.id):
        session = conn.session
        if not session.authenticated:
            continue
        live.add(session.id)
        login_at = _LOGIN_AT.setdefault(session.id, w.now())
        data: dict[str, Any] = {"username": session.username, "login_at": login_at}
        if session.credential_type == "API_KEY" and session.api_key_id is not None:
            key = w.find("api_key", "id", session.api_key_id)
            data["api_key"] = {"id": session.api_key_id, "name": key["name"] if key else ""}
        rows.append(
            {
                "id": session.id,
                "current": conn is me,
                "internal": False,
                "origin": f"{session.remote_addr}:{getattr(conn, 'remote_port', 0) or 0}",
                "credentials": session.credential_type or "LOGIN_PASSWORD",
                "credentials_data": data,
                "created_at": login_at,
                "secure_transport": session.secure_transport,
            }
        )
    for gone in set(_LOGIN_AT) - live:
        del _LOGIN_AT[gone]
    return filters.query(rows, arg(params, 0, []), arg(params, 1, {}))


# -- updates -------------------------------------------------------------------------------------------

NEXT_VERSION: Final = "25.04.2.1"


async def update_check_available(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    train = (arg(params, 0, {}) or {}).get("train")
    if train and train != "TrueNAS-SCALE-Fangtooth":
        raise CallError("Invalid train name.", 2)
    current = str(world(ctx).system["info"]["version"])
    return {
        "status": "AVAILABLE",
        "changes": [
            {
                "operation": "upgrade",
                "old": {"name": "TrueNAS", "version": current},
                "new": {"name": "TrueNAS", "version": NEXT_VERSION},
            }
        ],
        "notice": None,
        "notes": None,
        "release_notes_url": "https://www.truenas.com/docs/scale/25.04/gettingstarted/scalereleasenotes/#25042.1-changelog",
        "changelog": "Fixes an SMB share ACL regression and updates OpenZFS to 2.3.3.",
        "version": NEXT_VERSION,
        "filename": f"TrueNAS-SCALE-{NEXT_VERSION}.update",
        "filesize": 1_622_147_072,
        "checksum": hashlib.sha256(NEXT_VERSION.encode()).hexdigest(),
    }


async def update_get_trains(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    return {
        "trains": {"TrueNAS-SCALE-Fangtooth": {"description": "TrueNAS SCALE Fangtooth 25.04"}},
        "current": "TrueNAS-SCALE-Fangtooth",
        "selected": "TrueNAS-SCALE-Fangtooth",
    }


HANDLERS: dict[str, Handler] = {
    "reporting.graphs": reporting_graphs,
    "reporting.netdata_graphs": reporting_graphs,
    "reporting.get_data": reporting_get_data,
    "reporting.netdata_get_data": reporting_get_data,
    "disk.temperatures": disk_temperatures,
    "audit.query": audit_query,
    "auth.sessions": auth_sessions,
    "update.check_available": update_check_available,
    "update.get_trains": update_get_trains,
}

# Answers that are true of the simulated box but do not change with what clients write.
STATIC: frozenset[str] = frozenset(
    {
        "reporting.graphs",
        "reporting.netdata_graphs",
        "reporting.get_data",
        "reporting.netdata_get_data",
        "disk.temperatures",
        "audit.query",
        "update.check_available",
        "update.get_trains",
    }
)
