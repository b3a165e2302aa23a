"""The configuration backup downloads as the file TrueNAS produces: its SQLite database, or a tar with it."""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
from pathlib import Path

import httpx

from tests.sim.conftest import RawRpc
from truenas_mcp.sim.server import RunningSimulator


async def _download(sim: RunningSimulator, admin: RawRpc, options: dict[str, bool]) -> bytes:
    _, url = await admin.call("core.download", ["config.save", [options], "truenas.db"])
    async with httpx.AsyncClient(base_url=sim.http_url) as http:
        response = await http.get(url)
    assert response.status_code == 200
    return response.content


def _users(database: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "freenas-v1.db"
    path.write_bytes(database)
    with sqlite3.connect(path) as conn:
        return sorted(json.loads(data)["username"] for (data,) in conn.execute("SELECT data FROM user"))


async def test_without_options_the_backup_is_the_sqlite_database(
    sim: RunningSimulator, admin: RawRpc, tmp_path: Path
) -> None:
    await admin.call(
        "user.create",
        [{"username": "erin", "full_name": "Erin", "group_create": True, "random_password": True}],
    )
    content = await _download(sim, admin, {})
    assert content.startswith(b"SQLite format 3\x00")
    users = _users(content, tmp_path)
    assert "truenas_admin" in users and "erin" in users


async def test_with_the_secret_seed_the_backup_is_a_tar_with_database_and_seed(
    sim: RunningSimulator, admin: RawRpc, tmp_path: Path
) -> None:
    content = await _download(sim, admin, {"secretseed": True})
    with tarfile.open(fileobj=io.BytesIO(content)) as tar:
        assert sorted(tar.getnames()) == ["freenas-v1.db", "pwenc_secret"]
        database = tar.extractfile("freenas-v1.db")
        assert database is not None
        assert "truenas_admin" in _users(database.read(), tmp_path)
