"""An in-process ``Simulator`` for driving handlers without sockets: unit tests, scripts, the REPL.

It runs handlers (hand-written, else the state engine's) against a ``World``, records the events they
emit and runs job methods inline with a ``LocalJob`` that keeps the progress reports. Authorization
and parameter validation are the protocol layer's business and do not happen here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from truenas_mcp.sim.api import CallContext, EventKind, Session
from truenas_mcp.sim.state import World


@dataclass
class Event:
    collection: str
    msg: EventKind
    id: Any
    fields: dict[str, Any] | None = None


@dataclass
class LocalJob:
    """A ``JobHandle`` recording progress; after ``abort()`` the next checkpoint raises ``CancelledError``."""

    id: int
    progress: list[tuple[int, str]] = field(default_factory=list)
    aborted: bool = False
    input_data: bytes | None = None
    output: bytes | None = None

    def set_progress(self, percent: int, description: str = "", extra: Any = None) -> None:
        self.progress.append((percent, description))

    async def checkpoint(self) -> None:
        await asyncio.sleep(0)
        if self.aborted:
            raise asyncio.CancelledError

    def abort(self) -> None:
        self.aborted = True

    def pipe_input(self) -> bytes | None:
        return self.input_data

    def pipe_output(self, data: bytes) -> None:
        self.output = data


class LocalSimulator:
    """Dispatch to ``HANDLERS`` in-process; ``job_methods`` are run with a ``LocalJob``."""

    def __init__(self, world: World, job_methods: frozenset[str] = frozenset()) -> None:
        self.world = world
        self.events: list[Event] = []
        self.jobs: list[LocalJob] = []
        self.job_methods = job_methods
        self.session = Session(
            id="local",
            remote_addr="127.0.0.1",
            secure_transport=True,
            username="truenas_admin",
            roles=frozenset({"FULL_ADMIN"}),
            credential_type="LOGIN_PASSWORD",
        )

    def emit(self, collection: str, msg: EventKind, id: Any, fields: dict[str, Any] | None = None) -> None:
        self.events.append(Event(collection, msg, id, fields))

    def context(self, method: str) -> CallContext:
        job = None
        if method in self.job_methods:
            job = LocalJob(id=len(self.jobs) + 1)
            self.jobs.append(job)
        return CallContext(sim=self, session=self.session, method=method, job=job)

    async def call(self, ctx: CallContext | None, method: str, params: list[Any]) -> Any:
        from truenas_mcp.sim.engine.build import engine_handlers
        from truenas_mcp.sim.recording import load_recording
        from truenas_mcp.sim.services import HANDLERS

        handler = HANDLERS.get(method) or engine_handlers(load_recording()).get(method)
        if handler is None:
            raise KeyError(f"{method}: not simulated (no hand-written handler and no engine namespace)")
        return await handler(self.context(method), list(params))
