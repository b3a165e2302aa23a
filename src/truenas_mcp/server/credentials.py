"""TrueNAS credentials per role tier: which TrueNAS connection a caller's calls run over.

Two modes:

* **single credential** (the demo, a home lab): one TrueNAS connection, logged in with the ``TRUENAS_*``
  credential; every call runs over it and the server's filter chain is the only guard between a token's
  scopes and what that credential may do.
* **per role**: the ``credentials`` setting names one TrueNAS user's API key per role tier (a
  READONLY_ADMIN user, a SHARING_ADMIN user, a full admin, ...). Each call runs over the credential with
  the fewest roles that still include every role the caller's token names, so TrueNAS itself refuses what
  that user may not do and redacts secrets as it does for that user. A token whose roles no credential
  includes is refused (HTTP 403) with the missing mapping named.

A token's roles must all be held by one credential: the server never widens a caller to a credential with
roles the token does not name beyond the tier's own (a READONLY_ADMIN token never runs as the full admin).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from truenas_mcp.client import ClientConfig, TrueNASClient
from truenas_mcp.server import redact
from truenas_mcp.server.settings import SCOPE_PREFIX, CredentialSetting

Mode = Literal["single credential", "per-role credentials"]


@dataclass(frozen=True, slots=True)
class Tier:
    """One TrueNAS connection and the roles its user holds (``None``: the single credential's user)."""

    name: str
    roles: frozenset[str] | None
    client: TrueNASClient

    def covers(self, roles: frozenset[str]) -> bool:
        return self.roles is None or roles <= self.roles


class MissingCredential(LookupError):
    """No configured credential holds every role of a token; the message names the mapping to add."""


class CredentialPool:
    """The TrueNAS connections of one server, keyed by tier."""

    def __init__(self, tiers: Iterable[Tier], mode: Mode) -> None:
        self.tiers = tuple(tiers)
        if not self.tiers:
            raise ValueError("credentials: at least one TrueNAS connection is needed")
        self.mode: Mode = mode
        self.by_name = {tier.name: tier for tier in self.tiers}

    @classmethod
    def single(cls, client: TrueNASClient) -> CredentialPool:
        return cls([Tier("default", None, client)], "single credential")

    @classmethod
    def per_role(cls, base: ClientConfig, credentials: Iterable[CredentialSetting]) -> CredentialPool:
        """One client per configured credential, on the TrueNAS of ``base`` (URL, TLS, timeouts)."""
        tiers = []
        for setting in credentials:
            config = ClientConfig.build(
                **{
                    **base.model_dump(exclude={"api_key", "password", "password_file"}),
                    "username": setting.username,
                    "api_key_file": setting.api_key_file,
                }
            )
            credential = config.credential()
            if credential is not None:
                redact.register_secret(credential.secret.get_secret_value())
            tiers.append(Tier(setting.name, frozenset(setting.roles), TrueNASClient(config)))
        return cls(tiers, "per-role credentials")

    def tier_for(self, roles: frozenset[str]) -> Tier:
        """The least tier whose user holds every role in ``roles``; ``MissingCredential`` when none does."""
        covering = [tier for tier in self.tiers if tier.covers(roles)]
        if covering:
            # Fewest roles first; declaration order breaks ties (and keeps the choice deterministic).
            return min(covering, key=lambda tier: len(tier.roles) if tier.roles is not None else 0)
        held = ", ".join(sorted(SCOPE_PREFIX + role for role in roles)) or "no truenas: scope"
        configured = "; ".join(f"{tier.name}: {', '.join(sorted(tier.roles or ()))}" for tier in self.tiers)
        raise MissingCredential(
            f"no TrueNAS credential of this server holds every role of this token ({held}); add an entry "
            f"to the `credentials` setting (TRUENAS_MCP_CREDENTIALS) whose roles include them "
            f"(configured: {configured})"
        )

    # Lifecycle ------------------------------------------------------------------------------------
    def start(self) -> None:
        for tier in self.tiers:
            tier.client.start()

    async def close(self) -> None:
        for tier in self.tiers:
            with contextlib.suppress(Exception):
                await asyncio.shield(tier.client.close())

    @property
    def reconnects(self) -> int:
        return sum(tier.client.reconnects for tier in self.tiers)

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Whether every connection is logged in, and what ``/readyz`` reports about each."""
        ready = all(tier.client.authenticated for tier in self.tiers)
        body: dict[str, Any] = {"status": "ready" if ready else "not ready", "mode": self.mode}
        if self.mode == "per-role credentials":
            body["credentials"] = {tier.name: _state(tier.client) for tier in self.tiers}
        elif not ready:
            body["reason"] = _state(self.tiers[0].client)
        return ready, body

    def describe(self) -> dict[str, str]:
        """For the start-up log: the mode and, per tier, its user and roles (never a secret)."""
        return {
            "mode": self.mode,
            "truenas_users": "; ".join(
                f"{tier.name}: user {tier.client.config.username}"
                + (f" with {', '.join(sorted(tier.roles))}" if tier.roles is not None else "")
                for tier in self.tiers
            ),
        }


def _state(client: TrueNASClient) -> str:
    if client.authenticated:
        return "ready"
    return str(client.failure) if client.failure else "not connected to TrueNAS (yet)"
