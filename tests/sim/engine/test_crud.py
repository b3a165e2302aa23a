"""The state engine over the real protocol: writes show up in reads, checks refuse what TrueNAS refuses."""

from __future__ import annotations

import errno
from pathlib import Path

from tests.conftest import SimFactory
from tests.sim.conftest import RawRpc, open_rpc
from truenas_mcp.sim.server import RunningSimulator
from truenas_mcp.sim.state import World

CRON = {
    "command": "/usr/local/bin/backup.sh",
    "user": "truenas_admin",
    "schedule": {"minute": "15", "hour": "3"},
}


async def test_created_cronjob_is_queried_with_the_defaults_truenas_fills(admin: RawRpc) -> None:
    created = await admin.call("cronjob.create", [CRON])
    rows = await admin.call("cronjob.query", [[["id", "=", created["id"]]]])
    assert rows == [created]
    assert created["command"] == CRON["command"]
    # Defaults of the argument model: enabled, stdout on, stderr off, an empty description.
    assert (created["enabled"], created["stdout"], created["stderr"], created["description"]) == (
        True,
        True,
        False,
        "",
    )
    # A nested object given in part keeps the given keys and gets the rest from its own defaults.
    assert created["schedule"] == {"minute": "15", "hour": "3", "dom": "*", "month": "*", "dow": "*"}


async def test_ids_are_assigned_in_sequence_and_never_reused(admin: RawRpc) -> None:
    first = await admin.call("cronjob.create", [CRON])
    await admin.call("cronjob.delete", [first["id"]])
    second = await admin.call("cronjob.create", [CRON])
    assert second["id"] == first["id"] + 1


async def test_update_then_get_instance_shows_the_change(admin: RawRpc) -> None:
    created = await admin.call("cronjob.create", [CRON])
    await admin.call("cronjob.update", [created["id"], {"enabled": False, "description": "nightly"}])
    row = await admin.call("cronjob.get_instance", [created["id"]])
    assert (row["enabled"], row["description"], row["command"]) == (False, "nightly", CRON["command"])


async def test_delete_then_query_is_empty(admin: RawRpc) -> None:
    created = await admin.call("cronjob.create", [CRON])
    assert await admin.call("cronjob.delete", [created["id"]]) is True
    assert await admin.call("cronjob.query", [[["id", "=", created["id"]]]]) == []


async def test_get_instance_of_a_missing_row_is_instance_not_found(admin: RawRpc) -> None:
    frame = await admin.request("cronjob.get_instance", [999])
    error = frame["error"]
    assert error["code"] == -32602
    assert error["data"]["extra"] == [[None, "CronJob 999 does not exist", errno.ENOENT]]


async def test_a_missing_user_is_refused_as_the_cron_plugin_refuses_it(admin: RawRpc) -> None:
    frame = await admin.request("cronjob.create", [{**CRON, "user": "nobody-here"}])
    assert frame["error"]["data"]["extra"] == [
        ["cron_job_create.user", "Specified user does not exist", errno.EINVAL]
    ]
    assert await admin.call("cronjob.query", [[["user", "=", "nobody-here"]]]) == []


async def test_replication_names_are_unique(admin: RawRpc) -> None:
    existing = (await admin.call("replication.query"))[0]
    task = {
        "name": existing["name"],
        "direction": "PUSH",
        "transport": "LOCAL",
        "source_datasets": ["tank/media"],
        "target_dataset": "backup/media",
        "recursive": False,
        "auto": False,
        "retention_policy": "NONE",
        "also_include_naming_schema": ["auto-%Y-%m-%d_%H-%M"],
    }
    frame = await admin.request("replication.create", [task])
    assert ["name", "Object with this name already exists", errno.EINVAL] in frame["error"]["data"]["extra"]
    created = await admin.call("replication.create", [{**task, "name": "media to backup"}])
    shown = await admin.call("replication.get_instance", [created["id"]])
    assert shown["source_datasets"] == ["tank/media"]
    assert shown["retries"] == 5  # the argument model's default


async def test_cloudsync_credentials_in_use_cannot_be_deleted(admin: RawRpc) -> None:
    task = (await admin.call("cloudsync.query"))[0]
    frame = await admin.request("cloudsync.credentials.delete", [task["credentials"]["id"]])
    assert frame["error"]["data"]["reason"] == (
        f"[EFAULT] This credential is used by cloud sync task {task['description']}"
    )


async def test_created_rows_are_announced_with_their_fields(sim: RunningSimulator, admin: RawRpc) -> None:
    await admin.call("core.subscribe", ["cronjob.query"])
    created = await admin.call("cronjob.create", [CRON])
    note = await admin.notification()
    assert note["method"] == "collection_update"
    assert note["params"] == {
        "msg": "added",
        "collection": "cronjob.query",
        "id": created["id"],
        "fields": created,
    }
    await admin.call("cronjob.update", [created["id"], {"enabled": False}])
    changed = (await admin.notification())["params"]
    assert (changed["msg"], changed["fields"]["enabled"]) == ("changed", False)
    await admin.call("cronjob.delete", [created["id"]])
    removed = (await admin.notification())["params"]
    assert removed == {"msg": "removed", "collection": "cronjob.query", "id": created["id"]}


async def test_config_update_is_read_back(admin: RawRpc) -> None:
    before = await admin.call("ftp.config")
    after = await admin.call("ftp.update", [{"port": 2121}])
    assert after["port"] == 2121
    assert await admin.call("ftp.config") == after
    assert after["clients"] == before["clients"]


async def test_a_method_without_state_or_data_answers_not_simulated(admin: RawRpc) -> None:
    frame = await admin.request("ipmi.sensors.query")
    error = frame["error"]
    assert error["code"] == -32001
    assert error["data"]["error"] == errno.ENOTSUP
    assert error["data"]["reason"] == "[ENOTSUP] simulator: ipmi.sensors.query is not simulated"


async def test_engine_writes_survive_a_restart_through_the_state_file(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    async with sim_factory() as first:
        ws, rpc = await open_rpc(first.url)
        await rpc.login(first)
        created = await rpc.call("cronjob.create", [CRON])
        await rpc.call("ftp.update", [{"port": 2121}])
        await ws.close()
        first.world.save(state)
    async with sim_factory(world=World.load(state)) as second:
        ws, rpc = await open_rpc(second.url)
        await rpc.login(second)
        assert await rpc.call("cronjob.get_instance", [created["id"]]) == created
        assert (await rpc.call("ftp.config"))["port"] == 2121
        await ws.close()
