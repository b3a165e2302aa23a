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

from truenas_mcp.server import redact
from truenas_mcp.server.hygiene import TokenBuckets
from truenas_mcp.server.settings import ServerSettings, SettingsError

log = logging.getLogger("truenas_mcp.server.store")

PREFIX = "truenas-mcp:"
_MAX_MEMORY_ENTRIES = 10_000
REDIS_TIMEOUT_SECONDS = 2.0
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
    # Imported here: redis-py is a fifth of the server's start-up, and a single replica never uses it.
    from truenas_mcp.server.store_redis import RedisStore

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
