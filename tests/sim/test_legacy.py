"""The legacy DDP-style ``/websocket`` endpoint."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from truenas_mcp.sim.server import RunningSimulator

TIMEOUT = 10.0


async def recv(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))


async def result_of(ws: ClientConnection, ident: str) -> dict[str, Any]:
    while True:
        frame = await recv(ws)
        if frame.get("msg") == "result" and frame.get("id") == ident:
            return frame


async def connected(sim: RunningSimulator) -> ClientConnection:
    ws = await connect(sim.legacy_url, max_size=None)
    await ws.send(json.dumps({"msg": "connect", "version": "1", "support": ["1"]}))
    frame = await recv(ws)
    assert frame["msg"] == "connected" and isinstance(frame["session"], str)
    return ws


async def login(ws: ClientConnection, sim: RunningSimulator) -> None:
    await ws.send(json.dumps({"id": "login", "msg": "method", "method": "auth.login_with_api_key",
                              "params": [sim.admin_api_key]}))  # fmt: skip
    assert (await result_of(ws, "login"))["result"] is True


async def test_connect_with_a_wrong_version_fails(sim: RunningSimulator) -> None:
    async with connect(sim.legacy_url) as ws:
        await ws.send(json.dumps({"msg": "connect", "version": "2"}))
        assert await recv(ws) == {"msg": "failed", "version": "1"}


async def test_method_calls_answer_with_result_messages(sim: RunningSimulator) -> None:
    ws = await connected(sim)
    try:
        await login(ws, sim)
        await ws.send(json.dumps({"id": "p", "msg": "method", "method": "core.ping", "params": []}))
        assert await result_of(ws, "p") == {"id": "p", "msg": "result", "result": "pong"}
    finally:
        await ws.close()


@pytest.mark.parametrize(
    ("method", "params", "errname", "etype"),
    [
        ("pool.query", [], "ENOTAUTHENTICATED", None),
        ("no.such.method", [], "ENOMETHOD", None),
    ],
)
async def test_errors_use_the_legacy_error_object(
    sim: RunningSimulator, method: str, params: list[Any], errname: str, etype: str | None
) -> None:
    ws = await connected(sim)
    try:
        await ws.send(json.dumps({"id": "e", "msg": "method", "method": method, "params": params}))
        error = (await result_of(ws, "e"))["error"]
        assert set(error) == {"error", "errname", "type", "reason", "trace", "extra"}
        assert error["errname"] == errname and error["type"] == etype
    finally:
        await ws.close()


async def test_validation_errors_are_typed_validation(sim: RunningSimulator) -> None:
    ws = await connected(sim)
    try:
        await login(ws, sim)
        await ws.send(
            json.dumps({"id": "v", "msg": "method", "method": "user.create", "params": [{"username": 1}]})
        )
        error = (await result_of(ws, "v"))["error"]
        assert error["type"] == "VALIDATION" and error["error"] == 22
        assert ["user_create.username", "Input should be a valid string", 22] in error["extra"]
    finally:
        await ws.close()


async def test_sub_answers_ready_and_delivers_events(sim: RunningSimulator) -> None:
    ws = await connected(sim)
    try:
        await login(ws, sim)
        await ws.send(json.dumps({"msg": "sub", "id": "s1", "name": "pool.query"}))
        assert await recv(ws) == {"msg": "ready", "subs": ["s1"]}
        sim.sim.emit("pool.query", "changed", 1, {"healthy": False})
        assert await recv(ws) == {
            "msg": "changed",
            "collection": "pool.query",
            "id": 1,
            "fields": {"healthy": False},
        }
    finally:
        await ws.close()


async def test_sub_without_permission_answers_nosub(sim: RunningSimulator) -> None:
    ws = await connected(sim)
    try:
        await ws.send(json.dumps({"msg": "sub", "id": "s1", "name": "pool.query"}))
        frame = await recv(ws)
        assert frame["msg"] == "nosub" and frame["id"] == "s1" and frame["error"]["errname"] == "EACCES"
    finally:
        await ws.close()


async def test_invalid_json_closes_the_socket_with_1007(sim: RunningSimulator) -> None:
    ws = await connected(sim)
    await ws.send("{nope")
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007
