"""Event subscriptions: an async iterator per subscriber, one server subscription per name, restored
after a reconnect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from truenas_mcp.client import ClientConfig, ConnectionLostError, Event, EventStream, TrueNASClient
from truenas_mcp.sim.server import RunningSimulator

MakeConfig = Callable[..., ClientConfig]


def server_subscriptions(sim: RunningSimulator) -> list[str]:
    return sorted(name for conn in sim.sim.connections for name in conn.subscriptions.values())


async def next_event(stream: EventStream) -> Event:
    async with asyncio.timeout(5):
        return await anext(stream)


async def test_events_of_a_subscription_arrive_in_order(client: TrueNASClient) -> None:
    async with client.subscribe("core.get_jobs") as events:
        handle = await client.start_job("catalog.sync")
        seen: list[Event] = []
        while not seen or seen[-1].fields is None or seen[-1].fields["state"] != "SUCCESS":
            seen.append(await next_event(events))
    assert seen[0].msg == "added" and seen[0].collection == "core.get_jobs"
    assert {event.id for event in seen} == {handle.id}


async def test_subscribers_of_one_name_share_one_server_subscription(
    sim: RunningSimulator, client: TrueNASClient
) -> None:
    first = await client.subscribe("pool.query").start()
    second = await client.subscribe("pool.query").start()
    assert server_subscriptions(sim) == ["pool.query"]
    sim.sim.emit("pool.query", "changed", 1, {"name": "tank"})
    assert (await next_event(first)).fields == {"name": "tank"}
    assert (await next_event(second)).fields == {"name": "tank"}
    await first.aclose()
    assert server_subscriptions(sim) == ["pool.query"]
    await second.aclose()
    assert server_subscriptions(sim) == []
    with pytest.raises(StopAsyncIteration):
        await anext(second)


async def test_subscription_is_restored_after_a_reconnect(
    sim: RunningSimulator, client: TrueNASClient
) -> None:
    async with client.subscribe("pool.query") as events:
        sim.faults.drop_after_messages = 1
        with pytest.raises(ConnectionLostError):
            await client.call("core.ping")
        sim.faults.drop_after_messages = None
        assert await client.call("core.ping", timeout=10) == "pong"  # waits for the new connection
        assert server_subscriptions(sim) == ["pool.query"]
        sim.sim.emit("pool.query", "removed", 7)
        event = await next_event(events)
    assert (event.msg, event.id, event.fields) == ("removed", 7, None)


async def test_a_slow_consumer_loses_the_oldest_events_not_the_connection(
    sim: RunningSimulator, client: TrueNASClient
) -> None:
    async with client.subscribe("pool.query", max_queue=3) as events:
        for ident in range(10):
            sim.sim.emit("pool.query", "changed", ident, {})
        assert await client.call("core.ping") == "pong"  # answers are ordered after the events
        received = [(await next_event(events)).id for _ in range(3)]
    assert received == [7, 8, 9]
    assert events.dropped == 7


async def test_closing_the_client_ends_its_streams(make_config: MakeConfig) -> None:
    client = TrueNASClient(make_config())
    await client.connect()
    events = await client.subscribe("pool.query").start()
    reader = asyncio.ensure_future(anext(events))
    await client.close()
    with pytest.raises(StopAsyncIteration):
        async with asyncio.timeout(5):
            await reader
