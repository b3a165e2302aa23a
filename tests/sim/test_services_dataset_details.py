"""``pool.dataset.details`` tells what uses each dataset, in agreement with the share and task queries."""

from __future__ import annotations

from tests.sim.conftest import RawRpc


async def test_details_agree_with_shares_tasks_and_vms(admin: RawRpc) -> None:
    details = {d["id"]: d for d in await admin.call("pool.dataset.details")}
    datasets = await admin.call("pool.dataset.query", [[], {"extra": {"flat": True}}])
    assert set(details) == {d["id"] for d in datasets}
    by_mountpoint = {d["mountpoint"]: d for d in details.values()}
    shared = [s for s in await admin.call("sharing.smb.query") if s["path"] in by_mountpoint]
    assert shared
    for share in shared:
        entry = {"enabled": share["enabled"], "path": share["path"], "share_name": share["name"]}
        assert entry in by_mountpoint[share["path"]]["smb_shares"]
    for task in await admin.call("pool.snapshottask.query"):
        assert details[task["dataset"]]["snapshot_tasks_count"] >= 1
    replication = (await admin.call("replication.query"))[0]
    for source in replication["source_datasets"]:
        assert details[source]["replication_tasks_count"] == 1
    assert details["tank/vms/homeassistant"]["vms"] == [
        {"name": "homeassistant", "path": "/dev/zvol/tank/vms/homeassistant"}
    ]


async def test_a_new_share_shows_up_in_the_details(admin: RawRpc) -> None:
    await admin.call("pool.dataset.create", [{"name": "tank/projects"}])
    await admin.call("sharing.smb.create", [{"name": "projects", "path": "/mnt/tank/projects"}])
    details = {d["id"]: d for d in await admin.call("pool.dataset.details")}
    assert [s["share_name"] for s in details["tank/projects"]["smb_shares"]] == ["projects"]
