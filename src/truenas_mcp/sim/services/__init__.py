"""Stateful implementations of TrueNAS methods, keyed by method name.

Each module owns one area of the API and exports its own ``HANDLERS``; this package merges them into the
single table the protocol layer dispatches on. A hand-written handler takes precedence over the state
engine (``sim/engine``), which serves every CRUD and config namespace without code here.
"""

from __future__ import annotations

from truenas_mcp.sim.api import Handler
from truenas_mcp.sim.services import (
    accounts,
    apps,
    backup,
    dataset_details,
    datasets,
    files,
    misc,
    observe,
    pools,
    sharing,
    snapshots,
    system,
)


def _merge() -> dict[str, Handler]:
    merged: dict[str, Handler] = {}
    for module in (
        system,
        pools,
        datasets,
        snapshots,
        sharing,
        accounts,
        misc,
        backup,
        apps,
        files,
        observe,
        dataset_details,
    ):
        overlap = merged.keys() & module.HANDLERS.keys()
        if overlap:
            raise RuntimeError(f"{module.__name__} redefines handlers: {sorted(overlap)}")
        merged.update(module.HANDLERS)
    return merged


HANDLERS: dict[str, Handler] = _merge()

# Handlers whose answers are true of the simulated box but not changed by writes (``sim --coverage``).
STATIC: frozenset[str] = frozenset().union(
    *(getattr(module, "STATIC", frozenset()) for module in (system, observe))
)

__all__ = ["HANDLERS", "STATIC"]
