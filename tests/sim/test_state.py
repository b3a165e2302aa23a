"""The world: seeded demo, state file round trip, passwords, API keys and roles."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from truenas_mcp import ejson
from truenas_mcp.sim.state import ApiKeyRecord, World
from truenas_mcp.sim.world_seed import DEMO_ADMIN, DEMO_ADMIN_PASSWORD, demo_world


def canonical(world: World) -> str:
    data = world.to_dict()
    data.pop("base_time")  # advances with the process clock
    return ejson.dumps(data, sort_keys=True)


def test_the_same_seed_gives_the_same_world() -> None:
    assert canonical(demo_world(7)) == canonical(demo_world(7))


def test_different_seeds_give_different_worlds() -> None:
    assert canonical(demo_world(1)) != canonical(demo_world(2))


def test_the_demo_world_is_the_same_under_other_hash_seeds() -> None:
    code = (
        "import hashlib; from truenas_mcp.sim.world_seed import demo_world; from truenas_mcp import ejson;"
        "d=demo_world(3).to_dict(); d.pop('base_time');"
        "print(hashlib.sha256(ejson.dumps(d,sort_keys=True).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("0", "99")
    }
    assert len(digests) == 1


def test_the_demo_world_has_what_the_demo_promises() -> None:
    world = demo_world()
    pools = {p["name"]: p for p in world.table("pool")}
    assert pools["tank"]["healthy"] and pools["tank"]["status"] == "ONLINE"
    assert pools["backup"]["status"] == "DEGRADED" and not pools["backup"]["healthy"]
    mirror = pools["backup"]["topology"]["data"][0]
    assert "FAULTED" in [disk["status"] for disk in mirror["children"]]
    datasets = {d["id"] for d in world.table("pool.dataset")}
    assert {"tank", "tank/media", "tank/home/alice", "tank/documents", "tank/vms/homeassistant"} <= datasets
    assert len(world.table("zfs.snapshot")) >= 20
    assert world.table("sharing.smb") and world.table("sharing.nfs")
    assert "VolumeStatus" in {a["klass"] for a in world.table("alert")}
    assert {a["name"] for a in world.table("app")} >= {"nextcloud", "plex"}
    assert all(app["state"] == "RUNNING" for app in world.table("app"))
    assert world.find("user", "username", DEMO_ADMIN) is not None


def test_state_file_round_trip_keeps_every_value_including_datetimes(tmp_path: Path) -> None:
    world = demo_world()
    path = tmp_path / "state.json"
    world.save(path)
    loaded = World.load(path)
    assert canonical(loaded) == canonical(world)
    assert isinstance(loaded.table("zfs.snapshot")[0]["created"], dt.datetime)
    assert loaded.now() >= world.base_time
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary file left behind


def test_saving_replaces_the_file_atomically(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("old")
    demo_world().save(path)
    assert json.loads(path.read_text())["format"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "top level must be an object"),
        ('{"format": 99}', "unsupported format 99"),
        ('{"format": 1, "base_time": "now"}', "base_time must be"),
        (
            '{"format": 1, "base_time": {"$date": 0}, "system": {}, "tables": [], "next_ids": {},'
            ' "passwords": {}}',
            "tables must be an object",
        ),
        (
            '{"format": 1, "base_time": {"$date": 0}, "system": {}, "tables": {"x": [1]}, "next_ids": {},'
            ' "passwords": {}}',
            "tables.x must be a list of objects",
        ),
    ],
)
def test_a_bad_state_file_is_refused_with_the_reason(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        World.load(path)


def test_password_check_accepts_the_demo_admin_and_rejects_the_rest() -> None:
    world = demo_world()
    assert world.check_password(DEMO_ADMIN, DEMO_ADMIN_PASSWORD)
    assert not world.check_password(DEMO_ADMIN, "wrong")
    assert not world.check_password("nobody-here", DEMO_ADMIN_PASSWORD)
    assert not world.check_password("root", "")  # password disabled


def test_a_locked_user_cannot_log_in_with_a_password() -> None:
    world = demo_world()
    world.set_password("alice", "pw", salt=b"0" * 16)
    assert world.check_password("alice", "pw")
    user = world.find("user", "username", "alice")
    assert user is not None
    user["locked"] = True
    assert not world.check_password("alice", "pw")


def test_roles_come_from_the_privileges_of_the_users_groups() -> None:
    world = demo_world()
    assert world.roles_for(DEMO_ADMIN) == frozenset({"FULL_ADMIN"})
    assert world.roles_for("alice") == frozenset({"READONLY_ADMIN"})
    assert world.roles_for("carol") == frozenset({"SHARING_ADMIN"})
    assert world.roles_for("bob") == frozenset()
    assert world.roles_for("ghost") == frozenset()


def test_a_new_api_key_is_found_by_its_plain_key_and_owner() -> None:
    world = demo_world()
    record, key = world.add_api_key(DEMO_ADMIN, "automation")
    key_id, _, secret = key.partition("-")
    assert int(key_id) == record.id and len(secret) == 64
    assert world.find_api_key(key, DEMO_ADMIN) == record
    assert world.find_api_key(key, None) == record
    assert world.find_api_key(key, "alice") is None
    assert world.find_api_key(f"{key_id}-wrong", None) is None
    assert world.find_api_key("garbage", None) is None
    assert world.find_api_key(f"999-{secret}", None) is None
    owner = world.find("user", "username", DEMO_ADMIN)
    assert owner is not None and record.id in owner["api_keys"]


def test_an_api_key_can_be_given_whole_or_as_a_bare_secret() -> None:
    world = demo_world()
    record, key = world.add_api_key(DEMO_ADMIN, "from-file", key="42-s3cr3t")
    assert (record.id, key) == (42, "42-s3cr3t")
    other, other_key = world.add_api_key(DEMO_ADMIN, "bare", key="just-a-secret")
    assert other.id == 43 and other_key == "43-just-a-secret"
    assert world.find_api_key(other_key, DEMO_ADMIN) == other
    with pytest.raises(ValueError, match="id 42 is already in use"):
        world.add_api_key(DEMO_ADMIN, "again", key="42-other")
    with pytest.raises(ValueError, match="does not exist"):
        world.add_api_key("ghost", "x")


def test_revoking_a_key_marks_it_and_raises_the_alert() -> None:
    world = demo_world()
    record, key = world.add_api_key(DEMO_ADMIN, "laptop")
    alerts_before = len(world.table("alert"))
    world.revoke_api_key(record.id, "insecure transport")
    found = world.find_api_key(key, DEMO_ADMIN)
    assert isinstance(found, ApiKeyRecord) and found.revoked
    new_alerts = world.table("alert")[alerts_before:]
    assert [a["klass"] for a in new_alerts] == ["ApiKeyRevoked"]
    assert "laptop" in new_alerts[0]["text"]
    with pytest.raises(KeyError):
        world.revoke_api_key(999, "x")


def test_ids_are_never_reused() -> None:
    world = demo_world()
    first = world.next_id("sharing.smb")
    world.tables["sharing.smb"] = [s for s in world.table("sharing.smb") if s["id"] != first - 1]
    assert world.next_id("sharing.smb") == first + 1
