"""Authentication and authorization as ``plugins/auth.py`` and ``main.py`` do them on 25.04.2.

Covers ``auth.login_ex`` (API_KEY_PLAIN, PASSWORD_PLAIN, TOKEN_PLAIN, the OTP continuation), the legacy
boolean helpers, tokens, ``auth.me``, the unauthenticated rate limit, role checks, and the revocation of an
API key that was used over an insecure transport.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import hashlib
import hmac
import random
import secrets
import struct
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from truenas_mcp.sim.api import CallContext, Handler, Session
from truenas_mcp.sim.errors import CallError
from truenas_mcp.wire import ENOTAUTHENTICATED

if TYPE_CHECKING:
    from truenas_mcp.sim.server import Simulator

MECHANISMS_AAL1 = ["API_KEY_PLAIN", "TOKEN_PLAIN", "PASSWORD_PLAIN"]

# ``no_authz_required`` methods: any authenticated user session may call them. In 25.04.2 an API key
# session is a user session (``ApiKeySessionManagerCredentials`` subclasses ``UserSessionManagerCredentials``
# in ``auth.py``), so its keys get them too; only token sessions of non-user credentials do not.
NO_AUTHZ_REQUIRED = frozenset(
    {
        "auth.generate_token",
        "auth.logout",
        "auth.me",
        "auth.set_attribute",
        "core.bulk",
        "core.download",
        "core.get_jobs",
        "core.job_abort",
        "core.job_download_logs",
        "core.job_wait",
        "core.ping",
        "core.subscribe",
        "core.unsubscribe",
        "directoryservices.get_state",
        "directoryservices.status",
        "failover.licensed",
        "privilege.roles",
        "system.version",
        "system.version_short",
        "user.renew_2fa_secret",
        "user.set_password",
    }
)
RATE_LIMIT_CALLS = 20
RATE_LIMIT_WINDOW = 60.0
RATE_LIMIT_MAX_KEYS = 100


def authorize(session: Session, method: str, roles: list[str]) -> None:
    """``main.py authorize_method_call``: raise EACCES unless the session's roles grant ``method``."""
    if session.full_admin:
        return
    if method in NO_AUTHZ_REQUIRED:
        return
    if roles and not session.roles.isdisjoint(roles):
        return
    raise CallError("Not authorized", errno.EACCES)


def not_authenticated() -> CallError:
    return CallError("Not authenticated", ENOTAUTHENTICATED)


class RateLimiter:
    """``utils/rate_limit/cache.py``: 20 calls per 60 s per (method, remote IP), at most 100 keys."""

    def __init__(self, delay: tuple[float, float]) -> None:
        self.delay = delay
        self._hits: dict[tuple[str, str], tuple[float, int]] = {}

    async def check(self, method: str, remote_ip: str) -> None:
        now = time.monotonic()
        self._hits = {k: v for k, v in self._hits.items() if now - v[0] < RATE_LIMIT_WINDOW}
        key = (method, remote_ip)
        started, count = self._hits.get(key, (now, 0))
        if (key not in self._hits and len(self._hits) >= RATE_LIMIT_MAX_KEYS) or count >= RATE_LIMIT_CALLS:
            # The real server sleeps a random while before refusing, to slow brute-forcing down.
            await asyncio.sleep(random.uniform(*self.delay))
            raise CallError("Rate Limit Exceeded", errno.EBUSY)
        self._hits[key] = (started, count + 1)


@dataclass
class Token:
    """An ``auth.generate_token`` token: ``ttl`` is an inactivity window, not a lifetime."""

    value: str
    username: str
    roles: frozenset[str]
    ttl: int | None
    attrs: dict[str, Any]
    origin: str | None
    single_use: bool
    last_used: float = field(default_factory=time.monotonic)

    def usable(self, origin: str) -> bool:
        if self.ttl is not None and time.monotonic() > self.last_used + self.ttl:
            return False
        return self.origin is None or self.origin == origin


class TokenStore:
    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}

    def issue(
        self, session: Session, ttl: int | None, attrs: dict[str, Any], match_origin: bool, single_use: bool
    ) -> str:
        value = secrets.token_urlsafe(36)  # 48 characters, as the middleware's tokens
        assert session.username is not None
        self._tokens[value] = Token(
            value,
            session.username,
            session.roles,
            ttl,
            dict(attrs),
            session.remote_addr if match_origin else None,
            single_use,
        )
        return value

    def take(self, value: str, origin: str) -> Token | None:
        """The token if usable from ``origin``; refreshes its inactivity window, consumes single-use ones."""
        token = self._tokens.get(value)
        if token is None or not token.usable(origin):
            return None
        token.last_used = time.monotonic()
        if token.single_use:
            del self._tokens[value]
        return token


def totp_now(secret_b32: str, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 TOTP (SHA-1), what the middleware's two-factor check accepts."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return str(code).zfill(digits)


def user_info(username: str, roles: frozenset[str]) -> dict[str, Any]:
    """``auth.me`` for a local account (the shape of ``auth.me``'s ``returns``)."""
    uid = 950 if username == "truenas_admin" else 0 if username == "root" else 3000
    return {
        "pw_name": username,
        "pw_gecos": username,
        "pw_dir": "/root" if username == "root" else f"/home/{username}",
        "pw_shell": "/usr/bin/zsh",
        "pw_uid": uid,
        "pw_gid": uid,
        "grouplist": [uid, 544] if "FULL_ADMIN" in roles else [uid],
        "sid": None,
        "source": "LOCAL",
        "local": True,
        "attributes": {},
        "two_factor_config": {"secret_configured": False, "interval": 30, "otp_digits": 6},
        "privilege": {"roles": set(roles), "web_shell": "FULL_ADMIN" in roles},
        "account_attributes": ["LOCAL", "SYS_ADMIN"] if "FULL_ADMIN" in roles else ["LOCAL"],
    }


class AuthMethods:
    """The ``auth.*`` methods the protocol layer owns; one instance per simulator."""

    def __init__(self, engine: Simulator) -> None:
        self.engine = engine
        self.tokens = TokenStore()
        self._otp_pending: dict[str, str] = {}  # session id → username awaiting OTP_TOKEN

    def handlers(self) -> dict[str, Handler]:
        return {
            "auth.login_ex": self.login_ex,
            "auth.login_ex_continue": self.login_ex_continue,
            "auth.login": self.login,
            "auth.login_with_api_key": self.login_with_api_key,
            "auth.login_with_token": self.login_with_token,
            "auth.logout": self.logout,
            "auth.me": self.me,
            "auth.generate_token": self.generate_token,
            "auth.mechanism_choices": self.mechanism_choices,
        }

    # -- helpers -----------------------------------------------------------------------------------------
    def _succeed(
        self,
        session: Session,
        username: str,
        roles: frozenset[str],
        credential: str,
        options: Any,
        authenticator: str = "LEVEL_1",
    ) -> Any:
        session.username = username
        session.roles = roles
        session.credential_type = credential
        self._otp_pending.pop(session.id, None)
        want_info = not isinstance(options, dict) or options.get("user_info", True)
        return {
            "response_type": "SUCCESS",
            "user_info": user_info(username, roles) if want_info else None,
            "authenticator": authenticator,
        }

    def _otp_secret(self, username: str) -> str | None:
        """The user's TOTP secret (base32) when two-factor authentication is on for that user."""
        return self.engine.twofactor_secrets.get(username)

    def _password(self, session: Session, data: dict[str, Any]) -> Any:
        username, options = data["username"], data.get("login_options")
        if not self.engine.world.check_password(username, data["password"]):
            return {"response_type": "AUTH_ERR"}
        if self._otp_secret(username):
            self._otp_pending[session.id] = username
            return {"response_type": "OTP_REQUIRED", "username": username}
        return self._succeed(
            session, username, self.engine.world.roles_for(username), "LOGIN_PASSWORD", options
        )

    def _api_key(self, session: Session, key: str, username: str | None, options: Any) -> Any:
        record = self.engine.world.find_api_key(key, username)
        if record is None or record.revoked:
            return {"response_type": "AUTH_ERR"}
        if record.expires_at is not None and record.expires_at <= self.engine.world.now():
            return {"response_type": "EXPIRED"}
        if not session.secure_transport:
            # plugins/auth.py: a key seen in clear text is compromised, so the server revokes it at once.
            self.engine.world.revoke_api_key(record.id, "API key revoked due to insecure transport.")
            return {"response_type": "EXPIRED"}
        result = self._succeed(
            session, record.username, self.engine.world.roles_for(record.username), "API_KEY", options
        )
        session.api_key_id = record.id
        return result

    def _token(self, session: Session, value: str, options: Any) -> Any:
        token = self.tokens.take(value, session.remote_addr)
        if token is None or token.attrs:  # tokens minted for downloads cannot log in
            return {"response_type": "AUTH_ERR"}
        return self._succeed(session, token.username, token.roles, "TOKEN", options)

    # -- methods -----------------------------------------------------------------------------------------
    async def login_ex(self, ctx: CallContext, params: list[Any]) -> Any:
        data = params[0]
        session = ctx.session
        mechanism = data["mechanism"]
        if session.id in self._otp_pending and mechanism != "OTP_TOKEN":
            del self._otp_pending[session.id]  # a different mechanism discards the half-done attempt
        if mechanism == "PASSWORD_PLAIN":
            return self._password(session, data)
        if mechanism == "API_KEY_PLAIN":
            return self._api_key(session, data["api_key"], data["username"], data.get("login_options"))
        if mechanism == "TOKEN_PLAIN":
            return self._token(session, data["token"], data.get("login_options"))
        raise CallError(f"{mechanism}: mechanism is not supported", errno.EOPNOTSUPP)

    async def login_ex_continue(self, ctx: CallContext, params: list[Any]) -> Any:
        data = params[0]
        username = self._otp_pending.get(ctx.session.id)
        if username is None:
            raise CallError("No ongoing authentication request", errno.EINVAL)
        secret = self._otp_secret(username)
        if not secret or not hmac.compare_digest(totp_now(secret), str(data["otp_token"])):
            # A wrong code does not restart the login: the client may try another one.
            return {"response_type": "OTP_REQUIRED", "username": username}
        del self._otp_pending[ctx.session.id]
        roles = self.engine.world.roles_for(username)
        options = data.get("login_options")
        return self._succeed(ctx.session, username, roles, "LOGIN_TWOFACTOR", options, "LEVEL_2")

    async def login(self, ctx: CallContext, params: list[Any]) -> bool:
        username, password = params[0], params[1]
        otp = params[2] if len(params) > 2 else None
        answer = self._password(ctx.session, {"username": username, "password": password})
        if answer["response_type"] == "OTP_REQUIRED" and otp is not None:
            answer = await self.login_ex_continue(ctx, [{"mechanism": "OTP_TOKEN", "otp_token": otp}])
        return bool(answer["response_type"] == "SUCCESS")

    async def login_with_api_key(self, ctx: CallContext, params: list[Any]) -> bool:
        answer = self._api_key(ctx.session, params[0], None, {"user_info": False})
        return bool(answer["response_type"] == "SUCCESS")

    async def login_with_token(self, ctx: CallContext, params: list[Any]) -> bool:
        answer = self._token(ctx.session, params[0], {"user_info": False})
        return bool(answer["response_type"] == "SUCCESS")

    async def logout(self, ctx: CallContext, params: list[Any]) -> bool:
        ctx.session.username = None
        ctx.session.roles = frozenset()
        ctx.session.credential_type = None
        ctx.session.api_key_id = None
        return True

    async def me(self, ctx: CallContext, params: list[Any]) -> Any:
        assert ctx.session.username is not None
        return user_info(ctx.session.username, ctx.session.roles)

    async def generate_token(self, ctx: CallContext, params: list[Any]) -> str:
        ttl = params[0] if params else 600
        attrs = params[1] if len(params) > 1 else {}
        match_origin = params[2] if len(params) > 2 else True
        single_use = params[3] if len(params) > 3 else False
        return self.tokens.issue(ctx.session, ttl, attrs, match_origin, single_use)

    async def mechanism_choices(self, ctx: CallContext, params: list[Any]) -> list[str]:
        return list(MECHANISMS_AAL1)
