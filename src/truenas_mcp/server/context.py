"""The caller's side of one tool call, shared by every stage of the call pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from truenas_mcp.server.access import Principal
from truenas_mcp.server.confirm import NO_CHANNEL, ConfirmChannel
from truenas_mcp.server.jobs import ProgressFn
from truenas_mcp.server.profiles import Profile


@dataclass(frozen=True, slots=True)
class CallContext:
    """The URL's profile, who is calling and where progress goes."""

    profile: Profile
    principal: Principal
    progress: ProgressFn | None = None
    channel: ConfirmChannel = NO_CHANNEL  # how this client can confirm a destructive call
    client_name: str | None = None  # the MCP client's own name (clientInfo), for the audit log
    # The reply is written from the answer's JSON text (direct answers), so the structured content
    # needs no JSON-clean copy of its own.
    one_encoding: bool = False
