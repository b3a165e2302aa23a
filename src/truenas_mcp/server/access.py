"""Who is calling: the principal of a request, and the decisions the authorization stage answers.

``principal_of(request)`` is the only place that turns an HTTP request into a caller (from the verified
bearer token when HTTP auth is on). What a caller may use is decided by the filter chain
(:mod:`truenas_mcp.server.chain`); whether one call runs now, needs confirmation or is refused by an
argument rule is decided by :mod:`truenas_mcp.server.authz`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller. ``subject`` is ``None`` when the server runs without HTTP authentication."""

    subject: str | None
    scopes: frozenset[str] = frozenset()
    client_id: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """A stable identity for ownership records: issuer, subject and client."""
        return "\n".join(str(part) for part in (self.claims.get("iss"), self.subject, self.client_id))


ANONYMOUS = Principal(subject=None)
# The caller of an in-process or stdio session: the local process that started the server, trusted like the
# operator who holds the TrueNAS credential. HTTP requests are never LOCAL.
LOCAL = Principal(subject=None, scopes=frozenset({"truenas:FULL_ADMIN"}), client_id="local")


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


def principal_of(request: Any) -> Principal:
    """The caller of an HTTP request, from the SDK's verified-token user (``scope["user"]``).

    ``None`` (no HTTP request: an in-process or stdio session) is :data:`LOCAL`; an HTTP request without a
    verified token is :data:`ANONYMOUS`, which holds no role.
    """
    if request is None:
        return LOCAL
    scope = request.scope if hasattr(request, "scope") else request if isinstance(request, Mapping) else {}
    user = scope.get("user")
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
