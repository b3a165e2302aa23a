"""The seeded demo world: a small home/office TrueNAS box worth asking questions about.

A healthy RAIDZ2 pool ``tank`` with media, home, document, backup and VM datasets, daily and hourly
snapshots, SMB and NFS shares; a degraded mirror ``backup`` with a FAULTED disk (and the alerts that go with
it); users and groups with admin, read-only and sharing privileges; running ``nextcloud`` and ``plex`` apps
(one with an update); a Home Assistant VM; a replication and a cloud sync task.

Everything derives from a fixed base time and ``random.Random(seed)``, so one seed gives one world.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from typing import Final

from truenas_mcp.sim.alerts import stable_uuid
from truenas_mcp.sim.services import demo_rows as accounts
from truenas_mcp.sim.services import seed_workloads as workloads
from truenas_mcp.sim.services.seed_configs import seed_configs, seed_network
from truenas_mcp.sim.services.seed_storage import seed_storage
from truenas_mcp.sim.state import World, hash_secret

BASE_TIME: Final = dt.datetime(2025, 8, 14, 9, 30, 0, tzinfo=dt.UTC)
DEMO_ADMIN: Final = "truenas_admin"
DEMO_ADMIN_PASSWORD: Final = "truenas-demo"


def _system(world: World, rng: random.Random) -> None:
    boot = BASE_TIME - dt.timedelta(days=23, hours=4, minutes=rng.randint(0, 59))
    world.system = {
        "info": {
            "version": "25.04.2",
            "buildtime": "2025-07-29T14:21:56+00:00",
            "hostname": "truenas",
            "physmem": 67_260_461_056,
            "model": "AMD Ryzen 5 5600G with Radeon Graphics",
            "cores": 12,
            "physical_cores": 6,
            "loadavg": [0.42, 0.37, 0.31],
            "system_serial": f"S{rng.randint(10**9, 10**10 - 1)}",
            "system_product": "X570D4U",
            "system_product_version": "1.0",
            "system_manufacturer": "ASRockRack",
            "license": {},
            "timezone": "Europe/Amsterdam",
            "ecc_memory": True,
            "boottime": boot,
        },
        "uptime_at_base": (BASE_TIME - boot).total_seconds(),
        "general": {
            "id": 1,
            "ui_address": ["0.0.0.0"],
            "ui_v6address": ["::"],
            "ui_allowlist": [],
            "ui_port": 80,
            "ui_httpsport": 443,
            "ui_httpsredirect": False,
            "ui_httpsprotocols": ["TLSv1.2", "TLSv1.3"],
            "ui_x_frame_options": "SAMEORIGIN",
            "kbdmap": "us",
            "timezone": "Europe/Amsterdam",
            "usage_collection": False,
            "wizardshown": True,
            "ui_consolemsg": False,
            "ui_certificate": None,
            "usage_collection_is_set": True,
            "language": "en",
        },
        "boot_id": stable_uuid("boot", str(rng.random())),
        "host_id": hashlib.sha256(f"host{rng.random()}".encode()).hexdigest()[:32],
    }


def demo_world(seed: int = 0) -> World:
    """The seeded demo world (same ``seed`` → same world, byte for byte); see the module docstring."""
    rng = random.Random(seed)
    world = World(base_time=BASE_TIME)
    _system(world, rng)
    seed_storage(world, rng)
    accounts.seed_accounts(world, rng)
    workloads.seed_services_apps_vms(world, rng)
    accounts.seed_shares(world)
    workloads.seed_alerts(world)
    seed_configs(world)
    seed_network(world)
    world.passwords[DEMO_ADMIN] = hash_secret(DEMO_ADMIN_PASSWORD, rng.randbytes(16))
    return world
