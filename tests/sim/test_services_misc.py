"""Shares, services, alerts, apps, VMs and system configuration behave as on a real box."""

from __future__ import annotations

import copy
import errno
from typing import Any

import pytest

from truenas_mcp.sim.errors import CallError, ValidationErrors
from truenas_mcp.sim.services.local import Event, LocalSimulator
from truenas_mcp.sim.world_seed import demo_world


@pytest.fixture
def sim() -> LocalSimulator:
    return LocalSimulator(demo_world(), frozenset({"app.start", "app.stop", "vm.stop"}))


async def call(sim: LocalSimulator, method: str, *params: Any) -> Any:
    return await sim.call(None, method, list(params))


async def test_system_info_reports_the_box_and_a_moving_clock(sim: LocalSimulator) -> None:
    info = await call(sim, "system.info")
    assert info["version"] == "25.04.2" and info["hostname"] == "truenas"
    assert info["uptime_seconds"] > 23 * 86400
    assert info["datetime"] >= sim.world.base_time
    assert await call(sim, "system.version") == "TrueNAS-25.04.2"


async def test_general_update_validates_before_applying(sim: LocalSimulator) -> None:
    before = copy.deepcopy(sim.world.system)
    with pytest.raises(ValidationErrors) as info:
        await call(sim, "system.general.update", {"ui_port": 443, "timezone": "UTC"})
    assert info.value.errors[0][0] == "general_settings.ui_port"
    assert sim.world.system == before
    updated = await call(sim, "system.general.update", {"timezone": "UTC", "ui_port": 8080})
    assert (updated["timezone"], updated["ui_port"]) == ("UTC", 8080)
    assert (await call(sim, "system.info"))["timezone"] == "UTC"


async def test_smb_share_on_a_missing_path_is_refused_as_enoent(sim: LocalSimulator) -> None:
    before = len(sim.world.table("sharing.smb"))
    with pytest.raises(CallError) as info:
        await call(sim, "sharing.smb.create", {"name": "ghost", "path": "/mnt/tank/media/no-such-dir"})
    assert (info.value.errno, info.value.errmsg) == (
        errno.ENOENT,
        "Path /mnt/tank/media/no-such-dir not found",
    )
    assert len(sim.world.table("sharing.smb")) == before


async def test_smb_share_create_update_delete(sim: LocalSimulator) -> None:
    share = await call(sim, "sharing.smb.create", {"name": "music", "path": "/mnt/tank/media/music"})
    assert share["id"] == 6 and share["purpose"] == "DEFAULT_SHARE" and share["enabled"]
    updated = await call(
        sim, "sharing.smb.update", 6, {"name": "Music", "path": "/mnt/tank/media/music", "ro": True}
    )
    assert updated["ro"] is True
    assert await call(sim, "sharing.smb.delete", 6) is True
    assert [(e.msg, e.id) for e in sim.events] == [("added", 6), ("changed", 6), ("removed", 6)]


@pytest.mark.parametrize(
    ("payload", "attribute", "message"),
    [
        ({"name": "MEDIA", "path": "/mnt/tank/media"}, "sharingsmb_create.name", "already exists"),
        ({"name": "global", "path": "/mnt/tank/media"}, "sharingsmb_create.name", "reserved section name"),
        ({"name": "x", "path": "/etc"}, "sharingsmb_create.path", "within a pool mount point"),
        ({"name": "x", "path": "/mnt/nopool/x"}, "sharingsmb_create.path", "does not exist"),
        ({"name": "x/y", "path": "/mnt/tank/media"}, "sharingsmb_create.name", "invalid characters"),
    ],
)
async def test_bad_smb_share_is_refused(
    sim: LocalSimulator, payload: dict[str, Any], attribute: str, message: str
) -> None:
    before = copy.deepcopy(sim.world.tables)
    with pytest.raises(ValidationErrors) as info:
        await call(sim, "sharing.smb.create", payload)
    assert info.value.errors[0][0] == attribute and message in info.value.errors[0][1]
    assert sim.world.tables == before


async def test_nfs_share_checks_networks_users_and_conflicts(sim: LocalSimulator) -> None:
    with pytest.raises(ValidationErrors) as info:
        await call(
            sim,
            "sharing.nfs.create",
            {"path": "/mnt/tank/media", "networks": ["10.0.0.0/33"], "maproot_user": "ghost"},
        )
    assert sorted(str(e[0]) for e in info.value.errors) == [
        "sharingnfs_create.maproot_user",
        "sharingnfs_create.networks.0",
    ]
    with pytest.raises(ValidationErrors) as conflict:
        await call(sim, "sharing.nfs.create", {"path": "/mnt/tank/media", "networks": ["192.168.10.0/24"]})
    assert "Export conflict" in conflict.value.errors[0][1]
    share = await call(sim, "sharing.nfs.create", {"path": "/mnt/tank/media", "networks": ["10.0.0.0/8"]})
    assert share["locked"] is False and share["networks"] == ["10.0.0.0/8"]
    with pytest.raises(ValidationErrors) as miss:
        await call(sim, "sharing.nfs.get_instance", 99)
    assert miss.value.errors == [(None, "SharingNFS 99 does not exist", errno.ENOENT)]


async def test_services_start_and_stop(sim: LocalSimulator) -> None:
    assert await call(sim, "service.start", "ftp") is True
    ftp = await call(sim, "service.query", [["service", "=", "ftp"]], {"get": True})
    assert ftp["state"] == "RUNNING" and ftp["pids"]
    assert await call(sim, "service.stop", "ftp") is True
    assert await call(sim, "service.started", "ftp") is False
    assert await call(sim, "service.reload", "ups") is False  # not running: nothing to reload
    assert await call(sim, "service.update", "ups", {"enable": True}) == 7
    assert await call(sim, "service.started_or_enabled", "ups") is True
    assert Event("service.query", "changed", 2) in sim.events
    with pytest.raises(CallError):
        await call(sim, "service.start", "nonexistent")


async def test_service_control_run_as_a_job_reports_progress() -> None:
    sim = LocalSimulator(demo_world(), frozenset({"service.restart"}))
    assert await sim.call(None, "service.restart", ["cifs"]) is True
    assert sim.jobs[0].progress[-1][0] == 100


async def test_alerts_can_be_dismissed_and_restored_by_uuid(sim: LocalSimulator) -> None:
    alerts = await call(sim, "alert.list")
    critical = [a for a in alerts if a["level"] == "CRITICAL"]
    assert {a["klass"] for a in critical} >= {"VolumeStatus", "SMART"}
    uuid = critical[0]["uuid"]
    assert await call(sim, "alert.dismiss", uuid) is None
    assert [a["dismissed"] for a in await call(sim, "alert.list") if a["uuid"] == uuid] == [True]
    assert sim.events[-1].collection == "alert.list" and sim.events[-1].id == uuid
    await call(sim, "alert.restore", uuid)
    assert [a["dismissed"] for a in await call(sim, "alert.list") if a["uuid"] == uuid] == [False]
    with pytest.raises(CallError) as info:
        await call(sim, "alert.dismiss", "no-such-uuid")
    assert info.value.errno == errno.ENOENT


async def test_apps_stop_and_start_as_jobs(sim: LocalSimulator) -> None:
    assert [a["name"] for a in await call(sim, "app.query", [["upgrade_available", "=", True]])] == [
        "nextcloud"
    ]
    await call(sim, "app.stop", "plex")
    assert (await call(sim, "app.get_instance", "plex"))["state"] == "STOPPED"
    assert [e.msg for e in sim.events] == ["changed", "changed"]
    await call(sim, "app.start", "plex")
    assert (await call(sim, "app.get_instance", "plex"))["state"] == "RUNNING"
    with pytest.raises(ValidationErrors) as info:  # app.get_instance's InstanceNotFound
        await call(sim, "app.stop", "jellyfin")
    assert info.value.errors == [(None, "App jellyfin does not exist", errno.ENOENT)]


async def test_app_config_only_with_retrieve_config(sim: LocalSimulator) -> None:
    plain = await call(sim, "app.query", [], {"get": True})
    assert plain["config"] is None
    full = await call(sim, "app.query", [], {"get": True, "extra": {"retrieve_config": True}})
    assert isinstance(full["config"], dict)


async def test_vm_power_state(sim: LocalSimulator) -> None:
    assert (await call(sim, "vm.status", 1))["state"] == "RUNNING"
    with pytest.raises(CallError) as info:
        await call(sim, "vm.start", 1)
    assert info.value.errno == errno.EEXIST
    await call(sim, "vm.stop", 1)
    assert (await call(sim, "vm.status", 1)) == {"state": "STOPPED", "pid": None, "domain_state": "STOPPED"}


async def test_replication_and_cloudsync_queries(sim: LocalSimulator) -> None:
    failing = await call(sim, "replication.query", [["state.state", "=", "ERROR"]], {"select": ["name"]})
    assert failing == [{"name": "tank -> backup (documents, home)"}]
    assert (await call(sim, "cloudsync.get_instance", 1))["direction"] == "PUSH"
