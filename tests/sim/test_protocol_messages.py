"""JSON-RPC 2.0 message handling of ``/api/current`` as ``ws_handler/rpc.py`` does it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from truenas_mcp.sim.server import RunningSimulator

RawRpc = Any  # tests/sim/conftest.py RawRpc, handed out by the rpc/admin fixtures

ERROR_DATA_KEYS = {"error", "errname", "reason", "trace", "extra"}


async def test_invalid_json_answers_minus_32700_with_null_id_and_keeps_the_socket_open(rpc: RawRpc) -> None:
    await rpc.send("{not json")
    frame = await rpc.recv()
    assert frame["jsonrpc"] == "2.0"
    assert frame["id"] is None
    assert frame["error"]["code"] == -32700
    assert "data" not in frame["error"]
    assert (await rpc.request("auth.mechanism_choices"))["result"]


async def test_batch_arrays_are_rejected_as_invalid_json(rpc: RawRpc) -> None:
    await rpc.send([{"jsonrpc": "2.0", "id": 1, "method": "core.ping"}])
    frame = await rpc.recv()
    assert frame == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": "Batch messages are not supported at this time"},
    }


@pytest.mark.parametrize(
    ("request_frame", "expected_id"),
    [
        ({"id": 7, "method": "core.ping"}, 7),
        ({"jsonrpc": "1.0", "id": 8, "method": "core.ping"}, 8),
        ({"jsonrpc": "2.0", "id": 9}, 9),
        ({"jsonrpc": "2.0", "id": 10, "method": 5}, 10),
        ({"jsonrpc": "2.0", "id": 11, "method": "core.ping", "params": {"a": 1}}, 11),
        ({"jsonrpc": "2.0", "id": 12, "method": "core.ping", "params": "x"}, 12),
    ],
    ids=["no-jsonrpc", "wrong-jsonrpc", "no-method", "method-not-string", "params-object", "params-string"],
)
async def test_malformed_requests_answer_minus_32600_with_the_reason_and_no_data(
    rpc: RawRpc, request_frame: dict[str, object], expected_id: int
) -> None:
    await rpc.send(request_frame)
    frame = await rpc.recv()
    assert frame["id"] == expected_id
    assert frame["error"]["code"] == -32600
    assert isinstance(frame["error"]["message"], str) and frame["error"]["message"]
    assert "data" not in frame["error"]


async def test_unknown_method_answers_minus_32601_without_data(rpc: RawRpc) -> None:
    frame = await rpc.request("no.such.method")
    assert frame["error"] == {"code": -32601, "message": "Method does not exist"}


async def test_a_notification_gets_no_answer(admin: RawRpc) -> None:
    await admin.send({"jsonrpc": "2.0", "method": "core.ping", "params": []})
    await admin.send({"jsonrpc": "2.0", "id": "after", "method": "core.ping", "params": []})
    assert await admin.recv() == {"jsonrpc": "2.0", "result": "pong", "id": "after"}


async def test_params_may_be_omitted(admin: RawRpc) -> None:
    await admin.send({"jsonrpc": "2.0", "id": 1, "method": "core.ping"})
    assert (await admin.recv())["result"] == "pong"


async def test_unauthenticated_call_is_enotauthenticated_with_full_error_data(rpc: RawRpc) -> None:
    frame = await rpc.request("pool.query")
    error = frame["error"]
    assert error["code"] == -32001
    assert error["message"] == "Method call error"
    assert set(error["data"]) == ERROR_DATA_KEYS
    assert error["data"]["error"] == 207
    assert error["data"]["errname"] == "ENOTAUTHENTICATED"
    assert error["data"]["reason"] == "[ENOTAUTHENTICATED] Not authenticated"
    assert set(error["data"]["trace"]) == {"class", "frames", "formatted", "repr"}


async def test_validation_errors_are_minus_32602_with_attribute_message_errno_triples(admin: RawRpc) -> None:
    frame = await admin.request("user.create", [{"username": 5}])
    error = frame["error"]
    assert error["code"] == -32602
    assert error["message"] == "Invalid params"
    data = error["data"]
    assert data["error"] == 22 and data["errname"] == "EINVAL"
    assert ["user_create.username", "Input should be a valid string", 22] in data["extra"]
    assert all(len(item) == 3 for item in data["extra"])
    assert data["reason"].endswith("\n") and "[EINVAL] user_create.username: " in data["reason"]


async def test_too_many_positional_arguments_is_a_validation_error_on_the_empty_attribute(
    admin: RawRpc,
) -> None:
    frame = await admin.request("core.ping", [1, 2])
    assert frame["error"]["code"] == -32602
    assert frame["error"]["data"]["extra"] == [["", "Too many arguments (expected 0, found 2)", 22]]


async def test_missing_required_parameter_names_it(admin: RawRpc) -> None:
    frame = await admin.request("user.create", [])
    assert frame["error"]["code"] == -32602
    assert frame["error"]["data"]["extra"] == [["user_create", "Field required", 22]]


async def test_string_ids_are_echoed(admin: RawRpc) -> None:
    await admin.send({"jsonrpc": "2.0", "id": "abc", "method": "core.ping", "params": []})
    assert (await admin.recv())["id"] == "abc"


async def test_get_with_no_match_is_a_call_error_with_matchnotfound_reason(admin: RawRpc) -> None:
    frame = await admin.request("core.get_jobs", [[["id", "=", 999999]], {"get": True}])
    assert frame["error"]["code"] == -32001
    assert frame["error"]["data"]["errname"] == "EINVAL"
    assert frame["error"]["data"]["reason"] == "MatchNotFound()"


async def test_concurrent_calls_beyond_twenty_are_refused_with_minus_32000(
    sim: RunningSimulator, admin: RawRpc
) -> None:
    sim.faults.delay_seconds = 0.2  # every call holds its slot a while, as a slow method would
    for i in range(25):
        await admin.send({"jsonrpc": "2.0", "id": i, "method": "core.ping", "params": []})
    frames = [await admin.answer(i) for i in range(25)]
    refused = [f for f in frames if "error" in f]
    assert len(refused) == 5
    assert all(
        f["error"] == {"code": -32000, "message": "Maximum number of concurrent calls (20) has exceeded"}
        for f in refused
    )
    assert sum(1 for f in frames if f.get("result") == "pong") == 20


async def test_events_reach_subscribers_as_collection_update(sim: RunningSimulator, admin: RawRpc) -> None:
    sub = await admin.call("core.subscribe", ["pool.query"])
    assert isinstance(sub, str) and len(sub) == 36
    sim.sim.emit("pool.query", "changed", 1, {"status": "DEGRADED"})
    sim.sim.emit("pool.query", "removed", 2)
    first, second = await admin.notification(), await admin.notification()
    assert first == {
        "jsonrpc": "2.0",
        "method": "collection_update",
        "params": {"msg": "changed", "collection": "pool.query", "id": 1, "fields": {"status": "DEGRADED"}},
    }
    assert second["params"] == {"msg": "removed", "collection": "pool.query", "id": 2}


async def test_unsubscribed_sessions_get_no_events(sim: RunningSimulator, admin: RawRpc) -> None:
    sub = await admin.call("core.subscribe", ["pool.query"])
    await admin.call("core.unsubscribe", [sub])
    await admin.call("core.subscribe", ["disk.query"])
    sim.sim.emit("pool.query", "changed", 1)
    sim.sim.emit("disk.query", "changed", "sda")
    assert (await admin.notification())["params"]["collection"] == "disk.query"


async def test_bad_event_source_argument_ends_the_subscription_with_notify_unsubscribed(
    admin: RawRpc,
) -> None:
    await admin.call("core.subscribe", ["reporting.realtime:{broken"])
    note = await admin.notification()
    assert note["method"] == "notify_unsubscribed"
    assert note["params"]["collection"] == "reporting.realtime:{broken"
    assert note["params"]["error"]["errname"] == "EINVAL"


async def test_datetimes_travel_as_ejson(admin: RawRpc) -> None:
    job_id = await admin.call("core.bulk", ["core.ping", [[]]])
    job = await admin.call("core.get_jobs", [[["id", "=", job_id]], {"get": True}])
    assert set(job["time_started"]) == {"$date"} and isinstance(job["time_started"]["$date"], int)


@pytest.mark.parametrize("path", ["/api/current", "/api/v25.04.2"])
async def test_both_rpc_paths_serve_the_same_api(sim: RunningSimulator, connect_rpc: Any, path: str) -> None:
    ws, client = await connect_rpc(sim.url.replace("/api/current", path))
    try:
        assert await client.call("auth.mechanism_choices") == [
            "API_KEY_PLAIN",
            "TOKEN_PLAIN",
            "PASSWORD_PLAIN",
        ]
    finally:
        await ws.close()


async def test_unencodable_frames_are_not_answered_twice(rpc: RawRpc) -> None:
    await rpc.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "core.ping", "params": []}))
    frame = await rpc.recv()
    assert frame["id"] == 1 and frame["error"]["data"]["error"] == 207
