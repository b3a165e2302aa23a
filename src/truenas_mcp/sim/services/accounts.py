"""``user.*``, ``group.*`` and ``api_key.*``: local accounts, their privileges and their API keys."""

from __future__ import annotations

import copy
import errno
import re
import secrets
from typing import Any, Final

from truenas_mcp.sim.api import CallContext, Handler
from truenas_mcp.sim.errors import CallError, ValidationErrors, instance_not_found
from truenas_mcp.sim.services.common import (
    arg,
    as_datetime,
    emit,
    get_instance_handler,
    query_handler,
    require,
    world,
)
from truenas_mcp.sim.services.demo_rows import group_ref, new_group, new_user
from truenas_mcp.sim.state import World, hash_secret

_NAME_RE: Final = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.\-]{0,31}\$?$")
_MIN_ID: Final = 3000
_SHELLS: Final = ("/usr/bin/bash", "/usr/bin/zsh", "/usr/bin/sh", "/usr/sbin/nologin", "/usr/bin/tmux")


def user_rows(ctx: CallContext, options: dict[str, Any]) -> list[dict[str, Any]]:
    """User rows with ``roles`` resolved from privileges at query time (they follow group changes)."""
    w = world(ctx)
    rows = copy.deepcopy(w.table("user"))
    for row in rows:
        row["roles"] = sorted(w.roles_for(row["username"]))
        group = w.find("group", "id", row["group"]["id"])
        if group is not None:
            row["group"] = group_ref(group)
    return rows


def group_rows(ctx: CallContext, options: dict[str, Any]) -> list[dict[str, Any]]:
    w = world(ctx)
    rows = copy.deepcopy(w.table("group"))
    for row in rows:
        roles: set[str] = set()
        for privilege in w.table("privilege"):
            if row["gid"] in privilege.get("local_groups", []):
                roles.update(privilege["roles"])
        row["roles"] = sorted(roles)
    return rows


def _next_free(w: World, table: str, key: str) -> int:
    used = {row[key] for row in w.table(table)}
    value = _MIN_ID
    while value in used:
        value += 1
    return value


def _validate_user(
    w: World, data: dict[str, Any], payload: dict[str, Any], ident: int | None, prefix: str
) -> ValidationErrors:
    """Check the merged row ``data``; home and shell only when the ``payload`` sets them (builtins keep
    homes such as ``/root`` that a new value may not use)."""
    verrors = ValidationErrors()
    username = data.get("username", "")
    if not _NAME_RE.match(username):
        verrors.add(f"{prefix}.username", "Valid characters are: a-z A-Z 0-9 _ . - (and a trailing $)")
    existing = w.find("user", "username", username)
    if existing is not None and existing["id"] != ident:
        verrors.add(
            f"{prefix}.username", f'A user with the username "{username}" already exists.', errno.EEXIST
        )
    uid = data.get("uid")
    if uid is not None:
        owner = w.find("user", "uid", uid)
        if owner is not None and owner["id"] != ident:
            verrors.add(
                f"{prefix}.uid", f"Uid {uid} is already used (user {owner['username']} has it)", errno.EEXIST
            )
    home = payload.get("home", "/var/empty")
    if home != "/var/empty" and not home.startswith("/mnt/"):
        verrors.add(f"{prefix}.home", '"Home Directory" must begin with /mnt/ or set to /var/empty.')
    if payload.get("shell") not in (None, *_SHELLS):
        verrors.add(f"{prefix}.shell", "Please select a valid shell.")
    for index, group_id in enumerate(data.get("groups", [])):
        if w.find("group", "id", group_id) is None:
            verrors.add(f"{prefix}.groups.{index}", f"Group {group_id} does not exist", errno.ENOENT)
    if data.get("smb") and data.get("password_disabled"):
        verrors.add(f"{prefix}.smb", "Password authentication may not be disabled for SMB users.")
    return verrors


def _new_password(data: dict[str, Any]) -> str | None:
    if data.get("random_password"):
        return secrets.token_urlsafe(12)
    return data.get("password")


async def user_create(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    w = world(ctx)
    data = arg(params, 0, {})
    prefix = "user_create"
    verrors = _validate_user(w, data, data, None, prefix)
    group_id = data.get("group")
    if data.get("group_create"):
        if group_id is not None:
            verrors.add(f"{prefix}.group", "Enter either a group name or create a new group to continue.")
        if w.find("group", "group", data.get("username")) is not None:
            verrors.add(
                f"{prefix}.group_create", f'Group "{data.get("username")}" already exists.', errno.EEXIST
            )
    elif group_id is None:
        verrors.add(f"{prefix}.group", "Enter either a group name or create a new group to continue.")
    elif w.find("group", "id", group_id) is None:
        verrors.add(f"{prefix}.group", f"Group {group_id} not found", errno.ENOENT)
    password = _new_password(data)
    if password is None and not data.get("password_disabled"):
        verrors.add(f"{prefix}.password", "Password is required")
    if data.get("random_password") and data.get("password"):
        verrors.add(
            f"{prefix}.random_password", "Requesting a randomized password while specifying an explicit one"
        )
    verrors.check()

    uid = data.get("uid") if data.get("uid") is not None else _next_free(w, "user", "uid")
    if data.get("group_create"):
        group = new_group(
            w.next_id("group"),
            uid if w.find("group", "gid", uid) is None else _next_free(w, "group", "gid"),
            data["username"],
            False,
            bool(data.get("smb", True)),
        )
        w.table("group").append(group)
        emit(ctx, "group.query", "added", group["id"])
    else:
        found = w.find("group", "id", group_id)
        assert found is not None
        group = found
    row = new_user(
        w,
        w.next_id("user"),
        uid,
        data["username"],
        data["full_name"],
        group,
        data.get("groups", []),
        False,
        data.get("home", "/var/empty"),
        data.get("shell", "/usr/bin/zsh"),
        bool(data.get("smb", True)),
    )
    for key in (
        "email",
        "locked",
        "password_disabled",
        "ssh_password_enabled",
        "sshpubkey",
        "sudo_commands",
        "sudo_commands_nopasswd",
        "userns_idmap",
    ):
        if key in data:
            row[key] = copy.deepcopy(data[key])
    row["last_password_change"] = w.now() if password else None
    row["password_age"] = 0 if password else None
    w.table("user").append(row)
    for gid_ref in [group["id"], *row["groups"]]:
        member_of = w.find("group", "id", gid_ref)
        if member_of is not None and row["id"] not in member_of["users"]:
            member_of["users"].append(row["id"])
    if password is not None:
        w.passwords[row["username"]] = hash_secret(password, secrets.token_bytes(16))
    emit(ctx, "user.query", "added", row["id"])
    result = next(r for r in user_rows(ctx, {}) if r["id"] == row["id"])
    result["password"] = password if data.get("random_password") else None
    return result


async def user_update(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    w = world(ctx)
    ident = arg(params, 0)
    data = arg(params, 1, {})
    row = require(w.find("user", "id", ident), "User", ident)
    prefix = "user_update"
    merged = {**copy.deepcopy(row), **data}
    verrors = _validate_user(w, merged, data, ident, prefix)
    if row["immutable"] and "username" in data and data["username"] != row["username"]:
        verrors.add(f"{prefix}.username", "Username of a built-in user cannot be changed")
    if "group" in data and data["group"] is not None and w.find("group", "id", data["group"]) is None:
        verrors.add(f"{prefix}.group", f"Group {data['group']} not found", errno.ENOENT)
    password = _new_password(data)
    verrors.check()

    old_name = row["username"]
    for key, value in data.items():
        if key in row and key not in ("group", "id", "uid", "builtin", "immutable"):
            row[key] = copy.deepcopy(value)
    if data.get("group") is not None:
        group = w.find("group", "id", data["group"])
        assert group is not None
        row["group"] = group_ref(group)
    if row["username"] != old_name:
        if old_name in w.passwords:
            w.passwords[row["username"]] = w.passwords.pop(old_name)
        for key in w.table("api_key"):
            if key["username"] == old_name:
                key["username"] = row["username"]
    if password is not None:
        w.passwords[row["username"]] = hash_secret(password, secrets.token_bytes(16))
        row["last_password_change"] = w.now()
        row["password_age"] = 0
    emit(ctx, "user.query", "changed", ident)
    result = next(r for r in user_rows(ctx, {}) if r["id"] == ident)
    result["password"] = password if data.get("random_password") else None
    return result


async def user_delete(ctx: CallContext, params: list[Any]) -> int:
    w = world(ctx)
    ident = arg(params, 0)
    options = arg(params, 1, {})
    row = require(w.find("user", "id", ident), "User", ident)
    if row["builtin"]:
        raise CallError("Cannot delete a built-in user", errno.EINVAL)
    if "FULL_ADMIN" in w.roles_for(row["username"]):
        others = [
            u
            for u in w.table("user")
            if u["id"] != ident
            and "FULL_ADMIN" in w.roles_for(u["username"])
            and not u.get("password_disabled")
        ]
        if not others:
            raise CallError(
                "After deletion of this user no local user will have FULL_ADMIN privileges", errno.EPERM
            )
    w.tables["user"] = [u for u in w.table("user") if u["id"] != ident]
    w.passwords.pop(row["username"], None)
    w.tables["api_key"] = [k for k in w.table("api_key") if k["username"] != row["username"]]
    for group in w.table("group"):
        if ident in group["users"]:
            group["users"].remove(ident)
    primary = w.find("group", "id", row["group"]["id"])
    if (
        options.get("delete_group")
        and primary is not None
        and not primary["builtin"]
        and not primary["users"]
    ):
        w.tables["group"] = [g for g in w.table("group") if g["id"] != primary["id"]]
        emit(ctx, "group.query", "removed", primary["id"])
    emit(ctx, "user.query", "removed", ident)
    return int(ident)


async def user_get_next_uid(ctx: CallContext, params: list[Any]) -> int:
    return _next_free(world(ctx), "user", "uid")


async def group_get_next_gid(ctx: CallContext, params: list[Any]) -> int:
    return _next_free(world(ctx), "group", "gid")


def _validate_group(w: World, data: dict[str, Any], ident: int | None, prefix: str) -> ValidationErrors:
    verrors = ValidationErrors()
    name = data.get("name", "")
    if not _NAME_RE.match(name):
        verrors.add(f"{prefix}.name", "Valid characters are: a-z A-Z 0-9 _ . - (and a trailing $)")
    existing = w.find("group", "group", name)
    if existing is not None and existing["id"] != ident:
        verrors.add(f"{prefix}.name", f'A Group with the name "{name}" already exists.', errno.EEXIST)
    gid = data.get("gid")
    if gid is not None:
        owner = w.find("group", "gid", gid)
        if owner is not None and owner["id"] != ident:
            verrors.add(f"{prefix}.gid", f"Gid {gid} is already used.", errno.EEXIST)
    for index, user_id in enumerate(data.get("users", [])):
        if w.find("user", "id", user_id) is None:
            verrors.add(f"{prefix}.users.{index}", f"User {user_id} does not exist", errno.ENOENT)
    return verrors


def _set_members(w: World, group: dict[str, Any], users: list[int]) -> None:
    group["users"] = list(users)
    for user in w.table("user"):
        if user["group"]["id"] == group["id"]:
            continue
        if user["id"] in users and group["id"] not in user["groups"]:
            user["groups"].append(group["id"])
        elif user["id"] not in users and group["id"] in user["groups"]:
            user["groups"].remove(group["id"])


async def group_create(ctx: CallContext, params: list[Any]) -> int:
    w = world(ctx)
    data = arg(params, 0, {})
    _validate_group(w, data, None, "group_create").check()
    gid = data.get("gid") if data.get("gid") is not None else _next_free(w, "group", "gid")
    group = new_group(w.next_id("group"), gid, data["name"], False, bool(data.get("smb", True)))
    for key in ("sudo_commands", "sudo_commands_nopasswd", "userns_idmap"):
        if key in data:
            group[key] = copy.deepcopy(data[key])
    w.table("group").append(group)
    _set_members(w, group, data.get("users", []))
    emit(ctx, "group.query", "added", group["id"])
    return int(group["id"])


async def group_update(ctx: CallContext, params: list[Any]) -> int:
    w = world(ctx)
    ident = arg(params, 0)
    data = arg(params, 1, {})
    group = require(w.find("group", "id", ident), "Group", ident)
    merged = {**copy.deepcopy(group), **data}
    verrors = _validate_group(w, merged, ident, "group_update")
    if group["builtin"] and "name" in data and data["name"] != group["name"]:
        verrors.add("group_update.name", "Name of a built-in group cannot be changed")
    verrors.check()
    for key in ("name", "smb", "sudo_commands", "sudo_commands_nopasswd", "userns_idmap"):
        if key in data:
            group[key] = copy.deepcopy(data[key])
    group["group"] = group["name"]
    if "users" in data:
        _set_members(w, group, data["users"])
    emit(ctx, "group.query", "changed", ident)
    return int(ident)


async def group_delete(ctx: CallContext, params: list[Any]) -> int:
    w = world(ctx)
    ident = arg(params, 0)
    group = require(w.find("group", "id", ident), "Group", ident)
    if group["builtin"]:
        raise CallError("A built-in group cannot be deleted.", errno.EINVAL)
    primary_of = [u["username"] for u in w.table("user") if u["group"]["id"] == ident]
    if primary_of and not arg(params, 1, {}).get("delete_users"):
        raise CallError(f"Group is the primary group of: {', '.join(primary_of)}", errno.EBUSY)
    for user in [u for u in w.table("user") if u["group"]["id"] == ident]:
        w.tables["user"] = [u for u in w.table("user") if u["id"] != user["id"]]
        emit(ctx, "user.query", "removed", user["id"])
    for user in w.table("user"):
        if ident in user["groups"]:
            user["groups"].remove(ident)
    w.tables["group"] = [g for g in w.table("group") if g["id"] != ident]
    emit(ctx, "group.query", "removed", ident)
    return int(ident)


# -- API keys -----------------------------------------------------------------------------------------

MAX_KEYS_PER_USER: Final = 10  # utils/user_api_key.py PAM_TDB_MAX_KEYS (also in pam_tdb.c)


def api_key_rows(ctx: CallContext, options: dict[str, Any]) -> list[dict[str, Any]]:
    rows = copy.deepcopy(world(ctx).table("api_key"))
    for row in rows:
        row.pop("revoked_reason", None)
    return rows


async def api_key_create(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    """``plugins/api_key.py do_create``: the privilege check first, then validation, in its order."""
    w = world(ctx)
    data = arg(params, 0, {})
    name, username = data.get("name", ""), data.get("username", "")
    session = ctx.session
    # Checked before anything else so that a refusal reveals nothing about other accounts.
    if (
        session.username is not None
        and not session.full_admin
        and not session.has_role("API_KEY_WRITE")
        and session.username != username
    ):
        raise CallError(
            f"{session.username}: authenticated user lacks privileges to create or modify API keys of "
            "other users.",
            errno.EACCES,
        )
    verrors = ValidationErrors()
    if w.find("api_key", "name", name) is not None:
        verrors.add("api_key_create", "name must be unique")
    expires_at = as_datetime(data.get("expires_at"), "api_key_create.expires_at")
    if expires_at is not None and expires_at <= w.now():
        verrors.add("api_key_create", "Expiration date is in the past")
    user = w.find("user", "username", username)
    if user is None:
        verrors.add("api_key_create", "User does not exist.")
    elif not w.roles_for(username):
        verrors.add("api_key_create", "User lacks privilege role membership.")
    elif sum(1 for k in w.table("api_key") if k["username"] == username) >= MAX_KEYS_PER_USER:
        verrors.add(
            "api_key_create.username",
            f"User already meets or exceeds maximum per-user API key limit of {MAX_KEYS_PER_USER}",
        )
    verrors.check()
    record, key = w.add_api_key(username, name)
    row = w.find("api_key", "id", record.id)
    assert row is not None
    row["expires_at"] = expires_at
    emit(ctx, "api_key.query", "added", record.id)
    result = next(r for r in api_key_rows(ctx, {}) if r["id"] == record.id)
    result["key"] = key
    return result


async def api_key_update(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    w = world(ctx)
    ident = arg(params, 0)
    data = arg(params, 1, {})
    row = w.find("api_key", "id", ident)
    if row is None:
        raise instance_not_found("ApiKey", ident)
    verrors = ValidationErrors()
    if "name" in data:
        other = w.find("api_key", "name", data["name"])
        if other is not None and other["id"] != ident:
            verrors.add("api_key_update.name", "name must be unique", errno.EEXIST)
    if "expires_at" in data:
        data = {**data, "expires_at": as_datetime(data["expires_at"], "api_key_update.expires_at")}
    if data.get("expires_at") is not None and data["expires_at"] <= w.now():
        verrors.add("api_key_update.expires_at", "Expiration date is in the past")
    verrors.check()
    key = None
    if data.get("reset"):
        secret = secrets.token_urlsafe(48)[:64]
        row["keyhash"] = hash_secret(secret, secrets.token_bytes(16))
        row["revoked"] = False
        row["expires_at"] = None
        key = f"{ident}-{secret}"
    for field in ("name", "expires_at"):
        if field in data:
            row[field] = data[field]
    emit(ctx, "api_key.query", "changed", ident)
    result = next(r for r in api_key_rows(ctx, {}) if r["id"] == ident)
    if key is not None:
        result["key"] = key
    return result


async def api_key_delete(ctx: CallContext, params: list[Any]) -> bool:
    w = world(ctx)
    ident = arg(params, 0)
    row = w.find("api_key", "id", ident)
    if row is None:
        raise instance_not_found("ApiKey", ident)
    w.delete_api_key(ident)
    emit(ctx, "api_key.query", "removed", ident)
    return True


async def api_key_my_keys(ctx: CallContext, params: list[Any]) -> list[dict[str, Any]]:
    return [row for row in api_key_rows(ctx, {}) if row["username"] == ctx.session.username]


async def has_local_administrator_set_up(ctx: CallContext, params: list[Any]) -> bool:
    """True once a local account with FULL_ADMIN and a usable password exists (the setup wizard ran)."""
    w = world(ctx)
    return any(
        user["uid"] != 0 and "FULL_ADMIN" in w.roles_for(user["username"]) and user["username"] in w.passwords
        for user in w.table("user")
    )


HANDLERS: dict[str, Handler] = {
    "user.query": query_handler(user_rows),
    "user.get_instance": get_instance_handler(user_rows, "User"),
    "user.create": user_create,
    "user.update": user_update,
    "user.delete": user_delete,
    "user.get_next_uid": user_get_next_uid,
    "group.query": query_handler(group_rows),
    "group.get_instance": get_instance_handler(group_rows, "Group"),
    "group.create": group_create,
    "group.update": group_update,
    "group.delete": group_delete,
    "group.get_next_gid": group_get_next_gid,
    "api_key.query": query_handler(api_key_rows),
    "api_key.get_instance": get_instance_handler(api_key_rows, "ApiKey"),
    "api_key.create": api_key_create,
    "api_key.update": api_key_update,
    "api_key.delete": api_key_delete,
    "api_key.my_keys": api_key_my_keys,
    "user.has_local_administrator_set_up": has_local_administrator_set_up,
}
