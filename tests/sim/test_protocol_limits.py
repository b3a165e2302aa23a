"""Frame limits: 8 kB before login, 64 kB after (2 MiB for two methods), text frames only."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

RawRpc = Any  # tests/sim/conftest.py RawRpc, handed out by the rpc/admin fixtures


def frame_of_size(size: int, method: str = "core.ping") -> str:
    head = {"jsonrpc": "2.0", "id": 1, "method": method, "params": [], "pad": ""}
    text = json.dumps(head)
    return text.replace('"pad": ""', '"pad": "' + "x" * (size - len(text)) + '"')


async def closed_with(client: RawRpc) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(client.ws.recv(), 10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_anonymous_frames_over_8_kb_close_with_1007(rpc: RawRpc) -> None:
    await rpc.send(frame_of_size(8193))
    assert await closed_with(rpc) == (1007, "Anonymous connection max message length is 8 kB")


async def test_anonymous_frames_of_8_kb_are_served(rpc: RawRpc) -> None:
    await rpc.send(frame_of_size(8192, "auth.mechanism_choices"))
    assert (await rpc.recv())["result"]


async def test_authenticated_frames_over_64_kb_close_with_1009(admin: RawRpc) -> None:
    await admin.send(frame_of_size(20000))
    assert (await admin.recv())["result"] == "pong"
    await admin.send(frame_of_size(65537))
    assert await closed_with(admin) == (1009, "Max message length is 64 kB")


async def test_filesystem_file_receive_may_send_up_to_2_mib(admin: RawRpc) -> None:
    await admin.send(frame_of_size(100_000, "filesystem.file_receive"))
    assert (await admin.recv())["id"] == 1


async def test_binary_frames_close_with_1003(admin: RawRpc) -> None:
    await admin.send(b"\x00\x01")
    code, _ = await closed_with(admin)
    assert code == 1003
