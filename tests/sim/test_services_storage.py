"""Pools, datasets and snapshots behave like the middleware's, and bad input never changes the world."""

from __future__ import annotations

import asyncio
import copy
import errno
from typing import Any

import pytest

from truenas_mcp.sim.errors import CallError, ValidationErrors
from truenas_mcp.sim.services.local import Event, LocalSimulator
from truenas_mcp.sim.world_seed import demo_world

JOBS = frozenset({"pool.scrub.scrub", "pool.scrub"})
GIB = 1024**3


@pytest.fixture
def sim() -> LocalSimulator:
    return LocalSimulator(demo_world(), JOBS)


async def call(sim: LocalSimulator, method: str, *params: Any) -> Any:
    return await sim.call(None, method, list(params))


def errors(info: pytest.ExceptionInfo[ValidationErrors]) -> list[tuple[str | None, str, int]]:
    return info.value.errors


async def test_pool_query_excludes_the_boot_pool_and_reports_the_degraded_pool(sim: LocalSimulator) -> None:
    pools = await call(sim, "pool.query")
    assert [p["name"] for p in pools] == ["tank", "backup"]
    backup = await call(sim, "pool.query", [["healthy", "=", False]], {"get": True})
    assert backup["status"] == "DEGRADED"
    assert (
        await call(
            sim, "pool.query", [["topology.data.*.children.*.status", "=", "FAULTED"]], {"count": True}
        )
        == 1
    )


async def test_pool_get_instance_miss_is_instance_not_found(sim: LocalSimulator) -> None:
    with pytest.raises(ValidationErrors) as info:
        await call(sim, "pool.get_instance", 99)
    assert errors(info) == [(None, "Pool 99 does not exist", errno.ENOENT)]


async def test_disk_pool_membership_needs_extra_pools(sim: LocalSimulator) -> None:
    plain = await call(sim, "disk.query", [["name", "=", "sdh"]], {"get": True})
    assert plain["pool"] is None
    extra = await call(sim, "disk.query", [["name", "=", "sdh"]], {"get": True, "extra": {"pools": True}})
    assert extra["pool"] == "backup"


async def test_dataset_query_nests_children_and_computes_inheritance(sim: LocalSimulator) -> None:
    media = await call(sim, "pool.dataset.get_instance", "tank/media")
    assert [c["name"] for c in media["children"]] == [
        "tank/media/movies",
        "tank/media/music",
        "tank/media/tv",
    ]
    assert media["recordsize"]["source"] == "LOCAL" and media["recordsize"]["parsed"] == 1024**2
    movies = media["children"][0]
    assert movies["recordsize"] == {
        "parsed": 1024**2,
        "rawvalue": "1048576",
        "value": "1M",
        "source": "INHERITED",
        "source_info": "tank/media",
    }
    assert movies["compression"]["source_info"] == "tank"
    total = (
        media["usedbydataset"]["parsed"]
        + media["usedbychildren"]["parsed"]
        + media["usedbysnapshots"]["parsed"]
    )
    assert media["used"]["parsed"] == total


async def test_dataset_query_options_flat_and_retrieve_children(sim: LocalSimulator) -> None:
    roots = await call(sim, "pool.dataset.query", [], {"extra": {"flat": False}})
    assert [d["id"] for d in roots] == ["backup", "tank"]
    bare = await call(
        sim, "pool.dataset.query", [["id", "=", "tank"]], {"extra": {"retrieve_children": False}}
    )
    assert bare[0]["children"] == []


async def test_locked_encrypted_dataset_reports_locked_without_mountpoint(sim: LocalSimulator) -> None:
    vault = await call(sim, "pool.dataset.get_instance", "tank/vault")
    assert (vault["encrypted"], vault["locked"], vault["key_loaded"], vault["mountpoint"]) == (
        True,
        True,
        False,
        None,
    )
    shares = await call(sim, "sharing.smb.query", [["name", "=", "vault"]])
    assert shares[0]["locked"] is True


async def test_creating_a_dataset_emits_added_and_inherits_properties(sim: LocalSimulator) -> None:
    row = await call(sim, "pool.dataset.create", {"name": "tank/home/carol", "quota": 10 * GIB})
    assert row["compression"]["value"] == "ZSTD" and row["compression"]["source"] == "INHERITED"
    assert row["quota"]["parsed"] == 10 * GIB
    assert sim.events == [Event("pool.dataset.query", "added", "tank/home/carol")]
    parent = await call(sim, "pool.dataset.get_instance", "tank/home")
    assert "tank/home/carol" in [c["id"] for c in parent["children"]]


@pytest.mark.parametrize(
    ("payload", "attribute", "message"),
    [
        ({"name": "tank/media"}, "pool_dataset_create.name", "Path tank/media already exists"),
        ({"name": "nopool/x"}, "pool_dataset_create.name", "Please specify a pool which exists"),
        (
            {"name": "tank/missing/child"},
            "pool_dataset_create.name",
            "Parent dataset tank/missing does not exist",
        ),
        ({"name": "tank"}, "pool_dataset_create.name", "<pool>/<dataset>"),
        ({"name": "tank/bad*name"}, "pool_dataset_create.name", "<pool>/<dataset>"),
        ({"name": "tank/v", "type": "VOLUME"}, "pool_dataset_create.volsize", "required for VOLUME"),
        ({"name": "tank/x", "volsize": 10}, "pool_dataset_create.volsize", "not valid for FILESYSTEM"),
        ({"name": "tank/x", "quota": 1000}, "pool_dataset_create.quota", "at least 1 GiB"),
        ({"name": "tank/x", "recordsize": "3K"}, "pool_dataset_create.recordsize", "not a valid record size"),
        ({"name": "tank/x", "copies": 4}, "pool_dataset_create.copies", "Must be 1, 2 or 3"),
        (
            {"name": "tank/x", "user_properties": [{"key": "nocolon", "value": "v"}]},
            "pool_dataset_create.user_properties.0.key",
            "must contain a colon",
        ),
    ],
)
async def test_bad_dataset_create_is_refused_and_changes_nothing(
    sim: LocalSimulator, payload: dict[str, Any], attribute: str, message: str
) -> None:
    before = copy.deepcopy(sim.world.tables)
    with pytest.raises(ValidationErrors) as info:
        await call(sim, "pool.dataset.create", payload)
    assert [e[0] for e in errors(info)] == [attribute]
    assert message in errors(info)[0][1]
    assert sim.world.tables == before and sim.events == []


async def test_create_ancestors_creates_the_missing_parents(sim: LocalSimulator) -> None:
    await call(sim, "pool.dataset.create", {"name": "tank/a/b/c", "create_ancestors": True})
    assert [e.id for e in sim.events] == ["tank/a", "tank/a/b", "tank/a/b/c"]


async def test_update_sets_and_inherits_properties(sim: LocalSimulator) -> None:
    row = await call(sim, "pool.dataset.update", "tank/media/music", {"recordsize": "1M", "comments": "FLAC"})
    assert row["recordsize"]["source"] == "LOCAL" and row["comments"]["value"] == "FLAC"
    row = await call(sim, "pool.dataset.update", "tank/media/music", {"recordsize": "INHERIT"})
    assert row["recordsize"]["source"] == "INHERITED"
    assert [e.msg for e in sim.events] == ["changed", "changed"]


async def test_update_refuses_shrinking_a_zvol_and_leaves_it_alone(sim: LocalSimulator) -> None:
    before = copy.deepcopy(sim.world.tables)
    with pytest.raises(ValidationErrors) as info:
        await call(sim, "pool.dataset.update", "tank/vms/homeassistant", {"volsize": GIB, "comments": "x"})
    assert errors(info)[0][0] == "pool_dataset_update.volsize"
    assert sim.world.tables == before


async def test_update_of_a_missing_dataset_names_it(sim: LocalSimulator) -> None:
    with pytest.raises(ValidationErrors) as info:
        await call(sim, "pool.dataset.update", "tank/nope", {"comments": "x"})
    assert errors(info)[0][2] == errno.ENOENT


async def test_delete_with_children_needs_recursive(sim: LocalSimulator) -> None:
    with pytest.raises(CallError) as info:
        await call(sim, "pool.dataset.delete", "tank/home")
    # plugins/pool_/dataset.py: ENOTEMPTY, the message naming the dataset as repr() does.
    assert info.value.errno == errno.ENOTEMPTY
    assert (
        info.value.errmsg == "Failed to delete dataset: cannot destroy 'tank/home': filesystem has children"
    )
    assert await call(sim, "pool.dataset.delete", "tank/home", {"recursive": True}) is True
    names = {d["id"] for d in sim.world.table("pool.dataset")}
    assert not any(n.startswith("tank/home") for n in names)
    assert not any(s["dataset"].startswith("tank/home") for s in sim.world.table("zfs.snapshot"))
    removed = [(e.collection, e.id) for e in sim.events if e.msg == "removed"]
    assert ("sharing.smb.query", 3) in removed and ("sharing.nfs.query", 2) in removed
    assert ("pool.dataset.query", "tank/home") in removed


async def test_recursive_delete_of_a_pool_root_keeps_the_root(sim: LocalSimulator) -> None:
    await call(sim, "pool.dataset.delete", "backup", {"recursive": True})
    assert [d["id"] for d in sim.world.table("pool.dataset") if d["id"].startswith("backup")] == ["backup"]


async def test_snapshot_create_by_name_and_by_naming_schema(sim: LocalSimulator) -> None:
    snap = await call(
        sim, "zfs.snapshot.create", {"dataset": "tank/media", "name": "pre-cleanup", "recursive": True}
    )
    assert snap["name"] == "tank/media@pre-cleanup" and snap["snapshot_name"] == "pre-cleanup"
    assert [e.id for e in sim.events] == [
        "tank/media@pre-cleanup",
        "tank/media/movies@pre-cleanup",
        "tank/media/music@pre-cleanup",
        "tank/media/tv@pre-cleanup",
    ]
    named = await call(
        sim, "zfs.snapshot.create", {"dataset": "tank/backups", "naming_schema": "manual-%Y%m%d-%H%M"}
    )
    assert named["snapshot_name"].startswith("manual-20")


@pytest.mark.parametrize(
    ("payload", "attribute"),
    [
        ({"dataset": "tank/media"}, "snapshot_create.naming_schema"),
        (
            {"dataset": "tank/media", "name": "a", "naming_schema": "x-%Y%m%d%H%M"},
            "snapshot_create.naming_schema",
        ),
        ({"dataset": "tank/media", "naming_schema": "x-%Y"}, "snapshot_create.naming_schema"),
        ({"dataset": "tank/nope", "name": "a"}, "snapshot_create.dataset"),
    ],
)
async def test_bad_snapshot_create_is_refused(
    sim: LocalSimulator, payload: dict[str, Any], attribute: str
) -> None:
    count = len(sim.world.table("zfs.snapshot"))
    with pytest.raises(ValidationErrors) as info:
        await call(sim, "zfs.snapshot.create", payload)
    assert errors(info)[0][0] == attribute
    assert len(sim.world.table("zfs.snapshot")) == count


async def test_snapshot_of_a_locked_dataset_fails(sim: LocalSimulator) -> None:
    with pytest.raises(CallError) as info:
        await call(sim, "zfs.snapshot.create", {"dataset": "tank/vault", "name": "x"})
    assert "locked" in info.value.errmsg


async def test_rollback_needs_recursive_when_newer_snapshots_exist(sim: LocalSimulator) -> None:
    target = "tank/documents@auto-2025-08-10_00-00"
    with pytest.raises(CallError) as info:
        await call(sim, "zfs.snapshot.rollback", target)
    assert "more recent snapshots" in info.value.errmsg and "auto-2025-08-14_00-00" in info.value.errmsg
    await call(sim, "zfs.snapshot.rollback", target, {"recursive": True})
    remaining = [s["id"] for s in sim.world.table("zfs.snapshot") if s["dataset"] == "tank/documents"]
    assert remaining[-1] == target
    assert ("zfs.snapshot.query", "removed", "tank/documents@auto-2025-08-14_00-00") in [
        (e.collection, e.msg, e.id) for e in sim.events
    ]


async def test_clone_creates_a_dataset_and_protects_its_origin(sim: LocalSimulator) -> None:
    source = "tank/vms/homeassistant@before-upgrade-2025.8"
    assert (
        await call(sim, "zfs.snapshot.clone", {"snapshot": source, "dataset_dst": "tank/vms/ha-test"}) is True
    )
    clone = await call(sim, "pool.dataset.get_instance", "tank/vms/ha-test")
    assert clone["type"] == "VOLUME" and clone["origin"]["value"] == source
    with pytest.raises(CallError) as info:
        await call(sim, "zfs.snapshot.delete", source)
    assert info.value.errno == errno.EBUSY and "dependent clones" in info.value.errmsg
    with pytest.raises(ValidationErrors) as verr:
        await call(sim, "zfs.snapshot.clone", {"snapshot": source, "dataset_dst": "tank/vms/ha-test"})
    assert errors(verr)[0][0] == "snapshot_clone.dataset_dst"


async def test_snapshot_delete_and_get_instance_miss(sim: LocalSimulator) -> None:
    target = "tank/media@auto-2025-07-24_00-00"
    assert await call(sim, "zfs.snapshot.delete", target) is True
    with pytest.raises(ValidationErrors) as info:
        await call(sim, "zfs.snapshot.get_instance", target)
    assert errors(info) == [(None, f"ZFSSnapshot {target} does not exist", errno.ENOENT)]
    with pytest.raises(CallError):
        await call(sim, "zfs.snapshot.delete", target)


async def test_snapshot_task_crud_and_run(sim: LocalSimulator) -> None:
    task = await call(
        sim,
        "pool.snapshottask.create",
        {"dataset": "tank/media", "recursive": True, "exclude": ["tank/media/tv"]},
    )
    assert task["schedule"]["minute"] == "00" and task["naming_schema"] == "auto-%Y-%m-%d_%H-%M"
    before = len(sim.world.table("zfs.snapshot"))
    await call(sim, "pool.snapshottask.run", task["id"])
    created = sim.world.table("zfs.snapshot")[before:]
    assert sorted(s["dataset"] for s in created) == ["tank/media", "tank/media/movies", "tank/media/music"]
    assert all(s["retention"]["periodic_snapshot_task_id"] == task["id"] for s in created)
    with pytest.raises(ValidationErrors) as info:
        await call(sim, "pool.snapshottask.update", task["id"], {"exclude": ["tank/home"]})
    assert errors(info)[0][0] == "data.exclude"
    assert await call(sim, "pool.snapshottask.delete", task["id"]) is True
    with pytest.raises(CallError) as busy:
        await call(sim, "pool.snapshottask.delete", 1)  # used by the replication task
    assert busy.value.errno == errno.EBUSY


async def test_scrub_job_reports_progress_and_finishes(sim: LocalSimulator) -> None:
    assert await call(sim, "pool.scrub.scrub", "backup", "START") is None
    job = sim.jobs[-1]
    percents = [p for p, _ in job.progress]
    assert percents == sorted(percents) and percents[-1] == 100
    pool = await call(sim, "pool.query", [["name", "=", "backup"]], {"get": True})
    assert pool["scan"]["state"] == "FINISHED" and pool["scan"]["percentage"] == 100.0
    assert [e.msg for e in sim.events] == ["changed", "changed"]


async def test_aborting_a_scrub_leaves_it_canceled(sim: LocalSimulator) -> None:
    ctx = sim.context("pool.scrub.scrub")
    assert ctx.job is not None
    from truenas_mcp.sim.services import HANDLERS

    task = asyncio.ensure_future(HANDLERS["pool.scrub.scrub"](ctx, ["tank"]))
    await asyncio.sleep(0)
    sim.jobs[-1].abort()
    with pytest.raises(asyncio.CancelledError):
        await task
    pool = sim.world.find("pool", "name", "tank")
    assert pool is not None and pool["scan"]["state"] == "CANCELED"


async def test_scrub_stop_without_a_running_scrub_is_an_error(sim: LocalSimulator) -> None:
    with pytest.raises(CallError) as info:
        await call(sim, "pool.scrub.scrub", "tank", "STOP")
    assert info.value.errno == errno.ENOENT


async def test_scrub_run_skips_a_recently_scrubbed_pool(sim: LocalSimulator) -> None:
    await call(sim, "pool.scrub.run", "tank")  # last scrub 11 days ago, threshold 35
    assert sim.jobs == []
    await call(sim, "pool.scrub.run", "tank", 7)
    assert len(sim.jobs) == 1
    with pytest.raises(CallError):
        await call(sim, "pool.scrub.run", "nope")


async def test_a_held_snapshot_cannot_be_deleted_until_released(sim: LocalSimulator) -> None:
    target = "tank/media@auto-2025-08-14_00-00"
    await call(sim, "zfs.snapshot.create", {"dataset": "tank/media", "name": "keep", "recursive": True})
    await call(sim, "zfs.snapshot.hold", "tank/media@keep", {"recursive": True})
    held = await call(sim, "zfs.snapshot.query", [["holds.truenas", "=", 1]], {"select": ["id"]})
    assert [h["id"] for h in held] == [
        "tank/media@keep",
        "tank/media/movies@keep",
        "tank/media/music@keep",
        "tank/media/tv@keep",
    ]
    with pytest.raises(CallError) as info:
        await call(sim, "zfs.snapshot.delete", "tank/media/tv@keep")
    assert info.value.errno == errno.EBUSY
    await call(sim, "zfs.snapshot.release", "tank/media/tv@keep")
    assert await call(sim, "zfs.snapshot.delete", "tank/media/tv@keep") is True
    assert await call(sim, "pool.dataset.snapshot_count", "tank/media") == 5
    assert await call(sim, "zfs.snapshot.delete", target) is True
