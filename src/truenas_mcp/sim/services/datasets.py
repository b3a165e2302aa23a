"""``pool.dataset.*``: the dataset tree with CRUD, inherited properties and computed space accounting."""

from __future__ import annotations

import errno
import re
from typing import Any, Final

from truenas_mcp.sim import filters
from truenas_mcp.sim.api import CallContext, Handler
from truenas_mcp.sim.errors import CallError, ValidationErrors
from truenas_mcp.sim.services import storage_model as sm
from truenas_mcp.sim.services.common import arg, emit, lookup, world

VERBOSE: Final = "PoolDataset"
_NAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\- ]*$")
_ZFS_MAXNAMELEN: Final = 255
# Payload key → ZFS property; these are sent in upper case and stored the way ``zfs get`` shows them.
_ENUM_PROPS: Final = (
    "aclmode",
    "acltype",
    "atime",
    "casesensitivity",
    "checksum",
    "compression",
    "deduplication",
    "exec",
    "readonly",
    "snapdev",
    "snapdir",
    "sync",
)
_INT_PROPS: Final = (
    "quota",
    "refquota",
    "reservation",
    "refreservation",
    "copies",
    "special_small_block_size",
)
_USER_PROPS: Final = (
    "comments",
    "managedby",
    "quota_warning",
    "quota_critical",
    "refquota_warning",
    "refquota_critical",
)
_CREATE_ONLY: Final = ("casesensitivity",)
_SIZE_SUFFIX: Final = {"K": 1024, "M": 1024**2, "G": 1024**3}


def dataset_rows(ctx: CallContext, options: dict[str, Any]) -> list[dict[str, Any]]:
    """All datasets, each with nested ``children`` (``extra.flat``/``extra.retrieve_children`` honoured)."""
    w = world(ctx)
    records = sm.dataset_records(w)
    extra = options.get("extra") or {}
    flat = extra.get("flat", True)
    with_children = extra.get("retrieve_children", True)
    names = sorted(records) if flat else sorted(n for n in records if "/" not in n)
    rows = []
    for name in names:
        row = sm.render_dataset(w, name, records)
        if not with_children:
            row["children"] = []
        rows.append(row)
    return rows


async def dataset_query(ctx: CallContext, params: list[Any]) -> Any:
    options = arg(params, 1, {}) or {}
    return filters.query(
        dataset_rows(ctx, options),
        arg(params, 0, []),
        options,
        filters_name="query-filters",
        options_name="query-options",
    )


async def dataset_get_instance(ctx: CallContext, params: list[Any]) -> Any:
    options = dict(arg(params, 1, {}) or {})
    return lookup(dataset_rows(ctx, options), "id", arg(params, 0), VERBOSE, options)


def _recordsize(value: str) -> str | None:
    text = value.upper().rstrip("B")
    if text.isdigit():
        return text
    if text and text[-1] in _SIZE_SUFFIX and text[:-1].isdigit():
        return str(int(text[:-1]) * _SIZE_SUFFIX[text[-1]])
    return None


def _collect_props(
    data: dict[str, Any], prefix: str, verrors: ValidationErrors
) -> tuple[dict[str, str], list[str]]:
    """Turn an API payload into ``(properties to set, properties to inherit)``, validating as it goes."""
    to_set: dict[str, str] = {}
    to_inherit: list[str] = []
    for key in (*_ENUM_PROPS, *_INT_PROPS, *_USER_PROPS, "recordsize"):
        if key not in data:
            continue
        value = data[key]
        if value == "INHERIT":
            to_inherit.append(key)
            continue
        if key in _ENUM_PROPS:
            to_set[key] = str(value).lower()
        elif key in _INT_PROPS:
            if value is None:
                to_set[key] = "0"
            elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
                verrors.add(f"{prefix}.{key}", "Must be a non-negative integer")
            elif key == "copies" and value not in (1, 2, 3):
                verrors.add(f"{prefix}.{key}", "Must be 1, 2 or 3")
            elif key in ("quota", "refquota") and 0 < value < 1024**3:
                verrors.add(f"{prefix}.{key}", "You must specify at least 1 GiB")
            else:
                to_set[key] = str(value)
        elif key == "recordsize":
            raw = _recordsize(str(value))
            if raw is None or int(raw) & (int(raw) - 1) or not 512 <= int(raw) <= 16 * 1024**2:
                verrors.add(f"{prefix}.recordsize", f"{value!r} is not a valid record size")
            else:
                to_set[key] = raw
        else:
            if (
                key != "comments"
                and key != "managedby"
                and not (isinstance(value, int) and 0 <= value <= 100)
            ):
                verrors.add(f"{prefix}.{key}", "Must be a percentage between 0 and 100")
            else:
                to_set[key] = str(value)
    return to_set, to_inherit


def _check_user_properties(
    items: list[dict[str, Any]], attr: str, verrors: ValidationErrors
) -> dict[str, str]:
    out: dict[str, str] = {}
    for index, item in enumerate(items):
        key = item.get("key", "")
        if ":" not in key:
            verrors.add(
                f"{attr}.{index}.key", "User property name must contain a colon (e.g. 'org.example:name')"
            )
        elif "value" in item:
            out[key] = item["value"]
    return out


async def dataset_create(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    w = world(ctx)
    data = arg(params, 0, {})
    prefix = "pool_dataset_create"
    verrors = ValidationErrors()
    name = data.get("name", "")
    kind = data.get("type", "FILESYSTEM")
    records = sm.dataset_records(w)
    pool = name.split("/", 1)[0]
    parent = sm.parent_name(name)
    if "/" not in name or not all(_NAME_RE.match(part) for part in name.split("/")):
        verrors.add(f"{prefix}.name", "Please provide a valid name of the form <pool>/<dataset>")
    elif len(name) > _ZFS_MAXNAMELEN:
        verrors.add(f"{prefix}.name", f"Dataset name is too long (max {_ZFS_MAXNAMELEN} characters)")
    elif name in records:
        verrors.add(f"{prefix}.name", f"Path {name} already exists", errno.EEXIST)
    elif w.find("pool", "name", pool) is None:
        verrors.add(
            f"{prefix}.name", "Please specify a pool which exists for the dataset/volume to be created"
        )
    elif parent not in records and not data.get("create_ancestors"):
        verrors.add(f"{prefix}.name", f"Parent dataset {parent} does not exist")
    elif parent in records and records[parent]["type"] == "VOLUME":
        verrors.add(f"{prefix}.name", "Parent dataset is a volume: volumes cannot have children")
    if kind == "VOLUME":
        volsize = data.get("volsize")
        if volsize is None:
            verrors.add(f"{prefix}.volsize", "This field is required for VOLUME")
        elif volsize <= 0:
            verrors.add(f"{prefix}.volsize", "Must be greater than 0")
        for key in sm.FS_ONLY:
            if key in data:
                verrors.add(f"{prefix}.{key}", "This field is not valid for VOLUME")
    elif "volsize" in data or "volblocksize" in data:
        verrors.add(f"{prefix}.volsize", "This field is not valid for FILESYSTEM")
    to_set, _ = _collect_props(data, prefix, verrors)
    user_props = _check_user_properties(data.get("user_properties", []), f"{prefix}.user_properties", verrors)
    verrors.check()

    created = w.now()
    missing = [name]
    ancestor = parent
    while ancestor is not None and ancestor not in records:
        missing.append(ancestor)
        ancestor = sm.parent_name(ancestor)
    txg = max((r.get("createtxg", 0) for r in records.values()), default=0)
    encryption = None
    enc_parent = records.get(ancestor or "", {}).get("encryption")
    if data.get("encryption"):
        opts = data.get("encryption_options") or {}
        encryption = {
            "root": name,
            "algorithm": opts.get("algorithm", "AES-256-GCM").lower(),
            "key_format": "passphrase" if opts.get("passphrase") else "hex",
            "locked": False,
        }
    elif enc_parent is not None:
        encryption = {"root": enc_parent["root"]}
    for offset, new_name in enumerate(reversed(missing), start=1):
        is_target = new_name == name
        props = dict(to_set) if is_target else {}
        if is_target and kind == "VOLUME":
            props["volsize"] = str(data["volsize"])
            props["volblocksize"] = _recordsize(data.get("volblocksize", "16K")) or "16384"
        w.table("pool.dataset").append(
            {
                "id": new_name,
                "type": kind if is_target else "FILESYSTEM",
                "props": props,
                "user_properties": user_props if is_target else {},
                "referenced": 0 if kind == "VOLUME" and is_target else 98_304,
                "created": created,
                "createtxg": txg + offset,
                "compressratio": "1.00",
                "sparse": bool(data.get("sparse")) if is_target else False,
                "encryption": encryption
                if is_target
                else ({"root": enc_parent["root"]} if enc_parent else None),
            }
        )
        emit(ctx, "pool.dataset.query", "added", new_name)
    return sm.render_dataset(w, name, sm.dataset_records(w))


async def dataset_update(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    w = world(ctx)
    ident = arg(params, 0)
    data = arg(params, 1, {})
    prefix = "pool_dataset_update"
    records = sm.dataset_records(w)
    if ident not in records:
        raise ValidationErrors([(f"{prefix}.id", f"{ident} dataset does not exist", errno.ENOENT)])
    record = records[ident]
    verrors = ValidationErrors()
    if record["type"] == "VOLUME":
        for key in sm.FS_ONLY:
            if key in data:
                verrors.add(f"{prefix}.{key}", "This field is not valid for VOLUME")
        if "volsize" in data:
            current = int(record["props"].get("volsize", "0"))
            if data["volsize"] < current and not data.get("force_size"):
                verrors.add(
                    f"{prefix}.volsize", "You cannot shrink a zvol from GUI as this may lead to data loss."
                )
    elif "volsize" in data:
        verrors.add(f"{prefix}.volsize", "This field is not valid for FILESYSTEM")
    if "/" not in ident:
        for key in ("quota", "refquota"):
            if key in data and data[key] not in (None, 0):
                verrors.add(f"{prefix}.{key}", "Quotas on a pool's root dataset are not allowed")
    to_set, to_inherit = _collect_props(data, prefix, verrors)
    for key in to_inherit:
        if "/" not in ident and key in sm.FS_DEFAULTS:
            verrors.add(f"{prefix}.{key}", "INHERIT is not allowed on a pool's root dataset")
    user_props = _check_user_properties(
        data.get("user_properties_update", []), f"{prefix}.user_properties_update", verrors
    )
    verrors.check()

    record["props"].update(to_set)
    for key in to_inherit:
        record["props"].pop(key, None)
    if "volsize" in data and record["type"] == "VOLUME":
        record["props"]["volsize"] = str(data["volsize"])
    for item in data.get("user_properties_update", []):
        if item.get("remove"):
            record["user_properties"].pop(item["key"], None)
    record["user_properties"].update(user_props)
    emit(ctx, "pool.dataset.query", "changed", ident)
    return sm.render_dataset(w, ident, sm.dataset_records(w))


def remove_attachments(ctx: CallContext, names: list[str]) -> None:
    """Delete the shares that live on removed datasets, as ``pool.dataset.delete``'s delegates do."""
    w = world(ctx)
    paths = [f"/mnt/{name}" for name in names]
    for table, event in (("sharing.smb", "sharing.smb.query"), ("sharing.nfs", "sharing.nfs.query")):
        keep = []
        for share in w.table(table):
            if any(share["path"] == p or share["path"].startswith(p + "/") for p in paths):
                emit(ctx, event, "removed", share["id"])
            else:
                keep.append(share)
        w.tables[table] = keep


async def dataset_delete(ctx: CallContext, params: list[Any]) -> bool:
    w = world(ctx)
    ident = arg(params, 0)
    options = arg(params, 1, {})
    recursive = bool(options.get("recursive"))
    records = sm.dataset_records(w)
    # plugins/pool_/dataset.py do_delete looks for children before it looks the dataset up.
    if not recursive and any(str(name).startswith(f"{ident}/") for name in records):
        raise CallError(
            f"Failed to delete dataset: cannot destroy {ident!r}: filesystem has children", errno.ENOTEMPTY
        )
    if ident not in records:
        raise ValidationErrors([("id", f"{ident} dataset does not exist", errno.ENOENT)])
    children = sm.subtree(records, ident)
    root = "/" not in ident
    doomed = sorted(children) if root else [ident, *children]
    for app in w.table("app"):
        if any(f"/mnt/{n}" in str(app.get("active_workloads", {}).get("volumes", [])) for n in doomed):
            raise CallError(f"Dataset {ident} is in use by app {app['name']}", errno.EBUSY)
    remove_attachments(ctx, doomed)
    w.tables["zfs.snapshot"] = [s for s in w.table("zfs.snapshot") if s["dataset"] not in doomed]
    w.tables["pool.dataset"] = [r for r in w.table("pool.dataset") if r["id"] not in doomed]
    for name in sorted(doomed, reverse=True):
        emit(ctx, "pool.dataset.query", "removed", name)
    return True


def _zfs_dataset(row: dict[str, Any]) -> dict[str, Any]:
    """A ``zfs.dataset.query`` entry: the ZFS view of a dataset, properties grouped under ``properties``."""
    properties = {
        key: value
        for key, value in row.items()
        if isinstance(value, dict) and {"value", "rawvalue", "parsed"} <= value.keys()
    }
    return {
        "id": row["id"],
        "name": row["name"],
        "pool": row["pool"],
        "type": row["type"],
        "encrypted": row.get("encrypted", False),
        "encryption_root": row.get("encryption_root"),
        "key_loaded": row.get("key_loaded", False),
        "properties": properties,
        "user_properties": dict(row.get("user_properties") or {}),
    }


async def zfs_dataset_query(ctx: CallContext, params: list[Any]) -> Any:
    """The private ``zfs.dataset.query`` a full administrator may call (plain ``filter_list`` semantics)."""
    rows = [_zfs_dataset(row) for row in dataset_rows(ctx, {})]
    return filters.query(rows, arg(params, 0, []), arg(params, 1, {}) or {})


HANDLERS: dict[str, Handler] = {
    "zfs.dataset.query": zfs_dataset_query,
    "pool.dataset.query": dataset_query,
    "pool.dataset.get_instance": dataset_get_instance,
    "pool.dataset.create": dataset_create,
    "pool.dataset.update": dataset_update,
    "pool.dataset.delete": dataset_delete,
}
