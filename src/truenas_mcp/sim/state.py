"""All mutable state of the simulated TrueNAS box, and the account queries the protocol layer needs.

The state is plain data (dicts, lists, strings, numbers, datetimes) so that it can be saved with the wire's
own ejson encoding and loaded back unchanged. Behaviour lives in ``sim/services``; this module only holds
the data, hands out ids, keeps time and answers "who is this and what may they do".
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import os
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from truenas_mcp import ejson
from truenas_mcp.sim.alerts import make_alert

STATE_FORMAT: Final = 1
_PBKDF2_ROUNDS: Final = 29000
_ADMIN_GROUP_ROLES: Final = "FULL_ADMIN"


@dataclass(frozen=True)
class ApiKeyRecord:
    """What the protocol layer needs to know about an API key; never the secret."""

    id: int
    name: str
    username: str
    revoked: bool
    expires_at: dt.datetime | None


def _ab64(raw: bytes) -> str:
    """passlib's "adapted base64" (``.`` for ``+``, no padding), used in ``$pbkdf2-sha256$`` hashes."""
    return base64.b64encode(raw).decode().rstrip("=").replace("+", ".")


def _ab64_decode(text: str) -> bytes:
    text = text.replace(".", "+")
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str, salt: bytes) -> str:
    """Hash ``secret`` in the ``$pbkdf2-sha256$rounds$salt$hash`` form TrueNAS stores for API keys."""
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, _PBKDF2_ROUNDS)
    return f"$pbkdf2-sha256${_PBKDF2_ROUNDS}${_ab64(salt)}${_ab64(digest)}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        _, scheme, rounds, salt, digest = stored.split("$")
        if scheme != "pbkdf2-sha256":
            return False
        computed = hashlib.pbkdf2_hmac("sha256", secret.encode(), _ab64_decode(salt), int(rounds))
        return hmac.compare_digest(computed, _ab64_decode(digest))
    except ValueError:
        return False


@dataclass
class World:
    """The simulated box: tables of rows keyed by API namespace, system configuration and secrets.

    ``tables`` holds one list of rows per collection (``"pool"``, ``"pool.dataset"``, ``"user"``, ...), in
    the shape the services keep them (datasets and snapshots are stored compactly and rendered on query).
    ``secrets`` maps usernames to password hashes; it never leaves the simulator.
    """

    base_time: dt.datetime
    system: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    next_ids: dict[str, int] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    _started: float = field(default_factory=time.monotonic, repr=False, compare=False)

    # -- construction and persistence ---------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> World:
        if not isinstance(data, dict):
            raise ValueError("state file: the top level must be an object")
        if data.get("format") != STATE_FORMAT:
            raise ValueError(
                f"state file: unsupported format {data.get('format')!r} (expected {STATE_FORMAT})"
            )
        base_time = data.get("base_time")
        if not isinstance(base_time, dt.datetime):
            raise ValueError("state file: base_time must be a {'$date': ms} timestamp")
        for key, kind in (("system", dict), ("tables", dict), ("next_ids", dict), ("passwords", dict)):
            if not isinstance(data.get(key), kind):
                raise ValueError(f"state file: {key} must be an object")
        for name, rows in data["tables"].items():
            if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
                raise ValueError(f"state file: tables.{name} must be a list of objects")
        return cls(
            base_time=base_time,
            system=data["system"],
            tables=data["tables"],
            next_ids={str(k): int(v) for k, v in data["next_ids"].items()},
            passwords={str(k): str(v) for k, v in data["passwords"].items()},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "base_time": self.now(),
            "system": copy.deepcopy(self.system),
            "tables": copy.deepcopy(self.tables),
            "next_ids": dict(self.next_ids),
            "passwords": dict(self.passwords),
        }

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> World:
        """Read a state file written by ``save`` (ejson, so datetimes survive)."""
        text = Path(path).read_text(encoding="utf-8")
        try:
            data = ejson.loads(text)
        except ValueError as exc:
            raise ValueError(f"state file {path}: not valid JSON ({exc})") from None
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state atomically: a crash leaves either the old file or the new one, never half."""
        target = Path(path)
        text = ejson.dumps(self.to_dict(), indent=1, sort_keys=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or Path("."))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # -- time and ids -------------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        """Simulated wall clock: the world's base time plus the time this process has held it.

        A fixed base keeps the seeded world reproducible while time still moves forward for new
        snapshots, jobs and alerts; saving stores the advanced clock.
        """
        elapsed = dt.timedelta(seconds=time.monotonic() - self._started)
        return (self.base_time + elapsed).replace(microsecond=0)

    def uptime_seconds(self) -> float:
        return float(self.system.get("uptime_at_base", 0.0)) + (time.monotonic() - self._started)

    def table(self, name: str) -> list[dict[str, Any]]:
        return self.tables.setdefault(name, [])

    def next_id(self, name: str) -> int:
        """A fresh integer id for ``name``; ids are never reused, as with the middleware's database."""
        rows = self.table(name)
        used = max((row["id"] for row in rows if isinstance(row.get("id"), int)), default=0)
        value = max(self.next_ids.get(name, 1), used + 1)
        self.next_ids[name] = value + 1
        return value

    def find(self, table: str, key: str, value: Any) -> dict[str, Any] | None:
        return next((row for row in self.table(table) if row.get(key) == value), None)

    # -- accounts and credentials -------------------------------------------------------------------

    def set_password(self, username: str, password: str, salt: bytes | None = None) -> None:
        self.passwords[username] = hash_secret(password, salt if salt is not None else os.urandom(16))

    def check_password(self, username: str, password: str) -> bool:
        user = self.find("user", "username", username)
        if user is None or user.get("locked") or user.get("password_disabled"):
            return False
        stored = self.passwords.get(username)
        return stored is not None and verify_secret(password, stored)

    def roles_for(self, username: str) -> frozenset[str]:
        """Roles granted to ``username`` by the privileges of the groups the user belongs to."""
        user = self.find("user", "username", username)
        if user is None:
            return frozenset()
        gids = set()
        primary = self.find("group", "id", user["group"]["id"]) if user.get("group") else None
        if primary is not None:
            gids.add(primary["gid"])
        for group_id in user.get("groups", []):
            group = self.find("group", "id", group_id)
            if group is not None:
                gids.add(group["gid"])
        roles: set[str] = set()
        for privilege in self.table("privilege"):
            if gids & set(privilege.get("local_groups", [])):
                roles.update(privilege.get("roles", []))
        if user.get("uid") == 0:
            roles.add(_ADMIN_GROUP_ROLES)
        return frozenset(roles)

    def _api_key_record(self, row: dict[str, Any]) -> ApiKeyRecord:
        return ApiKeyRecord(
            id=row["id"],
            name=row["name"],
            username=row["username"],
            revoked=bool(row["revoked"]),
            expires_at=row.get("expires_at"),
        )

    def find_api_key(self, key: str, username: str | None) -> ApiKeyRecord | None:
        """The key record for a plain ``<id>-<secret>`` key whose secret matches, else ``None``.

        With ``username`` the key must belong to that user (``API_KEY_PLAIN``); without, the id alone
        selects it (``auth.login_with_api_key``). Revoked and expired keys are returned: telling those
        apart from unknown keys is the caller's business.
        """
        key_id, sep, secret = key.partition("-")
        if not sep or not key_id.isdigit() or not secret:
            return None
        row = self.find("api_key", "id", int(key_id))
        if row is None or (username is not None and row["username"] != username):
            return None
        if not verify_secret(secret, row["keyhash"]):
            return None
        return self._api_key_record(row)

    def add_api_key(self, username: str, name: str, key: str | None = None) -> tuple[ApiKeyRecord, str]:
        """Create an API key for ``username``; return its record and the plain key ``<id>-<secret>``.

        ``key`` may be a full ``<id>-<secret>`` key (its id is kept and must be free) or a bare secret
        (a fresh id is assigned); without it a random 64-character secret is made.
        """
        user = self.find("user", "username", username)
        if user is None:
            raise ValueError(f"api key owner: user {username!r} does not exist")
        if key is not None and not key:
            raise ValueError("api key: must not be empty")
        key_id: int | None = None
        secret = key
        if key is not None:
            head, sep, tail = key.partition("-")
            if sep and head.isdigit() and tail:
                key_id, secret = int(head), tail
                if self.find("api_key", "id", key_id) is not None:
                    raise ValueError(f"api key: id {key_id} is already in use")
        if secret is None:
            secret = secrets.token_urlsafe(48)[:64]
        if key_id is None:
            key_id = self.next_id("api_key")
        else:
            self.next_ids["api_key"] = max(self.next_ids.get("api_key", 1), key_id + 1)
        row = {
            "id": key_id,
            "name": name,
            "username": username,
            "user_identifier": user["uid"],
            "keyhash": hash_secret(secret, os.urandom(16)),
            "created_at": self.now(),
            "expires_at": None,
            "local": True,
            "revoked": False,
        }
        self.table("api_key").append(row)
        user.setdefault("api_keys", []).append(key_id)
        return self._api_key_record(row), f"{key_id}-{secret}"

    def delete_api_key(self, key_id: int) -> None:
        """Remove the key and its mention in the owner's ``api_keys``."""
        self.tables["api_key"] = [k for k in self.table("api_key") if k["id"] != key_id]
        for user in self.table("user"):
            if key_id in user.get("api_keys", []):
                user["api_keys"].remove(key_id)

    def revoke_api_key(self, key_id: int, reason: str) -> None:
        """Mark the key revoked and raise the ``ApiKeyRevoked`` alert, as ``api_key.revoke`` does."""
        row = self.find("api_key", "id", key_id)
        if row is None:
            raise KeyError(f"api key {key_id} does not exist")
        row["revoked"] = True
        row["revoked_reason"] = reason
        row["expires_at"] = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        text = (
            f"{row['name']}: API key has been revoked and must either be renewed or deleted. Once the "
            "maintenance is complete, API client configuration must be updated to use the renewed API key."
        )
        self.table("alert").append(
            make_alert(
                klass="ApiKeyRevoked",
                level="WARNING",
                text=text,
                args={"key_name": row["name"], "reason": reason},
                key=f"api_key_{key_id}",
                when=self.now(),
            )
        )
