"""The in-memory store of a single replica: single-use ids, token buckets and records, on a test clock."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from truenas_mcp.server.store import (
    MemoryStore,
    OwnerRecords,
    RateLimiter,
    StoreJobOwnership,
    StoreUnavailable,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_an_id_is_claimed_once_until_it_expires() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    first, second = await store.claim("n1", 10), await store.claim("n1", 10)
    other = await store.claim("n2", 10)
    clock.now += 11
    after_expiry = await store.claim("n1", 10)
    assert (first, second, other, after_expiry) == (True, False, True, True)


async def test_buckets_allow_the_burst_then_say_how_long_to_wait() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    waits = [await store.take("alice", 60, 3) for _ in range(4)]
    others = await store.take("bob", 60, 3)
    clock.now += 1.0  # 60 a minute: one token back
    refilled = await store.take("alice", 60, 3)
    assert waits[:3] == [0.0, 0.0, 0.0] and waits[3] == pytest.approx(1.0)
    assert others == 0.0 and refilled == 0.0


async def test_owner_records_come_back_until_they_expire() -> None:
    clock = Clock()
    owners = OwnerRecords(MemoryStore(clock=clock), ttl=60)
    await owners.put("boot:7", {"principal": "alice", "method": "app.stop"})
    found, missing = await owners.get("boot:7"), await owners.get("boot:8")
    clock.now += 61
    expired = await owners.get("boot:7")
    assert found == {"principal": "alice", "method": "app.stop"} and missing is None and expired is None


class FlakyStore(MemoryStore):
    def __init__(self, clock: Clock) -> None:
        super().__init__(clock=clock)
        self.down = True
        self.attempts = 0

    async def take(self, key: str, per_minute: float, burst: int) -> float:
        self.attempts += 1
        if self.down:
            raise StoreUnavailable("the shared store (redis at test) is unreachable: ConnectionError")
        return await super().take(key, per_minute, burst)


async def test_rate_limits_fall_back_to_the_replicas_own_buckets_while_the_store_is_down() -> None:
    clock = Clock()
    store = FlakyStore(clock)
    limiter = RateLimiter(store, 60, 2, kind="requests", clock=clock)
    waits = [await limiter.take("alice") for _ in range(3)]
    # The store was asked once; during the outage the replica's own buckets answer at once.
    assert waits[:2] == [0.0, 0.0] and waits[2] > 0 and store.attempts == 1
    store.down = False
    clock.now += 1.5
    back = await limiter.take("alice")
    assert back == 0.0 and store.attempts == 2


@dataclass(frozen=True, slots=True)
class Job:
    job_id: int
    boot_id: str
    owner: str
    seq: int = 0


async def test_job_ownership_keeps_each_boots_record_newest_first() -> None:
    owners = StoreJobOwnership(MemoryStore(), Job)
    first = await owners.record(Job(7, "boot-a", "alice"))
    second = await owners.record(Job(7, "boot-b", "bob"))
    other = await owners.record(Job(8, "boot-b", "carol"))
    found = await owners.records(7)
    assert first.seq < second.seq < other.seq
    assert found == [second, first]
    assert await owners.records(9) == []
