"""Demo accounts (groups, users, privileges) and shares, and the row builders their services reuse."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any, Final

from truenas_mcp.sim.state import World, hash_secret

BASE_TIME: Final = dt.datetime(2025, 8, 14, 9, 30, 0, tzinfo=dt.UTC)

# (id, gid, name, builtin, sudo_commands, smb)
_GROUPS: Final = [
    (1, 0, "root", True, False),
    (2, 1, "daemon", True, False),
    (40, 544, "builtin_administrators", True, False),
    (41, 545, "builtin_users", True, True),
    (42, 546, "builtin_guests", True, False),
    (43, 568, "apps", True, False),
    (44, 951, "truenas_readonly_administrators", True, False),
    (45, 952, "truenas_sharing_administrators", True, False),
    (46, 65534, "nogroup", True, False),
    (47, 950, "truenas_admin", False, False),
    (48, 3000, "alice", False, True),
    (49, 3001, "bob", False, True),
    (50, 3002, "family", False, True),
    (51, 3003, "carol", False, True),
]
# The seeded people who log in: alice is a read-only administrator, carol a sharing administrator and bob
# has no privilege (so TrueNAS gives him no API key and refuses him the API).
DEMO_USERS: Final = ("alice", "bob", "carol")
# (id, uid, username, full name, primary group id, auxiliary group ids, builtin, home, shell, smb, extra)
_USERS: Final[list[tuple[int, int, str, str, int, list[int], bool, str, str, bool, dict[str, Any]]]] = [
    (1, 0, "root", "root", 1, [40], True, "/root", "/usr/bin/zsh", False, {"password_disabled": True}),
    (
        2,
        1,
        "daemon",
        "Daemon",
        2,
        [],
        True,
        "/var/empty",
        "/usr/sbin/nologin",
        False,
        {"password_disabled": True},
    ),
    (
        3,
        568,
        "apps",
        "Unprivileged Apps User",
        43,
        [],
        True,
        "/var/empty",
        "/usr/sbin/nologin",
        False,
        {"password_disabled": True},
    ),
    (
        4,
        65534,
        "nobody",
        "Unprivileged User",
        46,
        [],
        True,
        "/var/empty",
        "/usr/sbin/nologin",
        False,
        {"password_disabled": True},
    ),
    (
        70,
        950,
        "truenas_admin",
        "Local Administrator",
        47,
        [40],
        False,
        "/home/truenas_admin",
        "/usr/bin/zsh",
        False,
        {"sudo_commands_nopasswd": ["ALL"], "email": "admin@example.home"},
    ),
    (
        71,
        3000,
        "alice",
        "Alice Janssen",
        48,
        [41, 50, 44],
        False,
        "/mnt/tank/home/alice",
        "/usr/bin/bash",
        True,
        {
            "email": "alice@example.home",
            "sshpubkey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG3wq0Y1d4P alice@laptop",
        },
    ),
    (72, 3001, "bob", "Bob Janssen", 49, [41, 50], False, "/mnt/tank/home/bob", "/usr/bin/bash", True, {}),
    (
        73,
        3003,
        "carol",
        "Carol de Vries",
        51,
        [41, 45],
        False,
        "/var/empty",
        "/usr/sbin/nologin",
        True,
        {"email": "carol@example.home"},
    ),
]


def group_ref(group: dict[str, Any]) -> dict[str, Any]:
    """The ``group`` member of a user row (the middleware's ``bsdgrp_*`` view of the primary group)."""
    return {
        "id": group["id"],
        "bsdgrp_gid": group["gid"],
        "bsdgrp_group": group["group"],
        "bsdgrp_builtin": group["builtin"],
        "bsdgrp_sudo_commands": list(group["sudo_commands"]),
        "bsdgrp_sudo_commands_nopasswd": list(group["sudo_commands_nopasswd"]),
        "bsdgrp_smb": group["smb"],
        "bsdgrp_userns_idmap": 0,
    }


def new_group(group_id: int, gid: int, name: str, builtin: bool, smb: bool) -> dict[str, Any]:
    return {
        "id": group_id,
        "gid": gid,
        "name": name,
        "group": name,
        "builtin": builtin,
        "sudo_commands": [],
        "sudo_commands_nopasswd": [],
        "smb": smb,
        "userns_idmap": None,
        "users": [],
        "local": True,
        "id_type_both": False,
        "sid": f"S-1-5-21-3285674829-1624318739-1042538947-{200000 + gid}" if smb else None,
        "roles": [],
    }


def new_user(
    world: World,
    user_id: int,
    uid: int,
    username: str,
    full_name: str,
    group: dict[str, Any],
    aux: list[int],
    builtin: bool,
    home: str,
    shell: str,
    smb: bool,
) -> dict[str, Any]:
    return {
        "id": user_id,
        "uid": uid,
        "username": username,
        "unixhash": "*",
        "smbhash": "*",
        "home": home,
        "shell": shell,
        "full_name": full_name,
        "builtin": builtin,
        "smb": smb,
        "userns_idmap": None,
        "group": group_ref(group),
        "groups": list(aux),
        "password_disabled": False,
        "ssh_password_enabled": False,
        "sshpubkey": None,
        "locked": False,
        "sudo_commands": [],
        "sudo_commands_nopasswd": [],
        "email": None,
        "id_type_both": False,
        "local": True,
        "immutable": builtin,
        "twofactor_auth_configured": False,
        "sid": f"S-1-5-21-3285674829-1624318739-1042538947-{20000 + uid}" if smb else None,
        "last_password_change": None if builtin else world.base_time - dt.timedelta(days=uid % 97 + 30),
        "password_age": None if builtin else uid % 97 + 30,
        "password_history": None,
        "password_change_required": False,
        "roles": [],
        "api_keys": [],
    }


def seed_accounts(world: World, rng: random.Random) -> None:
    for group_id, gid, name, builtin, smb in _GROUPS:
        world.table("group").append(new_group(group_id, gid, name, builtin, smb))
    for user_id, uid, username, full_name, gid_ref, aux, builtin, home, shell, smb, extra in _USERS:
        group = world.find("group", "id", gid_ref)
        assert group is not None
        row = new_user(world, user_id, uid, username, full_name, group, aux, builtin, home, shell, smb)
        row.update(extra)
        world.table("user").append(row)
    for user in world.table("user"):
        for group_id in [user["group"]["id"], *user["groups"]]:
            group = world.find("group", "id", group_id)
            if group is not None and user["id"] not in group["users"]:
                group["users"].append(user["id"])
    world.table("privilege").extend(
        [
            {
                "id": 1,
                "name": "Local Administrator",
                "builtin_name": "LOCAL_ADMINISTRATOR",
                "local_groups": [544],
                "ds_groups": [],
                "roles": ["FULL_ADMIN"],
                "web_shell": True,
            },
            {
                "id": 2,
                "name": "Read-Only Administrator",
                "builtin_name": "READONLY_ADMINISTRATOR",
                "local_groups": [951],
                "ds_groups": [],
                "roles": ["READONLY_ADMIN"],
                "web_shell": False,
            },
            {
                "id": 3,
                "name": "Sharing Administrator",
                "builtin_name": "SHARING_ADMINISTRATOR",
                "local_groups": [952],
                "ds_groups": [],
                "roles": ["SHARING_ADMIN"],
                "web_shell": False,
            },
        ]
    )
    for name in DEMO_USERS:
        world.passwords[name] = _demo_hash(name, rng)


def demo_password(name: str) -> str:
    """The password a seeded demo user logs in with (printed by ``truenas-mcp sim``)."""
    return f"{name}-demo"


def _demo_hash(name: str, rng: random.Random) -> str:
    return hash_secret(demo_password(name), rng.randbytes(16))


def smb_share(
    share_id: int, name: str, path: str, comment: str, purpose: str = "DEFAULT_SHARE", **extra: Any
) -> dict[str, Any]:
    row = {
        "id": share_id,
        "purpose": purpose,
        "path": path,
        "path_suffix": "",
        "home": False,
        "name": name,
        "comment": comment,
        "ro": False,
        "browsable": True,
        "timemachine": purpose == "TIMEMACHINE",
        "timemachine_quota": 0,
        "recyclebin": False,
        "guestok": False,
        "abe": False,
        "hostsallow": [],
        "hostsdeny": [],
        "aapl_name_mangling": False,
        "acl": True,
        "durablehandle": True,
        "shadowcopy": True,
        "streams": True,
        "fsrvp": False,
        "auxsmbconf": "",
        "enabled": True,
        "afp": False,
        "audit": {"enable": False, "watch_list": [], "ignore_list": []},
        "locked": False,
    }
    row.update(extra)
    return row


def nfs_share(share_id: int, path: str, comment: str, **extra: Any) -> dict[str, Any]:
    row = {
        "id": share_id,
        "path": path,
        "aliases": [],
        "comment": comment,
        "networks": [],
        "hosts": [],
        "ro": False,
        "maproot_user": None,
        "maproot_group": None,
        "mapall_user": None,
        "mapall_group": None,
        "security": [],
        "enabled": True,
        "locked": False,
        "expose_snapshots": False,
    }
    row.update(extra)
    return row


def seed_shares(world: World) -> None:
    world.table("sharing.smb").extend(
        [
            smb_share(1, "media", "/mnt/tank/media", "Movies, series and music", ro=True),
            smb_share(2, "documents", "/mnt/tank/documents", "Family paperwork", recyclebin=True),
            smb_share(3, "homes", "/mnt/tank/home", "Home directories", home=True, abe=True),
            smb_share(
                4,
                "timemachine",
                "/mnt/tank/backups/timemachine",
                "Mac backups",
                purpose="TIMEMACHINE",
                timemachine_quota=2 * 1024**4,
            ),
            smb_share(5, "vault", "/mnt/tank/vault", "Tax archive", locked=True, enabled=True),
        ]
    )
    world.table("sharing.nfs").extend(
        [
            nfs_share(
                1,
                "/mnt/tank/media",
                "Media for the living-room player",
                ro=True,
                networks=["192.168.10.0/24"],
                mapall_user="nobody",
                mapall_group="nogroup",
            ),
            nfs_share(
                2,
                "/mnt/tank/home",
                "Linux workstations",
                networks=["192.168.10.0/24"],
                hosts=["workstation.example.home"],
                maproot_user="root",
                maproot_group="root",
            ),
        ]
    )
