"""The engine's handler table for a recording: which namespaces it serves and with which verbs."""

from __future__ import annotations

import threading

from truenas_mcp.sim.api import Handler
from truenas_mcp.sim.engine import config, crud, rules
from truenas_mcp.sim.recording import Recording

_CACHE: dict[int, tuple[Recording, dict[str, Handler]]] = {}
_LOCK = threading.Lock()


def namespaces(recording: Recording) -> tuple[list[str], list[str]]:
    """(CRUD namespaces, config namespaces) of the recording, sorted."""
    crud_ns = sorted(name.removesuffix(".query") for name in recording.methods if name.endswith(".query"))
    config_ns = sorted(
        ns
        for name in recording.methods
        if name.endswith(".config")
        and config.is_config_namespace(ns := name.removesuffix(".config"), recording)
    )
    return crud_ns, config_ns


def engine_handlers(recording: Recording) -> dict[str, Handler]:
    """Handlers for every CRUD and config method the engine serves; hand-written ones are layered on top.

    A CRUD namespace is served when its rows can be true: it has a ``create`` (rows come from writes and
    the seeded world), and it is not one whose writes need hand-written behaviour. Query-only namespaces
    are served by the engine only through hand-written handlers or seeded tables (``services``).
    """
    with _LOCK:
        hit = _CACHE.get(id(recording))
        if hit is not None and hit[0] is recording:
            return hit[1]
    present = set(recording.methods)
    table: dict[str, Handler] = {}
    crud_ns, config_ns = namespaces(recording)
    for ns in crud_ns:
        if ns in rules.HAND_WRITTEN_ONLY or f"{ns}.create" not in present:
            continue
        table.update(crud.handlers(crud.Namespace(ns, recording), present))
    for ns in config_ns:
        table.update(config.handlers(ns, recording))
    with _LOCK:
        _CACHE[id(recording)] = (recording, table)
    return table
