"""``zfs.snapshot.*`` (CRUD, rollback, clone) and ``pool.snapshottask.*`` (periodic snapshot tasks)."""

from __future__ import annotations

import copy
import datetime as dt
import errno
from typing import Any, Final

from truenas_mcp.sim.api import CallContext, Handler
from truenas_mcp.sim.errors import CallError, ValidationErrors
from truenas_mcp.sim.services import storage_model as sm
from truenas_mcp.sim.services.common import (
    arg,
    emit,
    fresh,
    get_instance_handler,
    query_handler,
    require,
    run_query,
    world,
)

SNAP_EVENT: Final = "zfs.snapshot.query"
TASK_EVENT: Final = "pool.snapshottask.query"
_SCHEMA_TOKENS: Final = ("%Y", "%m", "%d", "%H", "%M")
_SCHEDULE_DEFAULTS: Final = {
    "minute": "00",
    "hour": "*",
    "dom": "*",
    "month": "*",
    "dow": "*",
    "begin": "00:00",
    "end": "23:59",
}
_TASK_DEFAULTS: Final = {
    "recursive": False,
    "exclude": [],
    "lifetime_value": 2,
    "lifetime_unit": "WEEK",
    "enabled": True,
    "naming_schema": "auto-%Y-%m-%d_%H-%M",
    "allow_empty": True,
}


def snapshot_rows(ctx: CallContext, options: dict[str, Any]) -> list[dict[str, Any]]:
    w = world(ctx)
    return [
        sm.render_snapshot(w, snap) for snap in sorted(w.table("zfs.snapshot"), key=lambda s: s["createtxg"])
    ]


def _snap(ctx: CallContext, ident: str) -> dict[str, Any]:
    snap = world(ctx).find("zfs.snapshot", "id", ident)
    if snap is None:
        raise CallError(f"Snapshot {ident} not found", errno.ENOENT)
    return snap


def _locked(ctx: CallContext, dataset: str) -> bool:
    records = sm.dataset_records(world(ctx))
    enc = records[dataset].get("encryption")
    if enc is None:
        return False
    root = records.get(enc["root"], {}).get("encryption") or {}
    return bool(root.get("locked"))


def _take(ctx: CallContext, dataset: str, name: str) -> dict[str, Any]:
    w = world(ctx)
    record = w.find("pool.dataset", "id", dataset)
    assert record is not None
    txg = max(
        [s["createtxg"] for s in w.table("zfs.snapshot")] + [r["createtxg"] for r in w.table("pool.dataset")]
    )
    snap = {
        "id": f"{dataset}@{name}",
        "dataset": dataset,
        "created": w.now(),
        "createtxg": txg + 1,
        "used": 0,
        "referenced": record["referenced"],
        "holds": [],
        "retention": None,
    }
    w.table("zfs.snapshot").append(snap)
    emit(ctx, SNAP_EVENT, "added", snap["id"])
    return snap


async def snapshot_create(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    w = world(ctx)
    data = arg(params, 0, {})
    prefix = "snapshot_create"
    verrors = ValidationErrors()
    dataset = data.get("dataset", "")
    name = data.get("name")
    schema = data.get("naming_schema")
    if not name and not schema:
        verrors.add(f"{prefix}.naming_schema", "You must specify either name or naming schema")
    if name and schema:
        verrors.add(f"{prefix}.naming_schema", "You can't specify name and naming schema at the same time")
    if schema and not all(token in schema for token in _SCHEMA_TOKENS):
        verrors.add(f"{prefix}.naming_schema", "Naming schema must contain %Y, %m, %d, %H and %M")
    if name and ("@" in name or "/" in name):
        verrors.add(f"{prefix}.name", "Snapshot name must not contain '@' or '/'")
    records = sm.dataset_records(w)
    if dataset not in records:
        verrors.add(f"{prefix}.dataset", f"Dataset {dataset} does not exist", errno.ENOENT)
    verrors.check()
    if _locked(ctx, dataset):
        raise CallError(f"Failed to snapshot {dataset}: dataset is locked", errno.EPERM)
    snap_name = name or w.now().strftime(schema)
    targets = [dataset]
    if data.get("recursive"):
        excluded = set(data.get("exclude", []))
        targets += [n for n in sorted(sm.subtree(records, dataset)) if n not in excluded]
    for target in targets:
        if w.find("zfs.snapshot", "id", f"{target}@{snap_name}") is not None:
            raise CallError(f"Failed to snapshot {target}@{snap_name}: dataset already exists", errno.EEXIST)
    snaps = [_take(ctx, target, snap_name) for target in targets]
    return sm.render_snapshot(w, snaps[0])


async def snapshot_update(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    w = world(ctx)
    ident = arg(params, 0)
    data = arg(params, 1, {})
    snap = require(w.find("zfs.snapshot", "id", ident), "ZFSSnapshot", ident)
    updates = data.get("user_properties_update", [])
    verrors = ValidationErrors()
    for index, item in enumerate(updates):
        if ":" not in item.get("key", ""):
            verrors.add(
                f"snapshot_update.user_properties_update.{index}.key", "Property name must contain a colon"
            )
        elif not item.get("remove") and "value" not in item:
            verrors.add(f"snapshot_update.user_properties_update.{index}.value", "A value is required")
    verrors.check()
    props = snap.setdefault("user_properties", {})
    for item in updates:
        if item.get("remove"):
            props.pop(item["key"], None)
        else:
            props[item["key"]] = item["value"]
    emit(ctx, SNAP_EVENT, "changed", ident)
    return sm.render_snapshot(w, snap)


async def snapshot_delete(ctx: CallContext, params: list[Any]) -> bool:
    w = world(ctx)
    ident = arg(params, 0)
    options = arg(params, 1, {})
    snap = _snap(ctx, ident)
    dataset, name = ident.split("@", 1)
    doomed = [snap]
    if options.get("recursive"):
        records = sm.dataset_records(w)
        doomed += [
            s
            for s in w.table("zfs.snapshot")
            if s["id"] in {f"{c}@{name}" for c in sm.subtree(records, dataset)}
        ]
    for victim in doomed:
        if victim.get("holds") and not options.get("defer"):
            raise CallError(f"Failed to delete snapshot {victim['id']}: it is held", errno.EBUSY)
        if victim.get("clones"):
            raise CallError(
                f"Failed to delete snapshot {victim['id']}: snapshot has dependent clones "
                f"({', '.join(victim['clones'])})",
                errno.EBUSY,
            )
    ids = {victim["id"] for victim in doomed}
    w.tables["zfs.snapshot"] = [s for s in w.table("zfs.snapshot") if s["id"] not in ids]
    for victim_id in sorted(ids):
        emit(ctx, SNAP_EVENT, "removed", victim_id)
    return True


async def snapshot_clone(ctx: CallContext, params: list[Any]) -> bool:
    w = world(ctx)
    data = arg(params, 0, {})
    prefix = "snapshot_clone"
    verrors = ValidationErrors()
    ident = data.get("snapshot", "")
    target = data.get("dataset_dst", "")
    records = sm.dataset_records(w)
    snap = w.find("zfs.snapshot", "id", ident)
    if snap is None:
        verrors.add(f"{prefix}.snapshot", f"Snapshot {ident} does not exist", errno.ENOENT)
    if target in records:
        verrors.add(f"{prefix}.dataset_dst", f"Dataset {target} already exists", errno.EEXIST)
    elif sm.parent_name(target) not in records:
        verrors.add(f"{prefix}.dataset_dst", f"Parent dataset of {target} does not exist", errno.ENOENT)
    elif snap is not None and target.split("/", 1)[0] != snap["dataset"].split("/", 1)[0]:
        verrors.add(f"{prefix}.dataset_dst", "A clone must be created in the same pool as its snapshot")
    verrors.check()
    assert snap is not None
    source = records[snap["dataset"]]
    w.table("pool.dataset").append(
        {
            "id": target,
            "type": source["type"],
            "props": {k: v for k, v in source["props"].items() if k in ("volsize", "volblocksize")},
            "user_properties": {},
            "referenced": snap["referenced"],
            "created": w.now(),
            "createtxg": max(r["createtxg"] for r in records.values()) + 1,
            "compressratio": source.get("compressratio", "1.00"),
            "origin": ident,
            "encryption": copy.deepcopy(source.get("encryption")),
        }
    )
    snap.setdefault("clones", []).append(target)
    emit(ctx, "pool.dataset.query", "added", target)
    return True


async def snapshot_rollback(ctx: CallContext, params: list[Any]) -> None:
    w = world(ctx)
    ident = arg(params, 0)
    options = arg(params, 1, {})
    snap = _snap(ctx, ident)
    newer = [
        s
        for s in w.table("zfs.snapshot")
        if s["dataset"] == snap["dataset"] and s["createtxg"] > snap["createtxg"]
    ]
    if newer and not (options.get("recursive") or options.get("recursive_clones")):
        listing = "\n".join(s["id"] for s in sorted(newer, key=lambda s: s["createtxg"]))
        raise CallError(
            f"Failed to rollback snapshot: cannot rollback to '{ident}': "
            "more recent snapshots or bookmarks exist\n"
            f"use '-r' to force deletion of the following snapshots and bookmarks:\n{listing}",
            errno.EFAULT,
        )
    clones = [c for s in newer for c in s.get("clones", [])]
    if clones and not options.get("recursive_clones"):
        raise CallError(
            f"Failed to rollback snapshot: newer snapshots have clones ({', '.join(clones)})", errno.EBUSY
        )
    gone = {s["id"] for s in newer}
    w.tables["zfs.snapshot"] = [s for s in w.table("zfs.snapshot") if s["id"] not in gone]
    for snap_id in sorted(gone):
        emit(ctx, SNAP_EVENT, "removed", snap_id)
    record = w.find("pool.dataset", "id", snap["dataset"])
    assert record is not None
    record["referenced"] = snap["referenced"]
    snap["used"] = 0
    emit(ctx, "pool.dataset.query", "changed", record["id"])
    return None


def _hold(hold: bool) -> Handler:
    """``hold``/``release``: the ``truenas`` user hold that protects a snapshot from deletion."""

    async def handler(ctx: CallContext, params: list[Any]) -> None:
        w = world(ctx)
        ident = arg(params, 0)
        snap = _snap(ctx, ident)
        targets = [snap]
        if arg(params, 1, {}).get("recursive"):
            dataset, name = ident.split("@", 1)
            children = {f"{c}@{name}" for c in sm.subtree(sm.dataset_records(w), dataset)}
            targets += [s for s in w.table("zfs.snapshot") if s["id"] in children]
        for target in targets:
            holds = target.setdefault("holds", [])
            if hold and "truenas" not in holds:
                holds.append("truenas")
            elif not hold and "truenas" in holds:
                holds.remove("truenas")
            emit(ctx, SNAP_EVENT, "changed", target["id"])
        return None

    return handler


async def snapshot_count(ctx: CallContext, params: list[Any]) -> int:
    dataset = arg(params, 0)
    return sum(1 for snap in world(ctx).table("zfs.snapshot") if snap["dataset"] == dataset)


# -- periodic snapshot tasks ------------------------------------------------------------------------


def task_rows(ctx: CallContext, options: dict[str, Any]) -> list[dict[str, Any]]:
    return fresh(world(ctx).table("pool.snapshottask"))


def _validate_task(ctx: CallContext, data: dict[str, Any], verrors: ValidationErrors) -> None:
    records = sm.dataset_records(world(ctx))
    if data["dataset"] not in records:
        verrors.add("data.dataset", "Dataset not found", errno.ENOENT)
    if not all(token in data["naming_schema"] for token in _SCHEMA_TOKENS):
        verrors.add("data.naming_schema", "Naming schema must contain %Y, %m, %d, %H and %M")
    if "/" in data["naming_schema"] or "@" in data["naming_schema"]:
        verrors.add("data.naming_schema", "Naming schema must not contain '/' or '@'")
    if data["lifetime_value"] < 1:
        verrors.add("data.lifetime_value", "Input should be greater than or equal to 1")
    for item in data["exclude"]:
        if not data["recursive"]:
            verrors.add(
                "data.exclude", "Excluding datasets has no sense for non-recursive periodic snapshot tasks"
            )
            break
        if not item.startswith(data["dataset"] + "/"):
            verrors.add("data.exclude", f"Excluded dataset {item!r} is not a child of {data['dataset']!r}")


async def task_create(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    w = world(ctx)
    data = {**copy.deepcopy(_TASK_DEFAULTS), "vmware_sync": False, **arg(params, 0, {})}
    data["schedule"] = {**_SCHEDULE_DEFAULTS, **(data.get("schedule") or {})}
    verrors = ValidationErrors()
    _validate_task(ctx, data, verrors)
    verrors.check()
    row = {**data, "id": w.next_id("pool.snapshottask"), "state": {"state": "PENDING"}}
    w.table("pool.snapshottask").append(row)
    emit(ctx, TASK_EVENT, "added", row["id"])
    return copy.deepcopy(row)


async def task_update(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    w = world(ctx)
    ident = arg(params, 0)
    row = require(w.find("pool.snapshottask", "id", ident), "PoolSnapshotTask", ident)
    changes = {k: v for k, v in arg(params, 1, {}).items() if k != "fixate_removal_date"}
    merged = {**copy.deepcopy(row), **changes}
    merged["schedule"] = {**row["schedule"], **(changes.get("schedule") or {})}
    verrors = ValidationErrors()
    _validate_task(ctx, merged, verrors)
    verrors.check()
    row.update(merged)
    emit(ctx, TASK_EVENT, "changed", ident)
    return copy.deepcopy(row)


async def task_delete(ctx: CallContext, params: list[Any]) -> bool:
    w = world(ctx)
    ident = arg(params, 0)
    require(w.find("pool.snapshottask", "id", ident), "PoolSnapshotTask", ident)
    for replication in w.table("replication"):
        if ident in replication.get("periodic_snapshot_tasks", []):
            raise CallError(
                f"Periodic snapshot task {ident} is used by replication task {replication['name']!r}",
                errno.EBUSY,
            )
    w.tables["pool.snapshottask"] = [t for t in w.table("pool.snapshottask") if t["id"] != ident]
    emit(ctx, TASK_EVENT, "removed", ident)
    return True


async def task_run(ctx: CallContext, params: list[Any]) -> None:
    """Take the task's snapshot now (recursively if configured), named by its naming schema."""
    w = world(ctx)
    ident = arg(params, 0)
    task = require(w.find("pool.snapshottask", "id", ident), "PoolSnapshotTask", ident)
    if not task["enabled"]:
        raise CallError("Task is not enabled", errno.EINVAL)
    name = w.now().strftime(task["naming_schema"])
    records = sm.dataset_records(w)
    targets = [task["dataset"]]
    if task["recursive"]:
        targets += [n for n in sorted(sm.subtree(records, task["dataset"])) if n not in task["exclude"]]
    lifetime = {"HOUR": 1 / 24, "DAY": 1, "WEEK": 7, "MONTH": 30, "YEAR": 365}[task["lifetime_unit"]]
    for target in targets:
        if w.find("zfs.snapshot", "id", f"{target}@{name}") is None:
            snap = _take(ctx, target, name)
            snap["retention"] = {
                "datetime": snap["created"] + dt.timedelta(days=lifetime * task["lifetime_value"]),
                "source": "periodic_snapshot_task",
                "periodic_snapshot_task_id": ident,
            }
    task["state"] = {"state": "FINISHED", "datetime": w.now(), "warnings": []}
    emit(ctx, TASK_EVENT, "changed", ident)
    return None


async def snapshot_query(ctx: CallContext, params: list[Any]) -> Any:
    """``plugins/zfs_/snapshot.py query``: ``select`` is taken out of the options and applied afterwards,
    keeping the top-level keys it names. So ordering by ``properties.creation.parsed`` while selecting
    other fields works, and a dotted or aliased select keeps nothing of that entry."""
    options = dict(arg(params, 1, {}) or {})
    select = options.pop("select", None)
    result = run_query(snapshot_rows(ctx, options), [arg(params, 0, []), options], legacy=True)
    if select:
        if isinstance(result, list):
            return [{k: v for k, v in item.items() if k in select} for item in result]
        if isinstance(result, dict):
            return {k: v for k, v in result.items() if k in select}
    return result


HANDLERS: dict[str, Handler] = {
    "zfs.snapshot.query": snapshot_query,
    "zfs.snapshot.get_instance": get_instance_handler(snapshot_rows, "ZFSSnapshot"),
    "zfs.snapshot.create": snapshot_create,
    "zfs.snapshot.update": snapshot_update,
    "zfs.snapshot.delete": snapshot_delete,
    "zfs.snapshot.clone": snapshot_clone,
    "zfs.snapshot.rollback": snapshot_rollback,
    "zfs.snapshot.hold": _hold(True),
    "zfs.snapshot.release": _hold(False),
    "pool.dataset.snapshot_count": snapshot_count,
    "pool.snapshottask.query": query_handler(task_rows),
    "pool.snapshottask.get_instance": get_instance_handler(task_rows, "PoolSnapshotTask"),
    "pool.snapshottask.create": task_create,
    "pool.snapshottask.update": task_update,
    "pool.snapshottask.delete": task_delete,
    "pool.snapshottask.run": task_run,
}
