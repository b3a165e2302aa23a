"""``pool.dataset.details``: every dataset with the shares, VMs, apps and tasks that use it.

Follows ``plugins/pool_/dataset_details.py``: a flat ``pool.dataset.query`` (with snapshot counts), each
dataset given what its mount says (atime, case sensitivity, read-only) and what consumes it. Shares match
by path, VMs by zvol, apps by host-path volumes under ``/mnt``, and task counts by the PUSH tasks whose
path contains the dataset's mountpoint, as the real method counts them.
"""

from __future__ import annotations

import pathlib
from typing import Any

from truenas_mcp.sim.api import CallContext, Handler
from truenas_mcp.sim.services.common import world


def _value(dataset: dict[str, Any], prop: str) -> Any:
    entry = dataset.get(prop)
    return entry.get("value") if isinstance(entry, dict) else entry


def _push_count(dataset: dict[str, Any], tasks: list[dict[str, Any]]) -> int:
    mountpoint = dataset.get("mountpoint")
    if not mountpoint:
        return 0
    return sum(
        1
        for task in tasks
        if task.get("direction") == "PUSH"
        and pathlib.Path(mountpoint).is_relative_to(task.get("path") or "/nonexistent")
    )


async def dataset_details(ctx: CallContext, params: list[Any]) -> list[dict[str, Any]]:
    w = world(ctx)
    datasets = await ctx.sim.call(
        ctx,
        "pool.dataset.query",
        [[], {"extra": {"flat": True, "snapshots_count": True, "retrieve_user_props": True}}],
    )
    smb = w.table("sharing.smb")
    nfs = w.table("sharing.nfs")
    vm_names = {vm["id"]: vm["name"] for vm in w.table("vm")}
    disks = [
        {**device, "vm_name": vm_names.get(vm["id"], "")}
        for vm in w.table("vm")
        for device in vm.get("devices", [])
        if device["attributes"].get("dtype") in ("DISK", "RAW")
    ]
    for dataset in datasets:
        mountpoint = dataset.get("mountpoint")
        dataset["atime"] = _value(dataset, "atime") != "OFF"
        dataset["casesensitive"] = _value(dataset, "casesensitivity") != "INSENSITIVE"
        dataset["readonly"] = _value(dataset, "readonly") == "ON"
        dataset["thick_provisioned"] = any(
            (_value(dataset, "reservation") or 0, _value(dataset, "refreservation") or 0)
        )
        dataset["nfs_shares"] = [
            {"enabled": s["enabled"], "path": s["path"]}
            for s in nfs
            if mountpoint and s["path"] == mountpoint
        ]
        dataset["smb_shares"] = [
            {"enabled": s["enabled"], "path": s["path"], "share_name": s["name"]}
            for s in smb
            if mountpoint and s["path"] == mountpoint
        ]
        dataset["iscsi_shares"] = []
        dataset["vms"] = [
            {"name": d["vm_name"], "path": d["attributes"]["path"]}
            for d in disks
            if d["attributes"].get("path") in (f"/dev/zvol/{dataset['id']}", mountpoint)
        ]
        dataset["apps"] = [
            {"name": app["name"], "path": volume["source"]}
            for app in w.table("app")
            for volume in app.get("active_workloads", {}).get("volumes", [])
            if volume.get("source", "").startswith("/mnt/")
            and not volume["source"].startswith("/mnt/.ix-")
            and mountpoint
            and pathlib.Path(volume["source"]).is_relative_to(mountpoint)
        ]
        dataset["virt_instances"] = []
        dataset["replication_tasks_count"] = sum(
            task["source_datasets"].count(dataset["id"])
            for task in w.table("replication")
            if task.get("direction") == "PUSH"
        )
        dataset["snapshot_tasks_count"] = sum(
            1 for t in w.table("pool.snapshottask") if t["dataset"] == dataset["id"]
        )
        dataset["cloudsync_tasks_count"] = _push_count(dataset, w.table("cloudsync"))
        dataset["rsync_tasks_count"] = _push_count(dataset, w.table("rsynctask"))
    return list(datasets)


HANDLERS: dict[str, Handler] = {"pool.dataset.details": dataset_details}
