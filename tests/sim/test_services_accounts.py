"""Users, groups and API keys: CRUD with the middleware's checks, roles and the show-once key."""

from __future__ import annotations

import copy
import datetime as dt
import errno
from typing import Any

import pytest

from truenas_mcp.sim.api import Session
from truenas_mcp.sim.errors import CallError, ValidationErrors
from truenas_mcp.sim.services.local import Event, LocalSimulator
from truenas_mcp.sim.world_seed import demo_world


@pytest.fixture
def sim() -> LocalSimulator:
    return LocalSimulator(demo_world())


async def call(sim: LocalSimulator, method: str, *params: Any) -> Any:
    return await sim.call(None, method, list(params))


async def test_user_rows_carry_roles_from_privileges(sim: LocalSimulator) -> None:
    admin = await call(sim, "user.query", [["username", "=", "truenas_admin"]], {"get": True})
    assert admin["roles"] == ["FULL_ADMIN"] and admin["group"]["bsdgrp_group"] == "truenas_admin"
    readonly = await call(sim, "user.query", [["roles", "rin", "READONLY_ADMIN"]], {"select": ["username"]})
    assert readonly == [{"username": "alice"}]


async def test_create_user_with_its_own_group_and_log_in(sim: LocalSimulator) -> None:
    user = await call(
        sim,
        "user.create",
        {
            "username": "dave",
            "full_name": "Dave",
            "group_create": True,
            "password": "hunter22",
            "groups": [41],
        },
    )
    assert user["uid"] == 3002 and user["group"]["bsdgrp_group"] == "dave" and user["password"] is None
    assert sim.world.check_password("dave", "hunter22")
    assert Event("group.query", "added", user["group"]["id"]) in sim.events
    assert Event("user.query", "added", user["id"]) in sim.events
    group = await call(sim, "group.get_instance", 41)
    assert user["id"] in group["users"]


async def test_random_password_is_shown_in_the_answer(sim: LocalSimulator) -> None:
    user = await call(
        sim, "user.create", {"username": "eve", "full_name": "Eve", "group": 50, "random_password": True}
    )
    assert isinstance(user["password"], str) and sim.world.check_password("eve", user["password"])


@pytest.mark.parametrize(
    ("payload", "attribute"),
    [
        ({"username": "alice", "full_name": "A", "group": 50, "password": "x"}, "user_create.username"),
        ({"username": "bad name", "full_name": "A", "group": 50, "password": "x"}, "user_create.username"),
        ({"username": "zed", "full_name": "Z", "group": 50, "password": "x", "uid": 3000}, "user_create.uid"),
        ({"username": "zed", "full_name": "Z", "password": "x"}, "user_create.group"),
        ({"username": "zed", "full_name": "Z", "group": 999, "password": "x"}, "user_create.group"),
        ({"username": "zed", "full_name": "Z", "group": 50}, "user_create.password"),
        (
            {"username": "zed", "full_name": "Z", "group": 50, "password": "x", "home": "/etc"},
            "user_create.home",
        ),
        (
            {"username": "zed", "full_name": "Z", "group": 50, "password": "x", "groups": [998]},
            "user_create.groups.0",
        ),
    ],
)
async def test_bad_user_create_is_refused_without_changes(
    sim: LocalSimulator, payload: dict[str, Any], attribute: str
) -> None:
    before = copy.deepcopy(sim.world.tables)
    with pytest.raises(ValidationErrors) as info:
        await call(sim, "user.create", payload)
    assert attribute in [e[0] for e in info.value.errors]
    assert sim.world.tables == before and sim.events == []


async def test_renaming_a_user_moves_password_and_keys(sim: LocalSimulator) -> None:
    _, key = sim.world.add_api_key("bob", "bob-key")
    sim.world.set_password("bob", "pw")
    await call(sim, "user.update", 72, {"username": "robert"})
    assert sim.world.check_password("robert", "pw")
    assert sim.world.find_api_key(key, "robert") is not None


async def test_builtin_users_cannot_be_deleted_or_renamed(sim: LocalSimulator) -> None:
    with pytest.raises(CallError):
        await call(sim, "user.delete", 1)
    with pytest.raises(ValidationErrors) as info:
        await call(sim, "user.update", 1, {"username": "toor"})
    assert info.value.errors[0][0] == "user_update.username"


async def test_the_last_full_admin_cannot_be_deleted(sim: LocalSimulator) -> None:
    with pytest.raises(CallError) as info:
        await call(sim, "user.delete", 70)
    assert info.value.errno == errno.EPERM


async def test_delete_user_with_its_group(sim: LocalSimulator) -> None:
    assert await call(sim, "user.delete", 72, {"delete_group": True}) == 72
    assert sim.world.find("group", "group", "bob") is None
    assert sim.world.find("user", "username", "bob") is None
    with pytest.raises(ValidationErrors) as info:
        await call(sim, "user.get_instance", 72)
    assert info.value.errors == [(None, "User 72 does not exist", errno.ENOENT)]


async def test_group_crud_keeps_memberships_in_step(sim: LocalSimulator) -> None:
    gid = await call(sim, "group.create", {"name": "media-editors", "users": [71, 72]})
    alice = await call(sim, "user.get_instance", 71)
    assert gid in alice["groups"]
    await call(sim, "group.update", gid, {"users": [72]})
    alice = await call(sim, "user.get_instance", 71)
    assert gid not in alice["groups"]
    with pytest.raises(ValidationErrors) as info:
        await call(sim, "group.create", {"name": "media-editors"})
    assert info.value.errors[0][:2] == (
        "group_create.name",
        'A Group with the name "media-editors" already exists.',
    )
    assert await call(sim, "group.delete", gid) == gid
    with pytest.raises(CallError):
        await call(sim, "group.delete", 40)  # builtin_administrators


async def test_granting_a_privileged_group_changes_roles(sim: LocalSimulator) -> None:
    assert sim.world.roles_for("bob") == frozenset()
    await call(sim, "group.update", 45, {"users": [73, 72]})
    assert sim.world.roles_for("bob") == frozenset({"SHARING_ADMIN"})


async def test_api_key_is_shown_once_and_works(sim: LocalSimulator) -> None:
    created = await call(sim, "api_key.create", {"name": "ha", "username": "truenas_admin"})
    key = created["key"]
    assert sim.world.find_api_key(key, "truenas_admin") is not None
    listed = await call(sim, "api_key.query", [["id", "=", created["id"]]], {"get": True})
    assert "key" not in listed and listed["keyhash"].startswith("$pbkdf2-sha256$")
    admin = await call(sim, "user.get_instance", 70)
    assert created["id"] in admin["api_keys"]


async def test_api_key_reset_replaces_the_secret(sim: LocalSimulator) -> None:
    created = await call(sim, "api_key.create", {"name": "ha", "username": "truenas_admin"})
    reset = await call(sim, "api_key.update", created["id"], {"reset": True})
    assert reset["key"] != created["key"]
    assert sim.world.find_api_key(created["key"], None) is None
    assert sim.world.find_api_key(reset["key"], None) is not None
    renamed = await call(sim, "api_key.update", created["id"], {"name": "home-assistant"})
    assert "key" not in renamed and renamed["name"] == "home-assistant"


async def test_api_key_errors(sim: LocalSimulator) -> None:
    await call(sim, "api_key.create", {"name": "ha", "username": "truenas_admin"})
    with pytest.raises(ValidationErrors) as info:
        await call(sim, "api_key.create", {"name": "ha", "username": "ghost"})
    # plugins/api_key.py do_create: both on the schema name, uniqueness first.
    assert info.value.errors == [
        ("api_key_create", "name must be unique", errno.EINVAL),
        ("api_key_create", "User does not exist.", errno.EINVAL),
    ]
    with pytest.raises(ValidationErrors) as unprivileged:
        await call(sim, "api_key.create", {"name": "b", "username": "bob"})
    assert unprivileged.value.errors == [
        ("api_key_create", "User lacks privilege role membership.", errno.EINVAL)
    ]
    past = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(ValidationErrors):
        await call(sim, "api_key.create", {"name": "old", "username": "alice", "expires_at": past})
    with pytest.raises(ValidationErrors) as miss:
        await call(sim, "api_key.delete", 99)
    assert miss.value.errors == [(None, "ApiKey 99 does not exist", errno.ENOENT)]


async def test_non_admins_cannot_create_keys_for_others(sim: LocalSimulator) -> None:
    sim.session = Session(
        id="s",
        remote_addr="127.0.0.1",
        secure_transport=True,
        username="carol",
        roles=frozenset({"SHARING_ADMIN"}),
    )
    with pytest.raises(CallError) as info:
        await call(sim, "api_key.create", {"name": "x", "username": "alice"})
    assert info.value.errno == errno.EACCES
    assert info.value.errmsg == (
        "carol: authenticated user lacks privileges to create or modify API keys of other users."
    )
    own = await call(sim, "api_key.create", {"name": "mine", "username": "carol"})
    assert own["username"] == "carol"


async def test_deleting_a_key_removes_it_from_its_user(sim: LocalSimulator) -> None:
    created = await call(sim, "api_key.create", {"name": "ha", "username": "alice"})
    assert await call(sim, "api_key.delete", created["id"]) is True
    alice = await call(sim, "user.get_instance", 71)
    assert created["id"] not in alice["api_keys"]
    assert sim.events[-1] == Event("api_key.query", "removed", created["id"])


async def test_api_key_expiry_accepts_iso_text_and_datetimes(sim: LocalSimulator) -> None:
    created = await call(
        sim, "api_key.create", {"name": "a", "username": "alice", "expires_at": "2030-01-01T00:00:00"}
    )
    assert created["expires_at"] == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    updated = await call(
        sim, "api_key.update", created["id"], {"expires_at": dt.datetime(2031, 1, 1, tzinfo=dt.UTC)}
    )
    assert updated["expires_at"].year == 2031
    with pytest.raises(ValidationErrors) as info:
        await call(sim, "api_key.update", created["id"], {"expires_at": "next tuesday"})
    assert info.value.errors[0][0] == "api_key_update.expires_at"


async def test_my_keys_lists_only_the_callers_keys(sim: LocalSimulator) -> None:
    await call(sim, "api_key.create", {"name": "admin-key", "username": "truenas_admin"})
    await call(sim, "api_key.create", {"name": "alice-key", "username": "alice"})
    assert [k["name"] for k in await call(sim, "api_key.my_keys")] == ["admin-key"]


async def test_the_demo_box_has_its_local_administrator(sim: LocalSimulator) -> None:
    assert await call(sim, "user.has_local_administrator_set_up") is True
    sim.world.passwords.pop("truenas_admin")
    assert await call(sim, "user.has_local_administrator_set_up") is False
