"""Event subscriptions (``core.subscribe``) shared by every local listener of the same event name.

One server subscription per name, however many local listeners; it is re-established on every new
connection (events sent while disconnected are lost, which is why the job tracker re-reads job states).
Delivery never blocks the connection reader: each stream has a bounded queue that drops its oldest event
when full and counts the loss.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from truenas_mcp.client.errors import SubscriptionError, TrueNASError

log = logging.getLogger("truenas_mcp.client")

CallFn = Callable[[str, list[Any]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Event:
    """One ``collection_update``: ``msg`` is ``added``, ``changed`` or ``removed``."""

    collection: str
    msg: str
    id: Any
    fields: dict[str, Any] | None = None
    extra: dict[str, Any] | None = None


class Listener(Protocol):
    def deliver(self, event: Event) -> None: ...

    def end(self, error: SubscriptionError | None) -> None: ...


class _ServerSub:
    __slots__ = ("listeners", "server_id")

    def __init__(self) -> None:
        self.server_id: str | None = None
        self.listeners: set[Listener] = set()


class EventHub:
    """Reference-counted server subscriptions and the fan-out of notifications to listeners."""

    def __init__(self) -> None:
        self._subs: dict[str, _ServerSub] = {}
        self._lock = asyncio.Lock()

    @property
    def names(self) -> list[str]:
        return list(self._subs)

    async def add(self, name: str, listener: Listener, call: CallFn) -> None:
        async with self._lock:
            sub = self._subs.get(name)
            if sub is None:
                sub = _ServerSub()
                sub.server_id = await self._subscribe(name, call)
                self._subs[name] = sub
            sub.listeners.add(listener)

    async def remove(self, name: str, listener: Listener, call: CallFn | None) -> None:
        async with self._lock:
            sub = self._subs.get(name)
            if sub is None:
                return
            sub.listeners.discard(listener)
            if sub.listeners:
                return
            del self._subs[name]
            if call is not None and sub.server_id is not None:
                try:
                    await call("core.unsubscribe", [sub.server_id])
                except TrueNASError as exc:  # the connection may be gone; the server forgets it then
                    log.debug("core.unsubscribe(%s) failed: %s", name, exc)

    async def restore(self, call: CallFn) -> None:
        """Subscribe again on a fresh connection (server subscription ids do not survive it)."""
        async with self._lock:
            for name, sub in list(self._subs.items()):
                try:
                    sub.server_id = await self._subscribe(name, call)
                except SubscriptionError as exc:
                    del self._subs[name]
                    for listener in sub.listeners:
                        listener.end(exc)

    @staticmethod
    async def _subscribe(name: str, call: CallFn) -> str:
        try:
            server_id = await call("core.subscribe", [name])
        except TrueNASError as exc:
            if exc.retryable:
                raise
            raise SubscriptionError(name, f"refused by TrueNAS: {exc}") from exc
        return str(server_id)

    def end_all(self, error: SubscriptionError | None) -> None:
        """End every local stream (the client closed or stopped for good)."""
        subs, self._subs = self._subs, {}
        for sub in subs.values():
            for listener in sub.listeners:
                listener.end(error)

    def dispatch(self, method: str, params: Any) -> None:
        """Route one server notification; called from the connection reader, so it must not block."""
        if not isinstance(params, dict):
            return
        collection = params.get("collection")
        if not isinstance(collection, str):
            return
        if method == "collection_update":
            event = Event(
                collection=collection,
                msg=str(params.get("msg")),
                id=params.get("id"),
                fields=params.get("fields"),
                extra=params.get("extra"),
            )
            for sub in self._matching(collection):
                for listener in list(sub.listeners):
                    listener.deliver(event)
        elif method == "notify_unsubscribed":
            error = params.get("error")
            reason = error.get("reason") if isinstance(error, dict) else None
            exc = SubscriptionError(collection, reason or "ended by TrueNAS", error) if error else None
            for name in [n for n in self._subs if _matches(n, collection)]:
                sub = self._subs.pop(name)
                for listener in sub.listeners:
                    listener.end(exc)

    def _matching(self, collection: str) -> list[_ServerSub]:
        subs = self._subs
        exact = subs.get(collection)
        if len(subs) == 1 and exact is not None:
            return [exact]
        return [sub for name, sub in subs.items() if _matches(name, collection)]


def _matches(name: str, collection: str) -> bool:
    # Event sources are subscribed as "name:<json arg>"; "*" receives everything.
    return name == collection or name == "*" or name.partition(":")[0] == collection


class EventStream(AsyncIterator[Event]):
    """Events of one subscription as an async iterator; use ``async with`` to unsubscribe on exit."""

    def __init__(
        self,
        name: str,
        hub: EventHub,
        call: CallFn,
        current_call: Callable[[], CallFn | None],
        max_queue: int = 1000,
    ) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.name = name
        self._hub = hub
        self._call = call
        self._current_call = current_call
        self._queue: collections.deque[Event] = collections.deque()
        self._max_queue = max_queue
        self._ready = asyncio.Event()
        self._started = False
        self._ended = False
        self._error: SubscriptionError | None = None
        self.dropped = 0

    # Listener protocol -------------------------------------------------------------------------
    def deliver(self, event: Event) -> None:
        if len(self._queue) >= self._max_queue:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(event)
        self._ready.set()

    def end(self, error: SubscriptionError | None) -> None:
        self._ended = True
        self._error = error
        self._ready.set()

    # Lifecycle -------------------------------------------------------------------------------
    async def start(self) -> EventStream:
        if not self._started:
            self._started = True
            await self._hub.add(self.name, self, self._call)
        return self

    async def aclose(self) -> None:
        if self._started and not self._ended:
            self._ended = True
            self._ready.set()
            await self._hub.remove(self.name, self, self._current_call())

    async def __aenter__(self) -> EventStream:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        if not self._started:
            await self.start()
        while not self._queue:
            if self._ended:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()
