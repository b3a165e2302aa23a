"""Config namespaces (``ns.config`` / ``ns.update``): one stored object per namespace, as ``ConfigService``.

The object lives in ``World.system["config"][ns]`` (seeded with the demo box's settings, else read as a
fresh install's empty columns) and is completed against the recorded ``config`` result on every read.
``update`` merges the validated changes over it and answers the new configuration.
"""

from __future__ import annotations

import copy
from typing import Any

from truenas_mcp.sim.api import CallContext, Handler
from truenas_mcp.sim.engine import schema
from truenas_mcp.sim.recording import Recording
from truenas_mcp.sim.state import World


def stored(world: World, name: str) -> dict[str, Any]:
    configs = world.system.setdefault("config", {})
    return configs.setdefault(name, {})


def handlers(name: str, recording: Recording) -> dict[str, Handler]:
    def current(world: World) -> dict[str, Any]:
        returns = recording.returns(f"{name}.config") or {}
        return schema.complete(returns, copy.deepcopy(stored(world, name)), returns)

    async def config(ctx: CallContext, params: list[Any]) -> Any:
        return current(ctx.sim.world)

    async def update(ctx: CallContext, params: list[Any]) -> Any:
        world = ctx.sim.world
        changes = params[0] if params and isinstance(params[0], dict) else {}
        merged = {**current(world), **copy.deepcopy(changes)}
        world.system.setdefault("config", {})[name] = merged
        return current(world)

    return {f"{name}.config": config, f"{name}.update": update}


def is_config_namespace(name: str, recording: Recording) -> bool:
    """``ns.config`` takes no argument and ``ns.update`` one object (``app.config(name)`` is not one)."""
    cfg = recording.methods.get(f"{name}.config")
    upd = recording.methods.get(f"{name}.update")
    return cfg is not None and upd is not None and not cfg["accepts"] and len(upd["accepts"]) == 1
