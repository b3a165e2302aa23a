"""Confirmation of destructive calls, bound to the exact call: caller, tool and canonical arguments.

Three ways to ask, picked per call from what the client can do:

* **elicitation** (2025-11-25 clients that declared the capability): the server asks the user a yes/no
  question in the middle of the call and runs it only on an explicit "yes";
* **input required** (2026-07-28 clients that handle elicitation input requests): the call answers an
  ``InputRequiredResult`` whose ``requestState`` is a confirmation token; the SDK's request-state boundary
  seals it (AES-GCM, bound to tool, arguments and principal) and this module checks it again on the retry;
* **two steps** (every other client): the first call answers a preview of what would happen and a
  short-lived token; the call runs only when repeated with ``confirmation_token`` and identical arguments.

A token is an HMAC over (issuer, subject, client, tool, canonical arguments, expiry, nonce), valid for a few
minutes and redeemable once: a replayed, tampered, expired or re-targeted token runs nothing. "Once" is
kept in the shared store (``server/store.py``), so with Redis a token redeemed on one replica is refused on
every other; when the store is unreachable, no token is accepted at all (fail closed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from truenas_mcp.server import redact
from truenas_mcp.server.access import Principal
from truenas_mcp.server.store import MemoryStore, Store, StoreUnavailable

TOKEN_ARGUMENT = "confirmation_token"
INPUT_KEY = "confirm"
_PREFIX = "c1"
_CONTEXT = b"truenas-mcp/confirm/v1\n"

# (action, content) as the client answered an elicitation: "accept"/"decline"/"cancel" and the form values.
ElicitFn = Callable[[str, dict[str, Any]], Awaitable[tuple[str, Mapping[str, Any] | None]]]


def derive_key(root: bytes, purpose: str) -> bytes:
    """A key for one purpose from the deployment's confirmation secret (one secret, separate keys)."""
    return hmac.new(root, b"truenas-mcp/" + purpose.encode(), hashlib.sha256).digest()


def load_root_key(path: Path | None) -> bytes:
    """The deployment's confirmation secret (shared by replicas), or a fresh per-process one."""
    if path is None:
        return secrets.token_bytes(32)
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise ValueError(f"confirm_secret_file: cannot read {path} ({exc.strerror})") from None
    if len(key) < 32:
        raise ValueError(f"confirm_secret_file: {path} holds {len(key)} bytes; use at least 32 random bytes")
    redact.register_secret(key)
    return key


class ConfirmationError(Exception):
    """A confirmation token was refused; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class ConfirmChannel:
    """What the client of one call can do to confirm it (built from the MCP request by the app)."""

    elicit: ElicitFn | None = None
    input_required: bool = False
    input_responses: Mapping[str, Any] | None = None
    request_state: str | None = None


NO_CHANNEL = ConfirmChannel()


@dataclass(frozen=True, slots=True)
class Outcome:
    """``confirmed``: run the call (``how`` says by which path); otherwise ``result`` goes back as is."""

    confirmed: bool
    how: Literal["elicitation", "input_required", "token", "declined", "pending"]
    result: dict[str, Any] | None = None


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _caller(principal: Principal) -> list[Any]:
    return [principal.claims.get("iss"), principal.subject, principal.client_id]


def _schema(question: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"confirm": {"type": "boolean", "title": "Run it", "description": question}},
        "required": ["confirm"],
    }


def _accepted(answer: Any) -> bool:
    action = answer.get("action") if isinstance(answer, Mapping) else getattr(answer, "action", None)
    content = answer.get("content") if isinstance(answer, Mapping) else getattr(answer, "content", None)
    return action == "accept" and isinstance(content, Mapping) and content.get("confirm") is True


def _result(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": True}


class Confirmations:
    """Issues and redeems confirmation tokens under one key."""

    def __init__(
        self,
        key: bytes,
        ttl: float,
        *,
        clock: Callable[[], float] = time.time,
        store: Store | None = None,
    ) -> None:
        if len(key) < 32:
            raise ValueError("confirmation key: use at least 32 random bytes")
        self._key = key
        self.ttl = ttl
        self._clock = clock
        self._store = store if store is not None else MemoryStore()

    def _mac(
        self, principal: Principal, tool: str, arguments: Mapping[str, Any], exp: int, nonce: str
    ) -> bytes:
        message = _CONTEXT + canonical([_caller(principal), tool, arguments, exp, nonce])
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def issue(self, principal: Principal, tool: str, arguments: Mapping[str, Any]) -> str:
        exp = int(self._clock() + self.ttl)
        nonce = secrets.token_urlsafe(9)
        payload = _b64(canonical({"e": exp, "n": nonce}))
        return f"{_PREFIX}.{payload}.{_b64(self._mac(principal, tool, arguments, exp, nonce))}"

    async def redeem(self, token: str, principal: Principal, tool: str, arguments: Mapping[str, Any]) -> None:
        """Accept ``token`` for exactly this call, once; ``ConfirmationError`` otherwise."""
        try:
            prefix, payload, mac = token.split(".")
            fields = json.loads(_unb64(payload))
            exp, nonce = int(fields["e"]), str(fields["n"])
            given = _unb64(mac)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ConfirmationError("malformed confirmation token") from None
        if prefix != _PREFIX or not hmac.compare_digest(
            given, self._mac(principal, tool, arguments, exp, nonce)
        ):
            raise ConfirmationError(
                "the confirmation token does not match this call (another tool, other arguments, another "
                "caller, or altered); nothing was run. Call again without it to get a new preview"
            )
        now = self._clock()
        if now > exp:
            raise ConfirmationError("the confirmation token expired; nothing was run. Call again without it")
        try:
            first = await self._store.claim("confirm:" + nonce, exp - now + 1)
        except StoreUnavailable as exc:
            raise ConfirmationError(
                f"confirmations cannot be checked now, so nothing was run: {exc}. The token stays valid "
                "until it expires; use it again once the store is back"
            ) from None
        if not first:
            raise ConfirmationError("the confirmation token was already used; nothing was run")

    def preview(
        self, tool: str, method: str, safety: str, arguments: Mapping[str, Any], plain: str | None = None
    ) -> str:
        """What the call does: ``plain`` words first when given, then exactly what TrueNAS will receive."""
        shown = json.dumps(redact.redact(dict(arguments)), sort_keys=True, ensure_ascii=False)
        exact = f"{tool} ({safety}) will call TrueNAS {method} with {shown}"
        return f"{tool} {plain} ({safety}: TrueNAS {method} with {shown})" if plain else exact

    async def confirm(
        self,
        channel: ConfirmChannel,
        principal: Principal,
        *,
        tool: str,
        method: str,
        safety: str,
        arguments: Mapping[str, Any],
        token: str | None,
        plain: str | None = None,
    ) -> Outcome:
        """Decide whether this call is confirmed now, or what to answer instead of running it."""
        if token is not None:
            await self.redeem(token, principal, tool, arguments)
            return Outcome(True, "token")
        preview = self.preview(tool, method, safety, arguments, plain)
        if channel.input_responses is not None and channel.request_state is not None:
            await self.redeem(channel.request_state, principal, tool, arguments)
            if _accepted(channel.input_responses.get(INPUT_KEY)):
                return Outcome(True, "input_required")
            return Outcome(False, "declined", _result(f"The user declined; nothing was run. ({preview})"))
        question = f"Confirm: {preview}." + (" This cannot be undone." if safety == "destructive" else "")
        if channel.input_required:
            state = self.issue(principal, tool, arguments)
            request = {
                "method": "elicitation/create",
                "params": {"mode": "form", "message": question, "requestedSchema": _schema(question)},
            }
            result = {
                "resultType": "input_required",
                "inputRequests": {INPUT_KEY: request},
                "requestState": state,
            }
            return Outcome(False, "pending", result)
        if channel.elicit is not None:
            action, content = await channel.elicit(question, _schema(question))
            if _accepted({"action": action, "content": content}):
                return Outcome(True, "elicitation")
            return Outcome(False, "declined", _result(f"The user declined; nothing was run. ({preview})"))
        token = self.issue(principal, tool, arguments)
        text = (
            f"Not run yet: {preview}. This needs confirmation. Show the user exactly what will happen and, "
            f"only if they agree, repeat the identical call with the extra argument "
            f'"{TOKEN_ARGUMENT}": "{token}" (valid {int(self.ttl)} s, once, for these exact arguments).'
        )
        result = _result(text)
        result["structuredContent"] = {
            "confirmation": {
                "tool": tool,
                "method": method,
                "arguments": redact.redact(dict(arguments)),
                TOKEN_ARGUMENT: token,
                "expires_in_seconds": int(self.ttl),
            }
        }
        return Outcome(False, "pending", result)
