"""``pool.*`` (query, scrubs) and ``disk.*``: the physical side of storage."""

from __future__ import annotations

import asyncio
import copy
import errno
from typing import Any, Final

from truenas_mcp.sim.api import CallContext, Handler
from truenas_mcp.sim.errors import CallError
from truenas_mcp.sim.services.common import (
    arg,
    checkpoint,
    emit,
    fresh,
    get_instance_handler,
    progress,
    query_handler,
    world,
)

SCRUB_STEPS: Final = 10
_SCRUB_ACTIONS: Final = ("START", "STOP", "PAUSE")


def pool_rows(ctx: CallContext, options: dict[str, Any]) -> list[dict[str, Any]]:
    # The boot pool is never part of ``pool.query``; the world does not store it as a pool at all.
    return fresh(world(ctx).table("pool"))


def disk_rows(ctx: CallContext, options: dict[str, Any]) -> list[dict[str, Any]]:
    """``disk.query``: pool membership only with ``extra.pools`` (the middleware skips that lookup)."""
    with_pools = bool((options.get("extra") or {}).get("pools"))
    rows = fresh(world(ctx).table("disk"))
    for row in rows:
        if not with_pools:
            row["pool"] = None
    return rows


def _find_pool(ctx: CallContext, name: str) -> dict[str, Any]:
    pool = world(ctx).find("pool", "name", name)
    if pool is None:
        raise CallError(f"{name!r} pool not found", errno.ENOENT)
    return pool


async def scrub_run(ctx: CallContext, params: list[Any]) -> None:
    """Start a scrub unless the last one finished less than ``threshold`` days ago (then do nothing)."""
    name = arg(params, 0)
    threshold = arg(params, 1, 35)
    pool = _find_pool(ctx, name)
    scan = pool.get("scan") or {}
    if scan.get("state") == "SCANNING":
        return None
    end = scan.get("end_time")
    if scan.get("function") == "SCRUB" and end is not None:
        age_days = (world(ctx).now() - end).total_seconds() / 86400
        if age_days < threshold:
            return None
    await ctx.sim.call(ctx, "pool.scrub.scrub", [name, "START"])
    return None


async def scrub_scrub(ctx: CallContext, params: list[Any]) -> None:
    """The ``pool.scrub.scrub`` job: START walks the pool with progress; STOP/PAUSE act on a running one."""
    name = arg(params, 0)
    action = arg(params, 1, "START")
    if action not in _SCRUB_ACTIONS:
        raise CallError(f"Invalid scrub action {action!r}", errno.EINVAL)
    w = world(ctx)
    pool = _find_pool(ctx, name)
    scan = pool.get("scan") or {}
    running = scan.get("function") == "SCRUB" and scan.get("state") == "SCANNING"
    if action in ("STOP", "PAUSE"):
        if not running:
            raise CallError(f"There is no scrub running on pool {name!r}", errno.ENOENT)
        if action == "STOP":
            scan.update(state="CANCELED", end_time=w.now())
        else:
            scan["pause"] = w.now()
        emit(ctx, "pool.query", "changed", pool["id"])
        return None
    if running and scan.get("pause") is None:
        raise CallError(f"Scrub is already running on pool {name!r}", errno.EBUSY)
    total = int(pool.get("allocated") or 0)
    pool["scan"] = {
        "function": "SCRUB",
        "state": "SCANNING",
        "start_time": w.now(),
        "end_time": None,
        "percentage": 0.0,
        "bytes_to_process": total,
        "bytes_processed": 0,
        "bytes_issued": 0,
        "pause": None,
        "errors": 0,
        "total_secs": 0,
    }
    emit(ctx, "pool.query", "changed", pool["id"])
    scan = pool["scan"]
    try:
        for step in range(1, SCRUB_STEPS + 1):
            progress(ctx, (step - 1) * 100 // SCRUB_STEPS, f"Scrubbing pool {name}")
            await checkpoint(ctx)
            done = total * step // SCRUB_STEPS
            scan.update(percentage=100.0 * step / SCRUB_STEPS, bytes_processed=done, bytes_issued=done)
    except asyncio.CancelledError:
        scan.update(state="CANCELED", end_time=w.now())
        emit(ctx, "pool.query", "changed", pool["id"])
        raise
    scan.update(state="FINISHED", end_time=w.now())
    scan["total_secs"] = int((scan["end_time"] - scan["start_time"]).total_seconds())
    progress(ctx, 100, f"Scrub of pool {name} finished")
    emit(ctx, "pool.query", "changed", pool["id"])
    return None


async def pool_scrub(ctx: CallContext, params: list[Any]) -> None:
    """``pool.scrub(id, action)``: the item-method flavour, by pool id."""
    pool_id = arg(params, 0)
    pool = world(ctx).find("pool", "id", pool_id)
    if pool is None:
        raise CallError(f"Pool {pool_id} not found", errno.ENOENT)
    return await scrub_scrub(ctx, [pool["name"], arg(params, 1, "START")])


async def pool_get_disks(ctx: CallContext, params: list[Any]) -> list[str]:
    pool_id = arg(params, 0)
    pools = (
        world(ctx).table("pool")
        if pool_id is None
        else [p for p in world(ctx).table("pool") if p["id"] == pool_id]
    )
    names: list[str] = []
    for pool in pools:
        stack = copy.deepcopy(pool["topology"]["data"])
        while stack:
            vdev = stack.pop(0)
            if vdev.get("disk"):
                names.append(vdev["disk"])
            stack.extend(vdev.get("children", []))
    return names


HANDLERS: dict[str, Handler] = {
    "pool.query": query_handler(pool_rows, legacy=True),
    "pool.get_instance": get_instance_handler(pool_rows, "Pool"),
    "pool.scrub.run": scrub_run,
    "pool.scrub.scrub": scrub_scrub,
    "pool.scrub": pool_scrub,
    "pool.get_disks": pool_get_disks,
    "disk.query": query_handler(disk_rows, legacy=True),
    "disk.get_instance": get_instance_handler(disk_rows, "Disk", key="identifier"),
}
