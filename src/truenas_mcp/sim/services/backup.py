"""``config.save``: the configuration backup, as a file a person can open.

TrueNAS streams its SQLite configuration database (``freenas-v1.db``) when no option is set, and a tar
holding that database plus the selected secrets (``pwenc_secret``, authorized keys) otherwise
(``plugins/config.py``). The simulator's database is a real SQLite file with one table per simulated
collection, each row the stored object as JSON, and one ``system_config`` table for the config namespaces.
"""

from __future__ import annotations

import hashlib
import io
import sqlite3
import tarfile
from typing import Any

from truenas_mcp import ejson
from truenas_mcp.sim.api import CallContext, Handler
from truenas_mcp.sim.services.common import arg, progress, world
from truenas_mcp.sim.state import World

DATABASE_NAME = "freenas-v1.db"


def _table_name(collection: str) -> str:
    return collection.replace(".", "_")


def database_bytes(w: World) -> bytes:
    """The world as an SQLite database file (rows as JSON text; no password hashes or key secrets)."""
    conn = sqlite3.connect(":memory:")
    try:
        for collection in sorted(w.tables):
            name = _table_name(collection)
            conn.execute(f'CREATE TABLE "{name}" (id TEXT, data TEXT NOT NULL)')
            rows = []
            for row in w.tables[collection]:
                clean = {k: v for k, v in row.items() if k != "keyhash"}
                rows.append((str(row.get("id", row.get("name", ""))), ejson.dumps(clean, sort_keys=True)))
            conn.executemany(f'INSERT INTO "{name}" VALUES (?, ?)', rows)
        conn.execute("CREATE TABLE system_config (namespace TEXT PRIMARY KEY, data TEXT NOT NULL)")
        configs: dict[str, Any] = w.system.get("config", {})
        conn.executemany(
            "INSERT INTO system_config VALUES (?, ?)",
            [(ns, ejson.dumps(value, sort_keys=True)) for ns, value in sorted(configs.items())],
        )
        conn.commit()
        return conn.serialize()
    finally:
        conn.close()


def _tar(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


async def config_save(ctx: CallContext, params: list[Any]) -> None:
    options = dict(arg(params, 0, {}) or {})
    options.pop("pool_keys", None)  # ignored on SCALE
    w = world(ctx)
    progress(ctx, 0, "Saving configuration")
    database = database_bytes(w)
    if not any(options.values()):
        payload = database
    else:
        members = {DATABASE_NAME: database}
        if options.get("secretseed"):
            members["pwenc_secret"] = hashlib.sha256(f"pwenc{w.system.get('host_id')}".encode()).digest()
        if options.get("root_authorized_keys"):
            members["root_authorized_keys"] = b""
        payload = _tar(members)
    if ctx.job is not None:
        ctx.job.pipe_output(payload)
    progress(ctx, 100, "Configuration saved")
    return None


HANDLERS: dict[str, Handler] = {"config.save": config_save}
