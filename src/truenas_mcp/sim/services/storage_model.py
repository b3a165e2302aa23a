"""How datasets, snapshots and pools are stored in the world and rendered as the middleware shows them.

Datasets are stored compactly (the properties set locally, bytes referenced, encryption state) and
rendered on every query: inheritance, ``used``/``available`` and ``children`` are computed from the tree,
so a create, update or delete can never leave a stale derived value behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Final

from truenas_mcp.sim.state import World

# ZFS defaults as a fresh 25.04 pool shows them (``zfs get``), raw values.
FS_DEFAULTS: Final[dict[str, str]] = {
    "aclmode": "discard",
    "acltype": "posix",
    "atime": "on",
    "casesensitivity": "sensitive",
    "checksum": "on",
    "compression": "lz4",
    "copies": "1",
    "deduplication": "off",
    "exec": "on",
    "quota": "0",
    "readonly": "off",
    "recordsize": "131072",
    "refquota": "0",
    "refreservation": "0",
    "reservation": "0",
    "snapdev": "hidden",
    "snapdir": "hidden",
    "special_small_block_size": "0",
    "sync": "standard",
    "xattr": "sa",
}
VOLUME_ONLY: Final = ("volsize", "volblocksize", "sparse")
FS_ONLY: Final = ("aclmode", "acltype", "atime", "casesensitivity", "exec", "quota", "recordsize", "refquota")
FS_ONLY_ALL: Final = (*FS_ONLY, "snapdir", "special_small_block_size", "xattr")
# Properties TrueNAS keeps as ``org.freenas:``/``org.truenas:`` user properties, inherited like ZFS ones.
USER_PROP_STYLE: Final = ("comments", "managedby", "quota_warning", "quota_critical", "refquota_warning")
USER_PROP_DEFAULTS: Final[dict[str, str | None]] = {
    "comments": None,
    "managedby": None,
    "quota_warning": "80",
    "quota_critical": "95",
    "refquota_warning": "80",
    "refquota_critical": "95",
}
NOT_INHERITED: Final = frozenset({"quota", "refquota", "reservation", "refreservation", "volsize"})
_SIZE_PROPS: Final = frozenset(
    {
        "quota",
        "refquota",
        "reservation",
        "refreservation",
        "volsize",
        "special_small_block_size",
        "recordsize",
    }
)
_BOOL_PROPS: Final = frozenset({"readonly", "atime", "exec"})
_UPPER_VALUE: Final = frozenset(
    {
        "aclmode",
        "acltype",
        "casesensitivity",
        "checksum",
        "compression",
        "deduplication",
        "snapdev",
        "snapdir",
        "sync",
        "xattr",
        "atime",
        "exec",
        "readonly",
        "encryption_algorithm",
        "key_format",
        "sparse",
    }
)


def humanize(size: int) -> str:
    """ZFS-style short size (``1.50G``, ``512K``, ``0B``), as ``value`` of a size property."""
    if size < 1024:
        return f"{size}B"
    value = float(size)
    for unit in "KMGTPE":
        value /= 1024
        if value < 1024 or unit == "E":
            text = f"{value:.2f}".rstrip("0").rstrip(".") if value < 10 else f"{value:.3g}"
            return f"{text}{unit}"
    raise AssertionError("unreachable")


def prop(
    raw: str | None, value: str | None, parsed: Any, source: str, source_info: Any = None
) -> dict[str, Any]:
    return {"parsed": parsed, "rawvalue": raw, "value": value, "source": source, "source_info": source_info}


def size_prop(size: int, source: str = "NONE") -> dict[str, Any]:
    return prop(str(size), humanize(size), size, source)


def zfs_prop(name: str, raw: str, source: str, source_info: str | None = None) -> dict[str, Any]:
    """Render one ZFS property as the middleware's ``{parsed, rawvalue, value, source, source_info}``."""
    parsed: Any = raw
    value: str | None = raw.upper() if name in _UPPER_VALUE else raw
    if name in _SIZE_PROPS and raw.isdigit():
        parsed = int(raw)
        value = humanize(parsed)
        if name in ("quota", "refquota", "reservation", "refreservation") and parsed == 0:
            parsed, value = None, None
    elif name in _BOOL_PROPS:
        parsed = raw == "on"
    elif name == "copies":
        parsed = int(raw)
    return prop(raw, value, parsed, source, source_info)


def guid(*parts: str) -> str:
    """A stable 64-bit decimal GUID derived from ``parts`` (no ``hash()``: stable across hash seeds)."""
    digest = hashlib.sha256("\0".join(parts).encode()).digest()
    return str(int.from_bytes(digest[:8], "big") >> 1)


def parent_name(name: str) -> str | None:
    return name.rsplit("/", 1)[0] if "/" in name else None


def dataset_records(world: World) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in world.table("pool.dataset")}


def _resolve(
    name: str, prop_name: str, records: dict[str, dict[str, Any]], defaults: dict[str, str | None]
) -> tuple[str | None, str, str | None]:
    """``(raw value, source, source_info)`` of ``prop_name`` for dataset ``name`` following inheritance."""
    record = records[name]
    if prop_name in record["props"]:
        return record["props"][prop_name], "LOCAL", None
    if prop_name not in NOT_INHERITED:
        ancestor = parent_name(name)
        while ancestor is not None and ancestor in records:
            props = records[ancestor]["props"]
            if prop_name in props:
                return props[prop_name], "INHERITED", ancestor
            ancestor = parent_name(ancestor)
    return defaults.get(prop_name), "DEFAULT", None


def subtree(records: dict[str, dict[str, Any]], name: str) -> list[str]:
    prefix = name + "/"
    return [other for other in records if other.startswith(prefix)]


def snapshot_bytes(world: World, dataset: str) -> int:
    return sum(s["used"] for s in world.table("zfs.snapshot") if s["dataset"] == dataset)


def dataset_used(world: World, records: dict[str, dict[str, Any]], name: str) -> int:
    return sum(records[n]["referenced"] + snapshot_bytes(world, n) for n in [name, *subtree(records, name)])


def pool_row(world: World, pool: str) -> dict[str, Any] | None:
    return world.find("pool", "name", pool)


def usable_fraction(pool: dict[str, Any]) -> float:
    """Share of the pool's raw free space datasets can use: ``zpool`` sizes of RAIDZ vdevs include parity."""
    parity = {"RAIDZ1": 1, "RAIDZ2": 2, "RAIDZ3": 3}
    data = pool.get("topology", {}).get("data", [])
    if not data:
        return 1.0
    vdev = data[0]
    width = len(vdev.get("children", [])) or 1
    return (width - parity[vdev["type"]]) / width if vdev.get("type") in parity else 1.0


def render_dataset(
    world: World, name: str, records: dict[str, dict[str, Any]], depth: int = 0
) -> dict[str, Any]:
    """The ``pool.dataset.query`` row of ``name``; ``children`` are nested rows, as the middleware gives."""
    record = records[name]
    is_volume = record["type"] == "VOLUME"
    out: dict[str, Any] = {
        "id": name,
        "type": record["type"],
        "name": name,
        "pool": name.split("/", 1)[0],
        "encrypted": record.get("encryption") is not None,
        "encryption_root": None,
        "key_loaded": None,
        "locked": False,
        "mountpoint": None if is_volume else f"/mnt/{name}",
    }
    for prop_name, default in FS_DEFAULTS.items():
        if is_volume and prop_name in FS_ONLY_ALL:
            continue
        raw, source, info = _resolve(name, prop_name, records, FS_DEFAULTS)  # type: ignore[arg-type]
        out[prop_name] = zfs_prop(prop_name, raw if raw is not None else default, source, info)
    for prop_name in (
        "comments",
        "managedby",
        "quota_warning",
        "quota_critical",
        "refquota_warning",
        "refquota_critical",
    ):
        if is_volume and prop_name.startswith("quota"):
            continue
        raw, source, info = _resolve(name, prop_name, records, USER_PROP_DEFAULTS)
        parsed: Any = int(raw) if raw is not None and raw.isdigit() else raw
        out[prop_name] = prop(raw, raw, parsed, source, info)
    if is_volume:
        volsize = int(record["props"].get("volsize", "0"))
        out["volsize"] = size_prop(volsize, "LOCAL")
        block = record["props"].get("volblocksize", "16384")
        out["volblocksize"] = prop(block, humanize(int(block)), int(block), "DEFAULT")
        sparse = record.get("sparse", False)
        out["sparse"] = prop("true" if sparse else "false", "true" if sparse else "false", sparse, "NONE")
    used = dataset_used(world, records, name)
    snaps = snapshot_bytes(world, name)
    children_used = used - record["referenced"] - snaps
    pool = pool_row(world, out["pool"])
    free = int((pool["free"] or 0) * usable_fraction(pool)) if pool else 0
    quota = int(record["props"].get("quota", "0"))
    available = max(0, min(free, quota - used)) if quota else free
    out["used"] = size_prop(used)
    out["usedbychildren"] = size_prop(children_used)
    out["usedbydataset"] = size_prop(record["referenced"])
    out["usedbysnapshots"] = size_prop(snaps)
    out["usedbyrefreservation"] = size_prop(0)
    out["available"] = size_prop(available)
    ratio = record.get("compressratio", "1.00")
    out["compressratio"] = prop(ratio, f"{ratio}x", ratio, "NONE")
    created: dt.datetime = record["created"]
    epoch = str(int(created.timestamp()))
    out["creation"] = prop(epoch, created.strftime("%a %b %d %H:%M %Y"), created, "NONE")
    out["origin"] = prop(record.get("origin", ""), record.get("origin", ""), record.get("origin", ""), "NONE")
    out["pbkdf2iters"] = prop("0", "0", "0", "DEFAULT")
    out["encryption_algorithm"] = prop("off", "OFF", "off", "DEFAULT")
    out["key_format"] = prop("none", "NONE", "none", "DEFAULT")
    enc = record.get("encryption")
    if enc is not None:
        root = enc["root"]
        root_enc = records[root]["encryption"] if root in records else enc
        source = "LOCAL" if root == name else "INHERITED"
        info = None if root == name else root
        algo = root_enc["algorithm"]
        out["encryption_algorithm"] = prop(algo, algo.upper(), algo, source, info)
        out["key_format"] = prop(
            root_enc["key_format"], root_enc["key_format"].upper(), root_enc["key_format"], source, info
        )
        iters = "350000" if root_enc["key_format"] == "passphrase" else "0"
        out["pbkdf2iters"] = prop(iters, iters, iters, source, info)
        out["encryption_root"] = root
        out["locked"] = bool(root_enc.get("locked"))
        out["key_loaded"] = not out["locked"]
        if out["locked"]:
            out["mountpoint"] = None
    out["user_properties"] = {
        key: prop(value, value, value, "LOCAL")
        for key, value in sorted(record.get("user_properties", {}).items())
    }
    direct = sorted(n for n in records if parent_name(n) == name)
    out["children"] = [render_dataset(world, child, records, depth + 1) for child in direct]
    return out


def render_snapshot(world: World, snap: dict[str, Any]) -> dict[str, Any]:
    """A ``zfs.snapshot.query`` row (legacy shape: ``properties`` as ZFS property objects)."""
    created: dt.datetime = snap["created"]
    referenced = snap["referenced"]
    return {
        "id": snap["id"],
        "name": snap["id"],
        "pool": snap["dataset"].split("/", 1)[0],
        "type": "SNAPSHOT",
        "snapshot_name": snap["id"].split("@", 1)[1],
        "dataset": snap["dataset"],
        "createtxg": str(snap["createtxg"]),
        "holds": {tag: 1 for tag in snap.get("holds", [])},
        "properties": {
            "creation": prop(
                str(int(created.timestamp())), created.strftime("%a %b %d %H:%M %Y"), created, "NONE"
            ),
            "used": size_prop(snap["used"]),
            "referenced": size_prop(referenced),
            "written": size_prop(snap["used"]),
            "userrefs": prop(
                str(len(snap.get("holds", []))),
                str(len(snap.get("holds", []))),
                str(len(snap.get("holds", []))),
                "NONE",
            ),
            "guid": prop(guid(snap["id"]), guid(snap["id"]), guid(snap["id"]), "NONE"),
            "clones": prop(
                ",".join(snap.get("clones", [])),
                ",".join(snap.get("clones", [])),
                ",".join(snap.get("clones", [])),
                "NONE",
            ),
        },
        "retention": snap.get("retention"),
    }


def vdev_stats(size: int, allocated: int, errors: tuple[int, int, int] = (0, 0, 0)) -> dict[str, Any]:
    read, write, checksum = errors
    return {
        "timestamp": 4_113_029_117_420,
        "read_errors": read,
        "write_errors": write,
        "checksum_errors": checksum,
        "ops": [0, 1_841_203, 2_994_051, 0, 0, 12_840, 0],
        "bytes": [0, 96_135_249_920, 201_486_942_208, 0, 0, 1_220_608, 0],
        "size": size,
        "allocated": allocated,
        "fragmentation": 3,
        "self_healed": 0,
        "configured_ashift": 12,
        "logical_ashift": 9,
        "physical_ashift": 12,
    }


def disk_vdev(
    pool: str, disk: str, size: int, status: str = "ONLINE", errors: tuple[int, int, int] = (0, 0, 0)
) -> dict[str, Any]:
    uuid = guid(pool, disk, "partuuid")
    part = f"{uuid[:8]}-{uuid[8:12]}-4{uuid[12:15]}-a{uuid[15:18]}-0c{uuid[:10]}"
    return {
        "name": part,
        "type": "DISK",
        "path": f"/dev/disk/by-partuuid/{part}",
        "guid": guid(pool, disk),
        "status": status,
        "stats": vdev_stats(size, 0, errors),
        "children": [],
        "device": f"{disk}1",
        "disk": disk,
        "unavail_disk": None,
    }


def group_vdev(
    pool: str,
    kind: str,
    index: int,
    disks: list[dict[str, Any]],
    size: int,
    allocated: int,
    status: str = "ONLINE",
) -> dict[str, Any]:
    return {
        "name": f"{kind.lower()}-{index}",
        "type": kind,
        "path": None,
        "guid": guid(pool, kind, str(index)),
        "status": status,
        "stats": vdev_stats(size, allocated),
        "children": disks,
        "unavail_disk": None,
    }
