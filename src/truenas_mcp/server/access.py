"""Who is calling, what they may see and what they may call: the one place for access decisions.

The server asks three questions, always here and always in this order:

1. ``principal_of(request)``: the caller (from the verified bearer token when HTTP auth is on).
2. ``AccessPolicy.visible(principal, tool)``: is the tool listed (and found by search/describe)?
3. ``AccessPolicy.authorize(principal, tool, arguments)``: may this call run (allow, deny with a reason, or
   run only after confirmation)?

Direct calls and calls made through the discovery ``call_tool`` go through the same ``authorize``. A
profile's own limits (the read-only profile refusing write tools) are enforced by the profile, before and
independently of the policy, so that no policy can widen them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from truenas_mcp.catalog import Policy


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller. ``subject`` is ``None`` when the server runs without HTTP authentication."""

    subject: str | None
    scopes: frozenset[str] = frozenset()
    client_id: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)


ANONYMOUS = Principal(subject=None)
# The caller of an in-process or stdio session: the local process that started the server, trusted like the
# operator who holds the TrueNAS credential. HTTP requests are never LOCAL.
LOCAL = Principal(subject=None, scopes=frozenset({"truenas:FULL_ADMIN"}), client_id="local")


@dataclass(frozen=True, slots=True)
class ToolRef:
    """What the access policy sees of a tool: its name and its policy data (never its schema)."""

    name: str
    method: str | None
    policy: Policy | None  # None for the server's own tools (discovery, job follow-up)


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Literal["allow", "deny", "confirm"]
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.outcome == "allow"


ALLOW = Decision("allow")


def deny(reason: str) -> Decision:
    return Decision("deny", reason)


def needs_confirmation(reason: str) -> Decision:
    return Decision("confirm", reason)


class AccessPolicy(Protocol):
    """Pluggable authorization (JWT scopes, role mapping, confirmations build on this)."""

    def visible(self, principal: Principal, tool: ToolRef) -> bool: ...

    async def authorize(
        self, principal: Principal, tool: ToolRef, arguments: Mapping[str, Any]
    ) -> Decision: ...

    def sees_secrets(self, principal: Principal, tool: ToolRef) -> bool:
        """Whether the tool's results reach this caller with secret fields intact."""
        ...

    def may_abort_jobs(self, principal: Principal) -> bool:
        """Whether this caller may abort TrueNAS jobs (a write, even through a read tool)."""
        ...


class AllowAll:
    """The default: every tool the profile offers is visible and callable (TrueNAS still checks roles)."""

    def visible(self, principal: Principal, tool: ToolRef) -> bool:
        return True

    async def authorize(self, principal: Principal, tool: ToolRef, arguments: Mapping[str, Any]) -> Decision:
        return ALLOW

    def sees_secrets(self, principal: Principal, tool: ToolRef) -> bool:
        return True

    def may_abort_jobs(self, principal: Principal) -> bool:
        return True


def principal_of(request: Any) -> Principal:
    """The caller of an HTTP request, from the SDK's verified-token user (``scope["user"]``).

    ``None`` (no HTTP request: an in-process or stdio session) is :data:`LOCAL`; an HTTP request without a
    verified token is :data:`ANONYMOUS`, which holds no role.
    """
    if request is None:
        return LOCAL
    user = request.scope.get("user") if hasattr(request, "scope") else None
    token = getattr(user, "access_token", None)
    if token is None:
        return ANONYMOUS
    claims = getattr(token, "claims", None)
    return Principal(
        subject=getattr(token, "subject", None) or getattr(token, "client_id", None),
        scopes=frozenset(getattr(token, "scopes", ()) or ()),
        client_id=getattr(token, "client_id", None),
        claims=claims if isinstance(claims, Mapping) else {},
    )
