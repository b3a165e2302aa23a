"""Demo storage: disks, the healthy ``tank`` and degraded ``backup`` pools, datasets, snapshots and tasks."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any, Final

from truenas_mcp.sim.services import storage_model as sm
from truenas_mcp.sim.state import World

BASE_TIME: Final = dt.datetime(2025, 8, 14, 9, 30, 0, tzinfo=dt.UTC)
TIB: Final = 1024**4
GIB: Final = 1024**3


def seed_storage(world: World, rng: random.Random) -> None:
    """Add the demo's disks, pools, dataset tree, snapshots, snapshot/replication/cloud sync tasks."""
    _disks(world, rng)
    _pools(world)
    _datasets(world)
    _snapshots(world, rng)
    _tasks(world)


def _disks(world: World, rng: random.Random) -> None:
    models = [("sd" + c, "WDC WD80EFZZ-68BTXN0", 8_001_563_222_016, 5400, "tank") for c in "abcdef"]
    models += [("sdg", "ST4000VN006-3CW104", 4_000_787_030_016, 5400, "backup")]
    models += [("sdh", "ST4000VN006-3CW104", 4_000_787_030_016, 5400, "backup")]
    models += [("nvme0n1", "Samsung SSD 980 500GB", 500_107_862_016, 0, "boot-pool")]
    for number, (name, model, size, rpm, pool) in enumerate(models):
        serial = (
            "WD-CA" if model.startswith("WDC") else "ZW6" if model.startswith("ST") else "S64DNX0T"
        ) + "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTVWXYZ") for _ in range(7))
        nvme = name.startswith("nvme")
        world.table("disk").append(
            {
                "identifier": f"{{serial_lunid}}{serial}_5000c500{rng.randint(10**7, 10**8 - 1)}",
                "name": name,
                "subsystem": "nvme" if nvme else "scsi",
                "number": 66304 + number * 16 if not nvme else 66048,
                "serial": serial,
                "lunid": None if nvme else f"5000c500{rng.randint(10**7, 10**8 - 1)}",
                "size": size,
                "description": "",
                "transfermode": "Auto",
                "hddstandby": "ALWAYS ON",
                "advpowermgmt": "DISABLED",
                "togglesmart": True,
                "smartoptions": "",
                "expiretime": None,
                "critical": None,
                "difference": None,
                "informational": None,
                "model": model,
                "rotationrate": rpm or None,
                "type": "SSD" if rpm == 0 else "HDD",
                "zfs_guid": sm.guid(pool, name),
                "bus": "NVME" if nvme else "ATA",
                "devname": name,
                "enclosure": {"number": 0, "slot": number},
                "supports_smart": True,
                "pool": pool,
                "passwd": "",
                "kmip_uid": None,
            }
        )


def _pools(world: World) -> None:
    tank_disks = [sm.disk_vdev("tank", f"sd{c}", 8_001_561_821_184) for c in "abcdef"]
    tank_size = 47_962_411_204_608
    tank_alloc = 19_381_964_095_488
    world.table("pool").append(
        {
            "id": 1,
            "name": "tank",
            "guid": sm.guid("tank"),
            "status": "ONLINE",
            "path": "/mnt/tank",
            "scan": {
                "function": "SCRUB",
                "state": "FINISHED",
                "start_time": BASE_TIME - dt.timedelta(days=11, hours=9, minutes=30),
                "end_time": BASE_TIME - dt.timedelta(days=11, hours=2, minutes=12),
                "percentage": 100.0,
                "bytes_to_process": 19_205_118_451_712,
                "bytes_processed": 19_205_118_451_712,
                "bytes_issued": 19_205_118_451_712,
                "pause": None,
                "errors": 0,
                "total_secs": 26_280,
            },
            # No RAIDZ expansion ever ran: the middleware still reports the (empty) expansion status.
            "expand": {
                "state": None,
                "expanding_vdev": None,
                "start_time": None,
                "end_time": None,
                "bytes_to_reflow": 0,
                "bytes_reflowed": 0,
                "waiting_for_resilver": 0,
                "total_secs": 0,
                "percentage": 0.0,
            },
            "is_upgraded": True,
            "healthy": True,
            "warning": False,
            "status_code": "OK",
            "status_detail": None,
            "size": tank_size,
            "allocated": tank_alloc,
            "free": tank_size - tank_alloc,
            "freeing": 0,
            "dedup_table_quota": "auto",
            "dedup_table_size": 0,
            "fragmentation": "4",
            "size_str": str(tank_size),
            "allocated_str": str(tank_alloc),
            "free_str": str(tank_size - tank_alloc),
            "freeing_str": "0",
            "autotrim": {"parsed": "off", "rawvalue": "off", "source": "DEFAULT", "value": "off"},
            "topology": {
                "data": [sm.group_vdev("tank", "RAIDZ2", 0, tank_disks, tank_size, tank_alloc)],
                "log": [],
                "cache": [],
                "spare": [],
                "special": [],
                "dedup": [],
            },
        }
    )
    faulted = sm.disk_vdev("backup", "sdh", 4_000_785_104_896, status="FAULTED", errors=(3, 127, 0))
    backup_disks = [sm.disk_vdev("backup", "sdg", 4_000_785_104_896), faulted]
    backup_size = 3_985_729_650_688
    backup_alloc = 1_622_913_417_216
    status_detail = (
        "One or more devices are faulted in response to persistent errors.\n\tSufficient replicas exist for "
        "the pool to continue functioning in a degraded state."
    )
    world.table("pool").append(
        {
            **world.table("pool")[0],
            "id": 2,
            "name": "backup",
            "guid": sm.guid("backup"),
            "status": "DEGRADED",
            "path": "/mnt/backup",
            "scan": {
                "function": "SCRUB",
                "state": "FINISHED",
                "start_time": BASE_TIME - dt.timedelta(days=4, hours=8),
                "end_time": BASE_TIME - dt.timedelta(days=4, hours=5, minutes=41),
                "percentage": 100.0,
                "bytes_to_process": 1_618_240_831_488,
                "bytes_processed": 1_618_240_831_488,
                "bytes_issued": 1_618_240_831_488,
                "pause": None,
                "errors": 0,
                "total_secs": 8_340,
            },
            "healthy": False,
            "warning": False,
            "status_code": "FAULTED_DEV_R",
            "status_detail": status_detail,
            "size": backup_size,
            "allocated": backup_alloc,
            "free": backup_size - backup_alloc,
            "fragmentation": "1",
            "size_str": str(backup_size),
            "allocated_str": str(backup_alloc),
            "free_str": str(backup_size - backup_alloc),
            "topology": {
                "data": [
                    sm.group_vdev("backup", "MIRROR", 0, backup_disks, backup_size, backup_alloc, "DEGRADED")
                ],
                "log": [],
                "cache": [],
                "spare": [],
                "special": [],
                "dedup": [],
            },
        }
    )


# (name, type, local props, referenced bytes, days old, extra)
_DATASETS: Final[list[tuple[str, str, dict[str, str], int, int, dict[str, Any]]]] = [
    (
        "tank",
        "FILESYSTEM",
        {"compression": "lz4", "atime": "off", "aclmode": "passthrough", "acltype": "nfsv4"},
        196_608,
        612,
        {},
    ),
    (
        "tank/media",
        "FILESYSTEM",
        {"recordsize": "1048576", "comments": "Movies, series and music (Plex library)"},
        1_258_291_200,
        610,
        {},
    ),
    ("tank/media/movies", "FILESYSTEM", {}, 6_871_947_673_600, 610, {"compressratio": "1.01"}),
    ("tank/media/tv", "FILESYSTEM", {}, 4_123_168_604_160, 610, {"compressratio": "1.01"}),
    (
        "tank/media/music",
        "FILESYSTEM",
        {"recordsize": "131072"},
        412_316_860_416,
        540,
        {"compressratio": "1.02"},
    ),
    ("tank/home", "FILESYSTEM", {"compression": "zstd"}, 229_376, 612, {}),
    (
        "tank/home/alice",
        "FILESYSTEM",
        {"quota": str(500 * GIB)},
        188_978_561_024,
        600,
        {"compressratio": "1.37"},
    ),
    (
        "tank/home/bob",
        "FILESYSTEM",
        {"quota": str(250 * GIB)},
        222_264_557_568,
        600,
        {"compressratio": "1.21"},
    ),
    (
        "tank/documents",
        "FILESYSTEM",
        {"compression": "zstd", "comments": "Scanned paperwork and invoices"},
        61_203_283_968,
        598,
        {
            "compressratio": "1.64",
            "encryption": {
                "root": "tank/documents",
                "algorithm": "aes-256-gcm",
                "key_format": "passphrase",
                "locked": False,
            },
        },
    ),
    ("tank/backups", "FILESYSTEM", {}, 180_224, 590, {}),
    (
        "tank/backups/timemachine",
        "FILESYSTEM",
        {"quota": str(2 * TIB)},
        1_187_558_965_248,
        590,
        {"compressratio": "1.08"},
    ),
    (
        "tank/vault",
        "FILESYSTEM",
        {"comments": "Offline tax archive, unlock when needed"},
        33_554_432_000,
        402,
        {
            "encryption": {
                "root": "tank/vault",
                "algorithm": "aes-256-gcm",
                "key_format": "passphrase",
                "locked": True,
            }
        },
    ),
    ("tank/vms", "FILESYSTEM", {}, 163_840, 300, {}),
    (
        "tank/vms/homeassistant",
        "VOLUME",
        {"volsize": str(32 * GIB), "volblocksize": "16384"},
        14_495_514_624,
        300,
        {"compressratio": "1.43"},
    ),
    ("backup", "FILESYSTEM", {"compression": "zstd", "atime": "off"}, 196_608, 420, {}),
    ("backup/tank-replica", "FILESYSTEM", {"readonly": "on"}, 180_224, 420, {}),
    ("backup/tank-replica/documents", "FILESYSTEM", {}, 59_768_045_568, 420, {"compressratio": "1.64"}),
    ("backup/tank-replica/home", "FILESYSTEM", {}, 398_458_880_000, 420, {"compressratio": "1.29"}),
]


def _datasets(world: World) -> None:
    for txg, (name, kind, props, referenced, age, extra) in enumerate(_DATASETS, start=1):
        record: dict[str, Any] = {
            "id": name,
            "type": kind,
            "props": dict(props),
            "user_properties": {},
            "referenced": referenced,
            "created": BASE_TIME - dt.timedelta(days=age, hours=txg),
            "createtxg": 1000 * txg,
            "compressratio": extra.get("compressratio", "1.00"),
            "encryption": extra.get("encryption"),
        }
        world.table("pool.dataset").append(record)
    for record in world.table("pool.dataset"):
        parent = sm.parent_name(record["id"])
        if record["encryption"] is None and parent is not None:
            parent_record = world.find("pool.dataset", "id", parent)
            if parent_record is not None and parent_record["encryption"] is not None:
                record["encryption"] = {"root": parent_record["encryption"]["root"]}


def _snapshots(world: World, rng: random.Random) -> None:
    txg = 4_800_000
    plans = [
        ("tank/documents", 14, 24, "auto-%Y-%m-%d_%H-%M"),
        ("tank/home/alice", 7, 24, "auto-%Y-%m-%d_%H-%M"),
        ("tank/home/bob", 7, 24, "auto-%Y-%m-%d_%H-%M"),
        ("tank/media", 4, 24 * 7, "auto-%Y-%m-%d_%H-%M"),
    ]
    for dataset, count, every_hours, schema in plans:
        for i in range(count, 0, -1):
            when = BASE_TIME.replace(hour=0, minute=0) - dt.timedelta(hours=every_hours * (i - 1))
            txg += rng.randint(800, 3000)
            world.table("zfs.snapshot").append(
                {
                    "id": f"{dataset}@{when.strftime(schema)}",
                    "dataset": dataset,
                    "created": when,
                    "createtxg": txg,
                    "used": rng.randint(2, 900) * 1024 * 1024,
                    "referenced": world.find("pool.dataset", "id", dataset)["referenced"],  # type: ignore[index]
                    "holds": [],
                    "retention": {
                        "datetime": when + dt.timedelta(weeks=2),
                        "source": "periodic_snapshot_task",
                        "periodic_snapshot_task_id": 1 if dataset == "tank/documents" else 2,
                    },
                }
            )
    world.table("zfs.snapshot").append(
        {
            "id": "tank/vms/homeassistant@before-upgrade-2025.8",
            "dataset": "tank/vms/homeassistant",
            "created": BASE_TIME - dt.timedelta(days=3, hours=5),
            "createtxg": txg + 10,
            "used": 1_203_765_248,
            "referenced": 13_958_643_712,
            "holds": [],
            "retention": None,
        }
    )


def _schedule(minute: str, hour: str, dow: str = "*") -> dict[str, str]:
    return {
        "minute": minute,
        "hour": hour,
        "dom": "*",
        "month": "*",
        "dow": dow,
        "begin": "00:00",
        "end": "23:59",
    }


def _tasks(world: World) -> None:
    base = {"recursive": False, "exclude": [], "allow_empty": True, "enabled": True, "vmware_sync": False}
    state = {"state": "FINISHED", "datetime": BASE_TIME.replace(hour=0, minute=0), "warnings": []}
    world.table("pool.snapshottask").extend(
        [
            {
                **base,
                "id": 1,
                "dataset": "tank/documents",
                "lifetime_value": 2,
                "lifetime_unit": "WEEK",
                "naming_schema": "auto-%Y-%m-%d_%H-%M",
                "schedule": _schedule("0", "0"),
                "state": state,
            },
            {
                **base,
                "id": 2,
                "dataset": "tank/home",
                "recursive": True,
                "lifetime_value": 1,
                "lifetime_unit": "WEEK",
                "naming_schema": "auto-%Y-%m-%d_%H-%M",
                "schedule": _schedule("0", "0"),
                "state": state,
            },
            {
                **base,
                "id": 3,
                "dataset": "tank/media",
                "lifetime_value": 1,
                "lifetime_unit": "MONTH",
                "naming_schema": "auto-%Y-%m-%d_%H-%M",
                "schedule": _schedule("0", "0", "7"),
                "enabled": True,
                "state": state,
            },
        ]
    )
    world.table("replication").append(
        {
            "id": 1,
            "name": "tank -> backup (documents, home)",
            "direction": "PUSH",
            "transport": "LOCAL",
            "ssh_credentials": None,
            "netcat_active_side": None,
            "netcat_active_side_listen_address": None,
            "netcat_active_side_port_min": None,
            "netcat_active_side_port_max": None,
            "netcat_passive_side_connect_address": None,
            "sudo": False,
            "source_datasets": ["tank/documents", "tank/home"],
            "target_dataset": "backup/tank-replica",
            "recursive": True,
            "exclude": [],
            "properties": True,
            "properties_exclude": [],
            "properties_override": {},
            "replicate": False,
            "encryption": False,
            "encryption_inherit": None,
            "encryption_key": None,
            "encryption_key_format": None,
            "encryption_key_location": None,
            "periodic_snapshot_tasks": [1, 2],
            "naming_schema": [],
            "also_include_naming_schema": [],
            "name_regex": None,
            "auto": True,
            "schedule": None,
            "restrict_schedule": None,
            "only_matching_schedule": False,
            "allow_from_scratch": False,
            "readonly": "SET",
            "hold_pending_snapshots": False,
            "retention_policy": "SOURCE",
            "lifetime_value": None,
            "lifetime_unit": None,
            "lifetimes": [],
            "compression": None,
            "speed_limit": None,
            "large_block": True,
            "embed": False,
            "compressed": True,
            "retries": 5,
            "logging_level": None,
            "enabled": True,
            "state": {
                "state": "ERROR",
                "datetime": BASE_TIME - dt.timedelta(hours=9, minutes=30),
                "error": "cannot receive incremental stream: I/O error on backup/tank-replica/home",
                "last_snapshot": "tank/home/alice@auto-2025-08-13_00-00",
            },
            "job": None,
            "has_encrypted_dataset_keys": False,
        }
    )
    world.table("cloudsync").append(
        {
            "id": 1,
            "description": "Documents to Backblaze B2",
            "path": "/mnt/tank/documents",
            "credentials": {
                "id": 1,
                "name": "Backblaze B2",
                "provider": {"type": "B2", "account": "0041f2c8a7e9", "key": "********"},
            },
            "attributes": {
                "bucket": "truenas-offsite",
                "folder": "/documents",
                "fast_list": False,
                "chunk_size": 96,
            },
            "schedule": {"minute": "30", "hour": "2", "dom": "*", "month": "*", "dow": "*"},
            "pre_script": "",
            "post_script": "",
            "snapshot": True,
            "include": [],
            "exclude": [],
            "args": "",
            "enabled": True,
            "direction": "PUSH",
            "transfer_mode": "SYNC",
            "encryption": True,
            "filename_encryption": True,
            "encryption_password": "********",
            "encryption_salt": "********",
            "create_empty_src_dirs": False,
            "follow_symlinks": False,
            "transfers": 4,
            "bwlimit": [],
            "job": {
                "id": 1204,
                "method": "cloudsync.sync",
                "state": "SUCCESS",
                "time_finished": BASE_TIME.replace(hour=2, minute=41),
            },
            "locked": False,
        }
    )
