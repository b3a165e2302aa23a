"""Calls over one connection: many concurrent calls matched to their callers, typed errors, time bounds."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable

import pytest

from tests.conftest import SimFactory
from truenas_mcp.client import (
    CallTimeoutError,
    ClientConfig,
    ConnectionLostError,
    MessageTooLargeError,
    MethodNotFoundError,
    NotConnectedError,
    TrueNASClient,
    ValidationError,
)
from truenas_mcp.sim.server import RunningSimulator

MakeConfig = Callable[..., ClientConfig]


async def test_hundreds_of_concurrent_calls_each_get_their_own_answer(client: TrueNASClient) -> None:
    # A job gives core.get_jobs one row; selecting it under a per-caller alias makes every answer unique.
    handle = await client.start_job("catalog.sync")

    async def one(i: int) -> tuple[int, object]:
        rows = await client.call(
            "core.get_jobs", [["id", "=", handle.id]], {"select": [["id", f"caller{i}"]]}
        )
        return i, rows

    results = await asyncio.gather(*(one(i) for i in range(400)))
    for i, rows in results:
        assert rows == [{f"caller{i}": handle.id}]


async def test_concurrency_is_capped_below_the_servers_queue(
    sim: RunningSimulator, client: TrueNASClient
) -> None:
    # 60 calls at once would overflow the server's 10 running + 20 queued; the client never sends them all.
    sim.faults.delay_seconds = 0.05
    answers = await asyncio.gather(*(client.call("core.ping") for _ in range(60)))
    assert answers == ["pong"] * 60


async def test_ejson_values_round_trip_through_the_server(client: TrueNASClient) -> None:
    job = await client.job_status((await client.start_job("catalog.sync")).id)
    # Answers: {"$date": ms} arrives as an aware datetime.
    assert isinstance(job.time_started, dt.datetime) and job.time_started.tzinfo is not None
    # Requests: a datetime parameter goes out as {"$date": ms} and the server compares it as a datetime.
    second = dt.timedelta(seconds=1)
    before = await client.call(
        "core.get_jobs", [["id", "=", job.id], ["time_started", ">", job.time_started - second]]
    )
    after = await client.call(
        "core.get_jobs", [["id", "=", job.id], ["time_started", ">", job.time_started + second]]
    )
    assert [row["id"] for row in before] == [job.id]
    assert after == []


async def test_unknown_method_raises_method_not_found(client: TrueNASClient) -> None:
    with pytest.raises(MethodNotFoundError, match="Method does not exist"):
        await client.call("no.such.method")


async def test_bad_arguments_raise_validation_error_with_fields(client: TrueNASClient) -> None:
    with pytest.raises(ValidationError) as info:
        await client.call("system.version", "unexpected")
    assert info.value.errors and info.value.errors[0].message.startswith("Too many arguments")


async def test_a_slow_answer_times_out_without_hurting_the_connection(
    sim: RunningSimulator, client: TrueNASClient
) -> None:
    sim.faults.delay_seconds = 2.0
    with pytest.raises(CallTimeoutError, match=r"core\.ping: no answer from TrueNAS within 0\.1 s"):
        await client.call("core.ping", timeout=0.1)
    sim.faults.delay_seconds = 0.0
    assert await client.call("core.ping") == "pong"
    assert client.connected


async def test_oversized_request_is_refused_before_it_reaches_the_server(client: TrueNASClient) -> None:
    with pytest.raises(MessageTooLargeError, match="65536-byte frame limit"):
        await client.call("core.ping", "x" * 70_000)
    assert await client.call("core.ping") == "pong"


async def test_dropped_connection_fails_in_flight_calls_and_reconnects(
    sim: RunningSimulator, client: TrueNASClient
) -> None:
    sim.faults.delay_seconds = 0.5
    in_flight = [asyncio.ensure_future(client.call("core.ping")) for _ in range(5)]
    async with asyncio.timeout(5):  # login + five calls read by the server
        while not any(conn.received >= 6 for conn in sim.sim.connections):
            await asyncio.sleep(0)
    sim.faults.drop_after_messages = 1
    with pytest.raises(ConnectionLostError) as info:
        await client.call("core.ping")
    assert info.value.retryable
    sim.faults.drop_after_messages = None
    sim.faults.delay_seconds = 0.0
    outcomes = await asyncio.gather(*in_flight, return_exceptions=True)
    assert all(isinstance(o, ConnectionLostError) for o in outcomes)
    # New calls wait for the reconnection instead of failing.
    assert await client.call("core.ping", timeout=10) == "pong"
    assert client.reconnects == 1 and client.authenticated


async def test_calls_fail_within_their_timeout_while_the_server_is_gone(sim_factory: SimFactory) -> None:
    async with contextlib.AsyncExitStack() as stack:
        running = await stack.enter_async_context(sim_factory())
        config = ClientConfig.build(
            url=running.url,
            username=running.admin_username,
            api_key=running.admin_api_key,
            reconnect_initial_delay=0.05,
            reconnect_max_delay=0.1,
        )
        client = TrueNASClient(config)
        await client.connect()
        try:
            await stack.aclose()  # the server goes away for good
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(NotConnectedError, match=r"did not come back within 0\.3 s"):
                await client.call("core.ping", timeout=0.3)
            assert loop.time() - started < 2.0
            assert not client.connected
        finally:
            await client.close()
