"""Jobs: ids at once, WAITING → RUNNING → SUCCESS/FAILED/ABORTED, events, waiting, aborting, bulk, pipes."""

from __future__ import annotations

from typing import Any

from truenas_mcp.sim.server import RunningSimulator

RawRpc = Any  # tests/sim/conftest.py RawRpc, handed out by the rpc/admin fixtures
JOB_KEYS = {
    "id", "method", "arguments", "transient", "description", "abortable", "logs_path", "logs_excerpt",
    "progress", "result", "result_encoding_error", "error", "exception", "exc_info", "state",
    "time_started", "time_finished", "credentials",
}  # fmt: skip
FINAL = {"SUCCESS", "FAILED", "ABORTED"}


async def test_a_job_method_returns_an_id_and_reports_every_state_change(admin: RawRpc) -> None:
    await admin.call("core.subscribe", ["core.get_jobs"])
    job_id = await admin.call("core.bulk", ["core.ping", [[], []]])
    assert isinstance(job_id, int)
    events: list[dict[str, Any]] = []
    while not events or events[-1]["fields"]["state"] not in FINAL:
        note = await admin.notification()
        assert note["method"] == "collection_update"
        if note["params"]["id"] == job_id:
            events.append(note["params"])
    assert events[0]["msg"] == "added" and events[0]["fields"]["state"] == "WAITING"
    assert all(e["msg"] == "changed" for e in events[1:])
    states = [e["fields"]["state"] for e in events]
    assert states.index("RUNNING") < states.index("SUCCESS") == len(states) - 1
    assert any(e["fields"]["progress"]["description"] == "1/2" for e in events)
    final = events[-1]["fields"]
    assert set(final) == JOB_KEYS
    assert final["method"] == "core.bulk" and final["arguments"] == ["core.ping", [[], []]]
    assert final["progress"]["percent"] == 100
    assert final["result"] == [{"result": "pong", "error": None}, {"result": "pong", "error": None}]
    assert set(final["time_finished"]) == {"$date"}
    assert final["credentials"]["type"] == "API_KEY"


async def test_job_params_are_validated_when_the_job_runs(sim: RunningSimulator, admin: RawRpc) -> None:
    name = sim.sim.recording.methods["pool.scrub.scrub"]["accepts"][0]["_name_"]
    await admin.call("core.subscribe", ["core.get_jobs"])
    job_id = await admin.call("pool.scrub.scrub", [5])
    assert isinstance(job_id, int)
    final = (await admin.job_event(job_id, FINAL))["fields"]
    assert final["state"] == "FAILED"
    assert final["exc_info"]["type"] == "VALIDATION"
    assert final["exc_info"]["extra"] == [[name, "Input should be a valid string", 22]]
    assert final["error"].startswith("[EINVAL] ")


async def test_core_job_wait_is_a_job_mirroring_the_target(admin: RawRpc) -> None:
    await admin.call("core.subscribe", ["core.get_jobs"])
    target = await admin.call("core.bulk", ["core.ping", [[]]])
    waiter = await admin.call("core.job_wait", [target])
    assert isinstance(waiter, int) and waiter != target
    final = (await admin.job_event(waiter, FINAL))["fields"]
    assert final["state"] == "SUCCESS"
    assert final["result"] == [{"result": "pong", "error": None}]


async def test_aborting_a_stalled_job_ends_it_aborted(sim: RunningSimulator, admin: RawRpc) -> None:
    sim.faults.stall_jobs = {"core.bulk"}
    await admin.call("core.subscribe", ["core.get_jobs"])
    job_id = await admin.call("core.bulk", ["core.ping", [[]]])
    await admin.job_event(job_id, {"RUNNING"})
    assert await admin.call("core.job_abort", [job_id]) is None
    final = (await admin.job_event(job_id, FINAL))["fields"]
    assert final["state"] == "ABORTED"


async def test_a_stalled_job_resumes_when_released(sim: RunningSimulator, admin: RawRpc) -> None:
    sim.faults.stall_jobs = {"*"}
    await admin.call("core.subscribe", ["core.get_jobs"])
    job_id = await admin.call("core.bulk", ["core.ping", [[]]])
    await admin.job_event(job_id, {"RUNNING"})
    await admin.call("sim.faults.set", [{"stall_jobs": []}])
    assert (await admin.job_event(job_id, FINAL))["fields"]["state"] == "SUCCESS"


async def test_injected_job_failure_ends_failed_with_call_exc_info(
    sim: RunningSimulator, admin: RawRpc
) -> None:
    sim.faults.fail_jobs = {"core.bulk"}
    await admin.call("core.subscribe", ["core.get_jobs"])
    job_id = await admin.call("core.bulk", ["core.ping", [[]]])
    final = (await admin.job_event(job_id, FINAL))["fields"]
    assert final["state"] == "FAILED"
    assert final["exc_info"]["type"] == "CallError" and final["exc_info"]["errno"] == 14
    assert final["result"] is None and final["error"].startswith("[EFAULT] ")


async def test_core_get_jobs_supports_query_options(admin: RawRpc) -> None:
    first = await admin.call("core.bulk", ["core.ping", [[]]])
    second = await admin.call("core.bulk", ["core.ping", [[]]])
    assert await admin.call("core.get_jobs", [[], {"count": True}]) >= 2
    job = await admin.call("core.get_jobs", [[["id", "=", second]], {"get": True}])
    assert job["id"] == second and job["method"] == "core.bulk"
    ids = [j["id"] for j in await admin.call("core.get_jobs", [[["id", "in", [first, second]]]])]
    assert sorted(ids) == [first, second]


async def test_jobs_of_other_users_are_invisible(
    sim: RunningSimulator, admin: RawRpc, connect_rpc: Any
) -> None:
    job_id = await admin.call("core.bulk", ["core.ping", [[]]])
    sim.world.set_password("alice", "pw")
    ws, alice = await connect_rpc(sim.url)
    try:
        assert await alice.call("auth.login", ["alice", "pw"]) is True
        assert await alice.call("core.get_jobs", [[["id", "=", job_id]]]) == []
        frame = await alice.request("core.job_abort", [job_id])
        assert frame["error"]["data"]["errname"] == "ENOENT"
    finally:
        await ws.close()


async def test_bulk_reports_each_calls_error(admin: RawRpc) -> None:
    await admin.call("core.subscribe", ["core.get_jobs"])
    job_id = await admin.call("core.bulk", ["core.ping", [[], [1]]])
    final = (await admin.job_event(job_id, FINAL))["fields"]
    first, second = final["result"]
    assert first == {"result": "pong", "error": None}
    assert second["result"] is None and "Too many arguments" in second["error"]


async def test_pipe_jobs_called_without_their_pipe_fail_at_once(admin: RawRpc) -> None:
    frame = await admin.request("config.save", [{}])
    assert frame["error"]["code"] == -32001
    assert frame["error"]["data"]["errname"] == "EINVAL"
    assert frame["error"]["data"]["reason"] == "[EINVAL] Pipe 'output' is not open"
    frame = await admin.request("config.upload")
    assert frame["error"]["data"]["reason"] == "[EINVAL] Pipe 'input' is not open"


async def test_job_ids_are_sequential(admin: RawRpc) -> None:
    ids = [await admin.call("core.bulk", ["core.ping", [[]]]) for _ in range(3)]
    assert ids == list(range(ids[0], ids[0] + 3))
