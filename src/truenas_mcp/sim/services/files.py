"""``filesystem.put`` / ``filesystem.get``: files written through the API are kept and read back.

The simulated box has no disks, so file contents live in the world (``filesystem.file`` rows, base64),
saved with the state file like every other row. Semantics follow ``plugins/filesystem.py``: ``put``
creates missing parent directories, appends when asked, applies ``mode``; ``get`` of anything that is
not a file written this way is ``CallError('<path> is not a file')``.
"""

from __future__ import annotations

import base64
from typing import Any

from truenas_mcp.sim.api import CallContext, Handler
from truenas_mcp.sim.errors import CallError
from truenas_mcp.sim.services.common import arg, world

TABLE = "filesystem.file"


async def filesystem_put(ctx: CallContext, params: list[Any]) -> bool:
    path = str(arg(params, 0))
    options = arg(params, 1, {}) or {}
    data = (ctx.job.pipe_input() if ctx.job is not None else None) or b""
    w = world(ctx)
    row = w.find(TABLE, "path", path)
    if row is None:
        row = {"path": path, "data": "", "mode": 0o644}
        w.table(TABLE).append(row)
    old = base64.b64decode(row["data"]) if options.get("append") else b""
    row["data"] = base64.b64encode(old + data).decode()
    row["mtime"] = w.now()
    if options.get("mode"):
        row["mode"] = int(options["mode"])
    return True


async def filesystem_get(ctx: CallContext, params: list[Any]) -> None:
    path = str(arg(params, 0))
    row = world(ctx).find(TABLE, "path", path)
    if row is None:
        raise CallError(f"{path} is not a file")
    if ctx.job is not None:
        ctx.job.pipe_output(base64.b64decode(row["data"]))
    return None


HANDLERS: dict[str, Handler] = {"filesystem.put": filesystem_put, "filesystem.get": filesystem_get}
