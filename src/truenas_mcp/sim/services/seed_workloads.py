"""Demo services, apps, the Home Assistant VM and the alerts a person trying the demo should notice."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any, Final

from truenas_mcp.sim.alerts import make_alert
from truenas_mcp.sim.services import storage_model as sm
from truenas_mcp.sim.state import World

BASE_TIME: Final = dt.datetime(2025, 8, 14, 9, 30, 0, tzinfo=dt.UTC)
GIB: Final = 1024**3


_SERVICES: Final = [
    ("cifs", True, [2144, 2146]),
    ("ftp", False, []),
    ("iscsitarget", False, []),
    ("nfs", True, [2210]),
    ("snmp", False, []),
    ("ssh", True, [1532]),
    ("ups", False, []),
    ("smartd", True, [1488]),
]


def seed_services_apps_vms(world: World, rng: random.Random) -> None:
    for index, (name, running, pids) in enumerate(_SERVICES, start=1):
        world.table("service").append(
            {
                "id": index,
                "service": name,
                "enable": running,
                "state": "RUNNING" if running else "STOPPED",
                "pids": list(pids),
            }
        )
    world.table("app").append(_app("nextcloud", "31.0.6", "1.6.21", "1.6.24", 30027, rng, upgrade=True))
    world.table("app").append(_app("plex", "1.41.9.9961", "1.2.8", "1.2.8", 32400, rng, upgrade=False))
    world.table("vm").append(_vm())


def _app(
    name: str, app_version: str, version: str, latest: str, port: int, rng: random.Random, upgrade: bool
) -> dict[str, Any]:
    image = f"{'nextcloud' if name == 'nextcloud' else 'plexinc/pms-docker'}:{app_version}"
    containers: list[dict[str, Any]] = [
        {
            "id": f"{rng.getrandbits(64):016x}{rng.getrandbits(64):016x}",
            "service_name": name,
            "image": image,
            "port_config": [
                {
                    "container_port": 80 if name == "nextcloud" else 32400,
                    "protocol": "tcp",
                    "host_ports": [{"host_port": port, "host_ip": "0.0.0.0"}],
                }
            ],
            "state": "running",
            "volume_mounts": [
                {
                    "source": f"/mnt/.ix-apps/app_mounts/{name}/data",
                    "destination": "/data",
                    "mode": "rw",
                    "type": "bind",
                }
            ],
        },
    ]
    return {
        "name": name,
        "id": name,
        "active_workloads": {
            "containers": len(containers),
            "used_ports": [
                {
                    "container_port": c["port_config"][0]["container_port"],
                    "protocol": "tcp",
                    "host_ports": [{"host_port": port, "host_ip": "0.0.0.0"}],
                }
                for c in containers
            ],
            "container_details": containers,
            "volumes": [
                {
                    "source": f"/mnt/.ix-apps/app_mounts/{name}/data",
                    "destination": "/data",
                    "mode": "rw",
                    "type": "bind",
                }
            ],
            "images": [image],
            "networks": [{"Name": f"ix-{name}_default", "Id": f"{rng.getrandbits(64):016x}", "Labels": {}}],
        },
        "state": "RUNNING",
        "upgrade_available": upgrade,
        "latest_version": latest,
        "image_updates_available": False,
        "custom_app": False,
        "migrated": False,
        "human_version": f"{app_version}_{version}",
        "version": version,
        "metadata": {
            "name": name,
            "title": name.capitalize(),
            "train": "stable",
            "app_version": app_version,
            "version": version,
            "categories": ["media" if name == "plex" else "productivity"],
        },
        "notes": None,
        "portals": {"Web UI": f"http://0.0.0.0:{port}/"},
        "config": None,
        "version_details": None,
    }


def _vm() -> dict[str, Any]:
    return {
        "id": 1,
        "name": "homeassistant",
        "description": "Home Assistant OS 16.0",
        "vcpus": 1,
        "cores": 2,
        "threads": 1,
        "cpuset": None,
        "nodeset": None,
        "enable_cpu_topology_extension": False,
        "pin_vcpus": False,
        "suspend_on_snapshot": False,
        "trusted_platform_module": False,
        "memory": 4096,
        "min_memory": None,
        "hyperv_enlightenments": False,
        "bootloader": "UEFI",
        "bootloader_ovmf": "OVMF_CODE_4M.fd",
        "autostart": True,
        "hide_from_msr": False,
        "ensure_display_device": True,
        "time": "LOCAL",
        "shutdown_timeout": 90,
        "arch_type": None,
        "machine_type": None,
        "uuid": "3d1c2f1e-9b8a-4c9b-8f0e-6a2b7c5d4e11",
        "command_line_args": "",
        "cpu_mode": "CUSTOM",
        "cpu_model": None,
        "enable_secure_boot": False,
        "display_available": True,
        "status": {"state": "RUNNING", "pid": 4242, "domain_state": "RUNNING"},
        "devices": [
            {
                "id": 1,
                "vm": 1,
                "order": 1001,
                "attributes": {
                    "dtype": "DISK",
                    "path": "/dev/zvol/tank/vms/homeassistant",
                    "type": "VIRTIO",
                    "create_zvol": False,
                    "zvol_name": None,
                    "zvol_volsize": None,
                    "logical_sectorsize": None,
                    "physical_sectorsize": None,
                    "iotype": "THREADS",
                    "serial": "ha0001",
                },
            },
            {
                "id": 2,
                "vm": 1,
                "order": 1002,
                "attributes": {
                    "dtype": "NIC",
                    "type": "VIRTIO",
                    "nic_attach": "br0",
                    "mac": "00:a0:98:5e:21:7c",
                    "trust_guest_rx_filters": False,
                },
            },
            {
                "id": 3,
                "vm": 1,
                "order": 1003,
                "attributes": {
                    "dtype": "DISPLAY",
                    "type": "SPICE",
                    "port": 5900,
                    "web_port": 5901,
                    "bind": "0.0.0.0",
                    "wait": False,
                    "password": "********",
                    "web": True,
                    "resolution": "1024x768",
                },
            },
        ],
    }


def seed_alerts(world: World) -> None:
    when = BASE_TIME - dt.timedelta(hours=9, minutes=41)
    faulted = world.find("disk", "name", "sdh") or {"model": "unknown", "serial": "unknown"}
    bob_used = sm.dataset_used(world, sm.dataset_records(world), "tank/home/bob")
    bob_fraction = 100 * bob_used / (250 * GIB)
    alerts = [
        (
            "VolumeStatus",
            "CRITICAL",
            "Pool backup state is DEGRADED: One or more devices are faulted in response to persistent "
            "errors. Sufficient replicas exist for the pool to continue functioning in a degraded state.\n"
            "The following devices are not healthy:\n"
            f"<ul><li>Disk {faulted['model']} {faulted['serial']} is FAULTED</li></ul>",
            {"volume": "backup", "state": "DEGRADED"},
            when,
        ),
        (
            "SMART",
            "CRITICAL",
            "Device: /dev/sdh [SAT], 24 Currently unreadable (pending) sectors.",
            {"device": "/dev/sdh", "message": "24 Currently unreadable (pending) sectors."},
            when,
        ),
        (
            "ReplicationFailed",
            "CRITICAL",
            'Replication "tank -> backup (documents, home)" failed: cannot receive incremental stream: '
            "I/O error on backup/tank-replica/home.",
            {"name": "tank -> backup (documents, home)", "message": "I/O error"},
            BASE_TIME - dt.timedelta(hours=9),
        ),
        (
            "QuotaWarning",
            "WARNING",
            f"Quota exceeded on dataset tank/home/bob. Used {bob_fraction:.2f}% "
            f"({bob_used / GIB:.0f} GiB of 250 GiB).",
            {"name": "Quota", "dataset": "tank/home/bob", "used_fraction": round(bob_fraction, 2)},
            BASE_TIME - dt.timedelta(days=2),
        ),
        (
            "AppUpdate",
            "INFO",
            'An update is available for "nextcloud" application.',
            {"name": "nextcloud"},
            BASE_TIME - dt.timedelta(days=1, hours=3),
        ),
    ]
    for klass, level, text, args, at in alerts:
        assert isinstance(args, dict) and isinstance(at, dt.datetime)
        key = args.get("volume") or args.get("device") or args.get("name") or klass
        world.table("alert").append(
            make_alert(klass=klass, level=level, text=text, args=args, key=str(key), when=at)
        )
