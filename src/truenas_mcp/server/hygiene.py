"""Network hygiene middleware: Host and Origin allow-lists, and per-principal rate limits (their buckets
live in the shared store, ``store.RateLimiter``; ``TokenBuckets`` is the in-memory kind).

The request body cap is the SDK's ``RequestBodyLimitMiddleware`` (413), installed by the app in front of
authentication so that an unauthenticated client cannot make the server buffer a large body.

Host and Origin are checked for every path, before authentication: a browser page on another origin gets
403 whatever token it holds (DNS-rebinding and cross-site request protection). Health and readiness
probes are exempt from the Host check only, because orchestrators probe by pod IP.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

_PROBE_PATHS = frozenset({"/healthz", "/readyz"})
_MAX_BUCKETS = 10_000


def _allowed(value: str, patterns: Iterable[str]) -> bool:
    """Exact match, or ``base:*`` matching ``base`` with any port (the SDK's convention)."""
    for pattern in patterns:
        if value == pattern:
            return True
        if pattern.endswith(":*"):
            base = pattern[:-2]
            port = value[len(base) + 1 :] if value.startswith(base + ":") else ""
            if port.isdigit():
                return True
    return False


def _header(scope: Scope, name: bytes) -> str | None:
    return next((v.decode("latin-1") for k, v in scope["headers"] if k == name), None)


class HostOriginMiddleware:
    """421 for a Host not on the allow-list, 403 for an Origin not on it (no Origin: not a browser, fine)."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: Iterable[str], allowed_origins: Iterable[str]) -> None:
        self.app = app
        self._hosts = tuple(allowed_hosts)
        self._origins = tuple(allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host") or ""
        if scope.get("path") not in _PROBE_PATHS and not _allowed(host, self._hosts):
            response = JSONResponse({"error": "invalid_host", "error_description": "Host not allowed"}, 421)
            await response(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        if origin is not None and not _allowed(origin, self._origins):
            response = JSONResponse(
                {"error": "invalid_origin", "error_description": "Origin not allowed"}, 403
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Token buckets per key: ``burst`` requests at once, refilled at ``per_minute`` requests a minute.

    The table keeps the most recently used ``_MAX_BUCKETS`` keys; an evicted key starts again with a full
    bucket, which errs towards serving rather than refusing a legitimate caller.
    """

    def __init__(self, per_minute: float, burst: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when allowed, else the seconds until one is available."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
            while len(self._buckets) > _MAX_BUCKETS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


class Limiter(Protocol):
    """A rate limit by key (``store.RateLimiter``: shared by replicas when the store is)."""

    async def take(self, key: str) -> float: ...


def too_many(wait: float, what: str = "too many requests") -> JSONResponse:
    retry = max(1, math.ceil(wait))
    return JSONResponse(
        {"error": "rate_limited", "error_description": f"{what}; retry in {retry} s"},
        status_code=429,
        headers={"Retry-After": str(retry)},
    )


def client_address(scope: Scope) -> str:
    """The caller's address (the proxy's X-Forwarded-For only when it is trusted: uvicorn's setting)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class RateLimitMiddleware:
    """429 with ``Retry-After`` when a caller exceeds its bucket; keyed by token subject, else client IP.

    Installed after authentication, so a caller is identified by its verified token and one principal
    cannot spend another's budget; without authentication (development mode) the key is the client address.
    """

    def __init__(self, app: ASGIApp, limiter: Limiter, *, protected: str = "/mcp") -> None:
        self.app = app
        self._limiter = limiter
        self._protected = protected

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == self._protected or path.startswith(self._protected + "/")):
            await self.app(scope, receive, send)
            return
        wait = await self._limiter.take(self._key(scope))
        if wait > 0:
            await too_many(wait)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _key(scope: Scope) -> str:
        token = getattr(scope.get("user"), "access_token", None)
        if token is not None:
            issuer = (token.claims or {}).get("iss", "")
            return f"sub:{issuer}:{token.subject or token.client_id}"
        return f"ip:{client_address(scope)}"
