"""``sharing.smb.*`` and ``sharing.nfs.*``: shares on dataset paths, with the middleware's checks."""

from __future__ import annotations

import copy
import errno
import ipaddress
from typing import Any, Final

from truenas_mcp.sim.api import CallContext, Handler
from truenas_mcp.sim.errors import CallError, ValidationErrors
from truenas_mcp.sim.services import storage_model as sm
from truenas_mcp.sim.services.common import arg, emit, get_instance_handler, query_handler, require, world
from truenas_mcp.sim.services.demo_rows import nfs_share, smb_share

SMB_EVENT: Final = "sharing.smb.query"
NFS_EVENT: Final = "sharing.nfs.query"
_RESERVED_SMB_NAMES: Final = frozenset({"global", "printers", "homes"})


def _dataset_of(ctx: CallContext, path: str) -> str | None:
    """The dataset a ``/mnt/...`` path lives on (longest matching mountpoint), if any."""
    if not path.startswith("/mnt/"):
        return None
    records = sm.dataset_records(world(ctx))
    rel = path[len("/mnt/") :].rstrip("/")
    while rel:
        if rel in records:
            return rel
        rel = rel.rsplit("/", 1)[0] if "/" in rel else ""
    return None


def _path_exists(ctx: CallContext, path: str) -> bool:
    """What the simulated filesystem holds: dataset mountpoints, shared paths and home directories."""
    w = world(ctx)
    clean = path.rstrip("/")
    if clean.startswith("/mnt/") and clean[len("/mnt/") :] in sm.dataset_records(w):
        return True
    shared = (row.get("path") for table in ("sharing.smb", "sharing.nfs") for row in w.table(table))
    homes = (row.get("home") for row in w.table("user"))
    return any(clean == str(known or "").rstrip("/") for known in [*shared, *homes])


def _require_existing_path(ctx: CallContext, path: str) -> None:
    # ``filesystem.stat`` of the share path before validation: a missing path is a CallError, not a
    # validation error, on the box.
    if path.startswith("/mnt/") and _dataset_of(ctx, path) is not None and not _path_exists(ctx, path):
        raise CallError(f"Path {path} not found", errno.ENOENT)


def _path_locked(ctx: CallContext, path: str) -> bool:
    dataset = _dataset_of(ctx, path)
    if dataset is None:
        return False
    records = sm.dataset_records(world(ctx))
    enc = records[dataset].get("encryption")
    if enc is None:
        return False
    return bool((records.get(enc["root"], {}).get("encryption") or {}).get("locked"))


def _rows(ctx: CallContext, table: str) -> list[dict[str, Any]]:
    rows = copy.deepcopy(world(ctx).table(table))
    for row in rows:
        row["locked"] = _path_locked(ctx, row["path"])
    return rows


def smb_rows(ctx: CallContext, options: dict[str, Any]) -> list[dict[str, Any]]:
    return _rows(ctx, "sharing.smb")


def nfs_rows(ctx: CallContext, options: dict[str, Any]) -> list[dict[str, Any]]:
    return _rows(ctx, "sharing.nfs")


def _check_path(ctx: CallContext, path: str, attr: str, verrors: ValidationErrors) -> None:
    if not path.startswith("/mnt/") or path.rstrip("/").count("/") < 2:
        verrors.add(attr, "The path must reside within a pool mount point")
    elif _dataset_of(ctx, path) is None:
        verrors.add(attr, f"{path}: path does not exist", errno.ENOENT)


def _validate_smb(ctx: CallContext, data: dict[str, Any], ident: int | None, prefix: str) -> ValidationErrors:
    verrors = ValidationErrors()
    name = data.get("name", "")
    if not name or any(c in name for c in '\\/:*?"<>|%'):
        verrors.add(f"{prefix}.name", "Share name contains invalid characters")
    elif name.lower() in _RESERVED_SMB_NAMES and not (name.lower() == "homes" and data.get("home")):
        verrors.add(f"{prefix}.name", f"{name} is a reserved section name, please select another one")
    for other in world(ctx).table("sharing.smb"):
        if other["id"] != ident and other["name"].casefold() == name.casefold():
            verrors.add(f"{prefix}.name", "Share with this name already exists.", errno.EEXIST)
        if other["id"] != ident and data.get("home") and other.get("home"):
            verrors.add(f"{prefix}.home", "Only one share is allowed to be a home share.")
    _check_path(ctx, data.get("path", ""), f"{prefix}.path", verrors)
    if data.get("timemachine_quota") and not data.get("timemachine") and data.get("purpose") != "TIMEMACHINE":
        verrors.add(f"{prefix}.timemachine_quota", "Only applies to time machine shares")
    return verrors


async def smb_create(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    w = world(ctx)
    data = arg(params, 0, {})
    purpose = data.get("purpose", "DEFAULT_SHARE")
    merged = {**smb_share(0, data.get("name", ""), data.get("path", ""), "", purpose), **data}
    merged["timemachine"] = merged["timemachine"] or purpose == "TIMEMACHINE"
    _require_existing_path(ctx, merged["path"])
    _validate_smb(ctx, merged, None, "sharingsmb_create").check()
    merged["id"] = w.next_id("sharing.smb")
    w.table("sharing.smb").append(merged)
    emit(ctx, SMB_EVENT, "added", merged["id"])
    return next(row for row in smb_rows(ctx, {}) if row["id"] == merged["id"])


async def smb_update(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    w = world(ctx)
    ident = arg(params, 0)
    row = require(w.find("sharing.smb", "id", ident), "SharingSMB", ident)
    merged = {**copy.deepcopy(row), **arg(params, 1, {}), "id": ident}
    if merged["path"] != row["path"]:
        _require_existing_path(ctx, merged["path"])
    _validate_smb(ctx, merged, ident, "sharingsmb_update").check()
    row.update(merged)
    emit(ctx, SMB_EVENT, "changed", ident)
    return next(r for r in smb_rows(ctx, {}) if r["id"] == ident)


def _validate_nfs(ctx: CallContext, data: dict[str, Any], ident: int | None, prefix: str) -> ValidationErrors:
    verrors = ValidationErrors()
    _check_path(ctx, data.get("path", ""), f"{prefix}.path", verrors)
    for index, network in enumerate(data.get("networks", [])):
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            verrors.add(f"{prefix}.networks.{index}", f"{network!r}: invalid network")
    if data.get("mapall_user") and data.get("maproot_user"):
        verrors.add(f"{prefix}.mapall_user", "maproot_user disqualifies mapall_user")
    for key in ("maproot_user", "mapall_user"):
        if data.get(key) and world(ctx).find("user", "username", data[key]) is None:
            verrors.add(f"{prefix}.{key}", f"User {data[key]} not found", errno.ENOENT)
    for key in ("maproot_group", "mapall_group"):
        if data.get(key) and world(ctx).find("group", "group", data[key]) is None:
            verrors.add(f"{prefix}.{key}", f"Group {data[key]} not found", errno.ENOENT)
    for other in world(ctx).table("sharing.nfs"):
        same_clients = set(other["networks"]) == set(data.get("networks", [])) and set(other["hosts"]) == set(
            data.get("hosts", [])
        )
        if other["id"] != ident and other["path"] == data.get("path") and same_clients:
            verrors.add(
                f"{prefix}.path", "Export conflict: another share exports this path to the same clients"
            )
    return verrors


async def nfs_create(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    w = world(ctx)
    data = arg(params, 0, {})
    merged = {**nfs_share(0, data.get("path", ""), ""), **data}
    _validate_nfs(ctx, merged, None, "sharingnfs_create").check()
    merged["id"] = w.next_id("sharing.nfs")
    w.table("sharing.nfs").append(merged)
    emit(ctx, NFS_EVENT, "added", merged["id"])
    return next(row for row in nfs_rows(ctx, {}) if row["id"] == merged["id"])


async def nfs_update(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    w = world(ctx)
    ident = arg(params, 0)
    row = require(w.find("sharing.nfs", "id", ident), "SharingNFS", ident)
    merged = {**copy.deepcopy(row), **arg(params, 1, {}), "id": ident}
    _validate_nfs(ctx, merged, ident, "sharingnfs_update").check()
    row.update(merged)
    emit(ctx, NFS_EVENT, "changed", ident)
    return next(r for r in nfs_rows(ctx, {}) if r["id"] == ident)


def _delete(table: str, event: str, verbose: str) -> Handler:
    async def handler(ctx: CallContext, params: list[Any]) -> bool:
        w = world(ctx)
        ident = arg(params, 0)
        require(w.find(table, "id", ident), verbose, ident)
        w.tables[table] = [row for row in w.table(table) if row["id"] != ident]
        emit(ctx, event, "removed", ident)
        return True

    return handler


HANDLERS: dict[str, Handler] = {
    "sharing.smb.query": query_handler(smb_rows, legacy=True),
    "sharing.smb.get_instance": get_instance_handler(smb_rows, "SharingSMB"),
    "sharing.smb.create": smb_create,
    "sharing.smb.update": smb_update,
    "sharing.smb.delete": _delete("sharing.smb", SMB_EVENT, "SharingSMB"),
    "sharing.nfs.query": query_handler(nfs_rows),
    "sharing.nfs.get_instance": get_instance_handler(nfs_rows, "SharingNFS"),
    "sharing.nfs.create": nfs_create,
    "sharing.nfs.update": nfs_update,
    "sharing.nfs.delete": _delete("sharing.nfs", NFS_EVENT, "SharingNFS"),
}
