"""The contract between the simulator's protocol layer and its method implementations.

The protocol layer (``server``, ``protocol``, ``auth``, ``jobs``) owns sockets, sessions, authentication,
authorization, parameter validation against the recording and the job machinery. Method implementations
(``services/``) own behaviour and state. They meet only here, so either side can change without the other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from truenas_mcp.sim.state import World

EventKind = Literal["added", "changed", "removed"]


@dataclass
class Session:
    """One authenticated (or not yet authenticated) connection as the real middleware sees it."""

    id: str
    remote_addr: str
    secure_transport: bool
    username: str | None = None
    roles: frozenset[str] = frozenset()
    credential_type: str | None = None  # "API_KEY", "LOGIN_PASSWORD", "TOKEN", ...
    api_key_id: int | None = None
    # Every role the privilege grants, included ones too (``has_role`` on the box); ``roles`` are as
    # the privileges name them.
    expanded_roles: frozenset[str] = frozenset()

    @property
    def authenticated(self) -> bool:
        return self.username is not None

    @property
    def full_admin(self) -> bool:
        return "FULL_ADMIN" in self.roles

    def has_role(self, role: str) -> bool:
        return role in self.roles or role in self.expanded_roles


class JobHandle(Protocol):
    """What a job method sees of its own job while it runs."""

    id: int

    def set_progress(self, percent: int, description: str = "", extra: Any = None) -> None: ...

    async def checkpoint(self) -> None:
        """Yield to the loop; raises ``asyncio.CancelledError`` when the job was aborted."""

    def pipe_input(self) -> bytes | None:
        """The uploaded file of an upload job, if any."""

    def pipe_output(self, data: bytes) -> None:
        """Provide the payload of a download job."""


class Simulator(Protocol):
    """What method implementations may ask of the running simulator."""

    world: World

    def emit(self, collection: str, msg: EventKind, id: Any, fields: dict[str, Any] | None = None) -> None:
        """Send a ``collection_update`` to every subscribed session allowed to see it."""

    async def call(self, ctx: CallContext, method: str, params: list[Any]) -> Any:
        """Call another method on behalf of the same session (``core.bulk`` uses this)."""


@dataclass
class CallContext:
    sim: Simulator
    session: Session
    method: str
    job: JobHandle | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[CallContext, list[Any]], Awaitable[Any]]
