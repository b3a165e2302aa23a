"""State that every replica must agree on: single-use ids, rate-limit buckets, owner records.

One async interface, two implementations:

* ``MemoryStore`` — the process's own memory. Right for one replica (the default); with several, each
  would keep its own copy, so a confirmation could be redeemed once per replica and a rate limit would
  multiply by the replica count. The settings refuse ``replicas`` above 1 without ``redis_url``.
* ``RedisStore`` — Redis through redis-py's asyncio client (``redis_url``). Every operation is one atomic
  Redis command or script, and time comes from the Redis server's clock, so replicas with skewed clocks
  still share one bucket. A lost connection is re-opened by the next operation, so a Redis restart needs
  no server restart; while Redis is unreachable an operation raises ``StoreUnavailable`` and each caller
  decides what that means (confirmations refuse to run anything; rate limits fall back to the replica's
  own buckets; see ``RateLimiter``).

Keys are namespaced ``truenas-mcp:<kind>:<key>`` so one Redis can serve other applications too.
"""

from __future__ import annotations

import abc
import dataclasses
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from truenas_mcp.server import redact
from truenas_mcp.server.hygiene import TokenBuckets
from truenas_mcp.server.settings import ServerSettings, SettingsError

log = logging.getLogger("truenas_mcp.server.store")

_PREFIX = "truenas-mcp:"
_MAX_MEMORY_ENTRIES = 10_000
_REDIS_TIMEOUT_SECONDS = 2.0
MIN_REDIS_PASSWORD = 16
_RETRY_STORE_SECONDS = 1.0


class StoreUnavailable(Exception):
    """The shared store cannot answer now; the message says which store and why (never a password)."""


class Store(abc.ABC):
    """What replicas share. ``shared`` says whether other processes see the same state."""

    kind: str
    shared: bool

    @abc.abstractmethod
    async def claim(self, key: str, ttl: float) -> bool:
        """Mark ``key`` used for ``ttl`` seconds: True the first time, False while it is marked."""

    @abc.abstractmethod
    async def take(self, key: str, per_minute: float, burst: int) -> float:
        """Take one token from the bucket ``key``: 0.0 when allowed, else seconds until one is free."""

    @abc.abstractmethod
    async def put_record(self, key: str, record: Mapping[str, Any], ttl: float) -> None:
        """Keep a JSON record under ``key`` for ``ttl`` seconds (replacing an older one)."""

    @abc.abstractmethod
    async def get_record(self, key: str) -> dict[str, Any] | None:
        """The record under ``key``, or None when there is none (never stored, or expired)."""

    @abc.abstractmethod
    async def append(self, key: str, record: Mapping[str, Any], ttl: float, keep: int) -> int:
        """Add ``record`` to the list ``key`` (its newest ``keep`` entries are kept for ``ttl`` seconds)
        and return its sequence number, increasing across the whole store."""

    @abc.abstractmethod
    async def entries(self, key: str) -> list[tuple[int, dict[str, Any]]]:
        """The list ``key`` as ``(sequence, record)`` pairs, newest first ([] when there is none)."""

    async def ping(self) -> None:
        """Raise ``StoreUnavailable`` when the store cannot be reached (memory always can)."""
        return None

    async def close(self) -> None:
        """Release connections (memory holds none)."""
        return None

    def describe(self) -> str:
        return self.kind


class MemoryStore(Store):
    """This process's memory (one replica). Tables are bounded; the oldest entries go first."""

    kind = "memory"
    shared = False

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._claims: OrderedDict[str, float] = OrderedDict()
        self._records: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._buckets: dict[tuple[float, int], TokenBuckets] = {}
        self._lists: OrderedDict[str, tuple[float, list[tuple[int, str]]]] = OrderedDict()
        self._seq = 0
        self._lock = threading.Lock()

    async def claim(self, key: str, ttl: float) -> bool:
        now = self._clock()
        with self._lock:
            for old in [k for k, expiry in self._claims.items() if expiry <= now]:
                del self._claims[old]
            if key in self._claims:
                return False
            if len(self._claims) >= _MAX_MEMORY_ENTRIES:
                # Forgetting a live id would let it be used twice: refuse instead.
                raise StoreUnavailable(f"too many single-use ids outstanding ({_MAX_MEMORY_ENTRIES})")
            self._claims[key] = now + ttl
            return True

    async def take(self, key: str, per_minute: float, burst: int) -> float:
        with self._lock:
            buckets = self._buckets.get((per_minute, burst))
            if buckets is None:
                buckets = self._buckets[(per_minute, burst)] = TokenBuckets(
                    per_minute, burst, clock=self._clock
                )
            return buckets.take(key)

    async def put_record(self, key: str, record: Mapping[str, Any], ttl: float) -> None:
        with self._lock:
            self._records[key] = (self._clock() + ttl, json.dumps(record, sort_keys=True))
            self._records.move_to_end(key)
            while len(self._records) > _MAX_MEMORY_ENTRIES:
                self._records.popitem(last=False)

    async def get_record(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._records.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._records[key]
                return None
            value: dict[str, Any] = json.loads(entry[1])
            return value

    async def append(self, key: str, record: Mapping[str, Any], ttl: float, keep: int) -> int:
        with self._lock:
            self._seq += 1
            now = self._clock()
            expiry, items = self._lists.get(key, (0.0, []))
            items = ([] if expiry <= now else items) + [(self._seq, json.dumps(record, sort_keys=True))]
            self._lists[key] = (now + ttl, items[-keep:])
            self._lists.move_to_end(key)
            while len(self._lists) > _MAX_MEMORY_ENTRIES:
                self._lists.popitem(last=False)
            return self._seq

    async def entries(self, key: str) -> list[tuple[int, dict[str, Any]]]:
        with self._lock:
            expiry, items = self._lists.get(key, (0.0, []))
            if expiry <= self._clock():
                return []
            return [(seq, json.loads(text)) for seq, text in reversed(items)]


# One token bucket, atomically, on the Redis server's clock. Returns the wait in seconds as a string
# (a Lua number would be truncated to an integer on the way back).
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1])
local updated = tonumber(state[2])
if tokens == nil or updated == nil then
  tokens = burst
  updated = now
end
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisStore(Store):
    """Redis (``redis://``, ``rediss://`` or ``unix://``), shared by every replica that names it."""

    kind = "redis"
    shared = True

    def __init__(self, url: str, *, password: str | None = None) -> None:
        parsed = urlparse(url)
        self._where = f"{parsed.hostname or parsed.path}:{parsed.port or 6379}" if parsed.hostname else url
        if parsed.password:
            redact.register_secret(parsed.password)
        self._client: aioredis.Redis = aioredis.Redis.from_url(
            url,
            password=password,
            socket_timeout=_REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
            health_check_interval=15,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            decode_responses=True,
        )
        self._take = self._client.register_script(_TAKE)

    def describe(self) -> str:
        return f"redis at {self._where}"

    def _unavailable(self, exc: Exception) -> StoreUnavailable:
        return StoreUnavailable(f"the shared store ({self.describe()}) is unreachable: {type(exc).__name__}")

    async def claim(self, key: str, ttl: float) -> bool:
        try:
            done = await self._client.set(
                _PREFIX + "claim:" + key, "1", nx=True, px=max(1, math.ceil(ttl * 1000))
            )
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from None
        return bool(done)

    async def take(self, key: str, per_minute: float, burst: int) -> float:
        try:
            wait = await self._take(keys=[_PREFIX + "bucket:" + key], args=[per_minute / 60.0, burst])
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from None
        return float(wait)

    async def put_record(self, key: str, record: Mapping[str, Any], ttl: float) -> None:
        text = json.dumps(record, sort_keys=True)
        try:
            await self._client.set(_PREFIX + "record:" + key, text, px=max(1, math.ceil(ttl * 1000)))
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from None

    async def get_record(self, key: str) -> dict[str, Any] | None:
        try:
            text = await self._client.get(_PREFIX + "record:" + key)
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from None
        if text is None:
            return None
        value: dict[str, Any] = json.loads(text)
        return value

    async def append(self, key: str, record: Mapping[str, Any], ttl: float, keep: int) -> int:
        name = _PREFIX + "list:" + key
        try:
            seq = int(await self._client.incr(_PREFIX + "seq"))
            entry = json.dumps({"seq": seq, "record": record}, sort_keys=True)
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.lpush(name, entry)
                pipe.ltrim(name, 0, keep - 1)
                pipe.pexpire(name, max(1, math.ceil(ttl * 1000)))
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from None
        return seq

    async def entries(self, key: str) -> list[tuple[int, dict[str, Any]]]:
        try:
            raw = await self._client.lrange(_PREFIX + "list:" + key, 0, -1)
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from None
        found = [json.loads(text) for text in raw]
        return sorted(((int(e["seq"]), e["record"]) for e in found), key=lambda pair: -pair[0])

    async def ping(self) -> None:
        try:
            await self._client.ping()
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from None

    async def close(self) -> None:
        await self._client.aclose()


def open_store(settings: ServerSettings) -> Store:
    """The store ``settings`` describe: Redis when ``redis_url`` is set, else this process's memory."""
    if settings.redis_url is None:
        return MemoryStore()
    password = None
    if settings.redis_password_file is not None:
        try:
            password = settings.redis_password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(
                f"redis_password_file: cannot read {settings.redis_password_file} ({exc.strerror})"
            ) from None
        if len(password) < MIN_REDIS_PASSWORD:
            # Also catches a forgotten placeholder in a Secret before it becomes the password.
            raise SettingsError(
                f"redis_password_file: {settings.redis_password_file} holds {len(password)} characters; "
                f"use at least {MIN_REDIS_PASSWORD} random ones"
            )
        redact.register_secret(password)
    return RedisStore(settings.redis_url, password=password)


class RateLimiter:
    """Token buckets in the store, with this replica's own buckets while the store is unreachable.

    Refusing every request while Redis is down would turn a store outage into a service outage, so the
    limit degrades to per replica (it multiplies by the replica count for that time) and says so once.
    After a failure the store is tried again only every ``_RETRY_STORE_SECONDS``, so requests during an
    outage do not each wait for a connection attempt.
    """

    def __init__(
        self,
        store: Store,
        per_minute: float,
        burst: int,
        *,
        kind: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self.per_minute = per_minute
        self.burst = burst
        self._kind = kind
        self._clock = clock
        self._local = TokenBuckets(per_minute, burst, clock=clock)
        self._degraded = False
        self._failed_at = -math.inf

    async def take(self, key: str) -> float:
        if self._degraded and self._clock() - self._failed_at < _RETRY_STORE_SECONDS:
            return self._local.take(key)
        try:
            wait = await self._store.take(f"{self._kind}:{key}", self.per_minute, self.burst)
        except StoreUnavailable as exc:
            self._failed_at = self._clock()
            if not self._degraded:
                self._degraded = True
                log.warning(
                    "rate limits are per replica until the shared store is back",
                    extra={"limit": self._kind, "error": str(exc)},
                )
            return self._local.take(key)
        if self._degraded:
            self._degraded = False
            log.info("rate limits are shared again", extra={"limit": self._kind})
        return wait


OWNER_TTL_SECONDS = 7 * 86_400  # longer than any job is waited on; a stale record only ever refuses


class OwnerRecords:
    """Who started which job, in the store: ``put(key, record)`` and ``get(key) -> record | None``.

    ``key`` identifies the job on one TrueNAS boot (for example ``f"{boot_id}:{job_id}"``); ``record`` is
    a small JSON object (the principal, the method). With ``RedisStore`` a job started through one replica
    is owned on all of them; ``StoreUnavailable`` propagates, because an unknown owner must refuse.
    """

    def __init__(self, store: Store, *, ttl: float = OWNER_TTL_SECONDS) -> None:
        self._store = store
        self._ttl = ttl

    async def put(self, key: str, record: Mapping[str, Any]) -> None:
        await self._store.put_record("job-owner:" + key, record, self._ttl)

    async def get(self, key: str) -> dict[str, Any] | None:
        return await self._store.get_record("job-owner:" + key)


class StoreJobOwnership:
    """The server's job-ownership interface (``record(JobRecord)``, ``records(job_id)``) over the store.

    ``record_type`` is the frozen dataclass of a record, with a ``job_id`` and a ``seq`` field that the
    store assigns; records are kept per job id, the newest few of each (a job id repeats only across
    TrueNAS boots). With ``RedisStore`` every replica sees every replica's jobs.
    """

    def __init__(
        self, store: Store, record_type: Callable[..., Any], *, ttl: float = OWNER_TTL_SECONDS, keep: int = 8
    ) -> None:
        self._store = store
        self._type = record_type
        self._ttl = ttl
        self._keep = keep

    async def record(self, record: Any) -> Any:
        fields = {k: v for k, v in dataclasses.asdict(record).items() if k != "seq"}
        seq = await self._store.append(f"job:{record.job_id}", fields, self._ttl, self._keep)
        return dataclasses.replace(record, seq=seq)

    async def records(self, job_id: int) -> list[Any]:
        return [self._type(**fields, seq=seq) for seq, fields in await self._store.entries(f"job:{job_id}")]
