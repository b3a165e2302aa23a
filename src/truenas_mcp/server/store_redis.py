"""The shared store on Redis, through redis-py's asyncio client (see :mod:`truenas_mcp.server.store`).

Its own module so that a single replica, which keeps its state in memory, never imports redis-py.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from truenas_mcp.server import redact
from truenas_mcp.server.store import PREFIX, REDIS_TIMEOUT_SECONDS, Store, StoreUnavailable

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
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
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
                PREFIX + "claim:" + key, "1", nx=True, px=max(1, math.ceil(ttl * 1000))
            )
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from None
        return bool(done)

    async def take(self, key: str, per_minute: float, burst: int) -> float:
        try:
            wait = await self._take(keys=[PREFIX + "bucket:" + key], args=[per_minute / 60.0, burst])
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from None
        return float(wait)

    async def put_record(self, key: str, record: Mapping[str, Any], ttl: float) -> None:
        text = json.dumps(record, sort_keys=True)
        try:
            await self._client.set(PREFIX + "record:" + key, text, px=max(1, math.ceil(ttl * 1000)))
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from None

    async def get_record(self, key: str) -> dict[str, Any] | None:
        try:
            text = await self._client.get(PREFIX + "record:" + key)
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from None
        if text is None:
            return None
        value: dict[str, Any] = json.loads(text)
        return value

    async def append(self, key: str, record: Mapping[str, Any], ttl: float, keep: int) -> int:
        name = PREFIX + "list:" + key
        try:
            seq = int(await self._client.incr(PREFIX + "seq"))
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
            raw = await self._client.lrange(PREFIX + "list:" + key, 0, -1)
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
