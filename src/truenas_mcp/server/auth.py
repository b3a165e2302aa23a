"""Resource-server authentication: bearer JWTs, their checks, and RFC 9728 metadata (keys: keys.py).

The server is an OAuth 2.1 resource server (MCP authorization spec). It never issues tokens to clients on
its own behalf (``truenas-mcp token create`` mints HS256 tokens for small setups from the same shared
secret) and never passes a client's token on: the TrueNAS credential is the server's own.

A token is accepted only when all of these hold:

* it came in the ``Authorization: Bearer`` header (a token in the query string is refused outright);
* its header is a JSON object of string values holding only ``alg``, ``typ``, ``kid``, ``cty``, ``x5t``
  or ``x5t#S256`` (``crit``, ``jku``, ``jwk``, ``x5u``, ``x5c`` and the rest are refused: nothing in a
  token chooses its own key or extensions);
* it names an algorithm on the pinned list, and that algorithm belongs to the family of the configured
  key (an HMAC secret only verifies HS*, a public key or JWKS only RS*/PS*/ES*/EdDSA), so ``alg: none``
  and HS/RS confusion fail before any cryptography runs;
* its ``typ`` is ``at+jwt`` (RFC 9068) where that is required: always for tokens signed with the shared
  secret (the tokens this server mints), for an identity provider's when ``jwt_require_typ`` says so;
* the signature verifies, ``iss`` is the configured issuer, ``aud`` contains this server's resource URL,
  ``exp`` is a number in the future and at most ``jwt_max_lifetime_seconds`` ahead (and after ``iat``),
  ``iat`` and ``nbf`` (when present) are numbers not in the future, with a small leeway; ``sub`` is present.

The key is re-read when its file changes, so a rotated secret or public key takes effect without a
restart and tokens signed with the old one stop working at once (the verified-token cache is dropped).

Failures answer 401 ``invalid_token`` with ``WWW-Authenticate: Bearer ... resource_metadata="..."``; a
valid token without any ``truenas:`` role scope answers 403 ``insufficient_scope``. A client address that
keeps failing is answered 429 (see ``FailureLimit``).
"""

from __future__ import annotations

import base64
import json
import logging
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlparse

import jwt
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.authentication import AuthCredentials
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from truenas_mcp.server.hygiene import Limiter, client_address, too_many
from truenas_mcp.server.keys import (
    EC,
    HMAC,
    OKP,
    RSA,
    JWKSCache,
    KeyFile,
    TokenError,
    default_algorithms,
    key_family,
    read_public_key,
    read_secret,
)
from truenas_mcp.server.settings import ServerSettings, SettingsError, is_loopback

log = logging.getLogger("truenas_mcp.server.auth")

DEFAULT_ISSUER = "truenas-mcp"
WELL_KNOWN = "/.well-known/oauth-protected-resource"
# Header parameters a token may carry. Everything else (crit, jku, jwk, x5u, x5c, b64, zip, enc, ...) either
# asks the verifier to trust key material from the token itself or to understand an extension it does not.
ALLOWED_HEADER = frozenset({"alg", "typ", "kid", "cty", "x5t", "x5t#S256"})
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
PROFILE_CLAIM = "truenas_mcp_profile"  # a token minted for one profile (token create --profile)


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    subject: str
    scopes: frozenset[str]
    client_id: str | None
    expires_at: int
    claims: Mapping[str, Any]


VERIFIED_CACHE_SIZE = 1024


class JWTVerifier:
    """Verifies bearer JWTs against one key source (secret, public key or JWKS) and pinned algorithms."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        algorithms: Iterable[str],
        secret: bytes | None = None,
        public_key: Any = None,
        jwks: JWKSCache | None = None,
        key_file: KeyFile | None = None,
        leeway: float = 30.0,
        max_lifetime: float = 31 * 86_400,
        require_typ: bool | None = None,
    ) -> None:
        if key_file is not None:
            if isinstance(key_file.key, bytes):
                secret = key_file.key
            else:
                public_key = key_file.key
        sources = [s for s in (secret, public_key, jwks) if s is not None]
        if len(sources) != 1:
            raise SettingsError(
                "set exactly one of jwt_secret_file (TRUENAS_MCP_JWT_SECRET_FILE), jwt_public_key_file "
                "(TRUENAS_MCP_JWT_PUBLIC_KEY_FILE) or jwks_url (TRUENAS_MCP_JWKS_URL)"
                + ("" if sources else ", or TRUENAS_MCP_AUTH=none for a loopback-only development server")
            )
        self.issuer = issuer
        self.audience = audience
        self._secret = secret
        self._public_key = public_key
        self._jwks = jwks
        self._key_file = key_file
        self._leeway = leeway
        self._max_lifetime = max_lifetime
        # Tokens this server mints always say at+jwt; an identity provider's do only when configured so.
        self._require_typ = require_typ if require_typ is not None else secret is not None
        static = secret if secret is not None else public_key
        family = key_family(static) if static is not None else RSA | EC | OKP
        pinned = list(algorithms) or (
            default_algorithms(static) if static is not None else ["RS256", "ES256"]
        )
        wrong = sorted(set(pinned) - family)
        if wrong:
            kind = "an HMAC secret" if family == HMAC else "a public key" if static is not None else "a JWKS"
            raise SettingsError(f"jwt_algorithms: {', '.join(wrong)} cannot be verified with {kind}")
        self.algorithms: tuple[str, ...] = tuple(pinned)
        self._verified: OrderedDict[str, VerifiedToken] = OrderedDict()

    async def verify(self, token: str) -> VerifiedToken:
        """Verify ``token``; a token verified before is answered from a small cache until it expires.

        A signature check costs about a tenth of a small tool call and every request of a session carries
        the same token. Only the time-bound claims can change a verified token's fate, so those are
        re-checked on every hit.
        """
        if self._key_file is not None and self._key_file.refresh():
            if isinstance(self._key_file.key, bytes):
                self._secret = self._key_file.key
            else:
                self._public_key = self._key_file.key
            self._verified.clear()  # tokens verified under the old key must be verified again, and fail
        cached = self._verified.get(token)
        if cached is not None:
            now = time.time()
            nbf = cached.claims.get("nbf")
            if cached.expires_at + self._leeway > now and not (
                isinstance(nbf, int | float) and nbf - self._leeway > now
            ):
                self._verified.move_to_end(token)
                return cached
            del self._verified[token]
        verified = await self._verify(token)
        self._verified[token] = verified
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return verified

    async def _verify(self, token: str) -> VerifiedToken:
        header = read_header(token)
        check_header(header, require_typ=self._require_typ)
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise TokenError(
                f"token algorithm {alg!r} is not accepted (accepted: {', '.join(self.algorithms)})"
            )
        key: Any
        if self._jwks is not None:
            kid = header.get("kid")
            jwk = await self._jwks.key(kid if isinstance(kid, str) else None)
            if jwk.algorithm_name != alg:
                raise TokenError(f"token algorithm {alg} does not match its key ({jwk.algorithm_name})")
            key = jwk.key
        else:
            key = self._secret if self._secret is not None else self._public_key
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud", "sub"], "verify_iat": False},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("token expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenError("token not valid yet (nbf)") from None
        except jwt.InvalidAudienceError:
            raise TokenError(f"token audience is not this server ({self.audience})") from None
        except jwt.InvalidIssuerError:
            raise TokenError("token issuer is not trusted") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenError(f"token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise TokenError("token signature is invalid") from None
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise TokenError(f"invalid token ({type(exc).__name__})") from None
        check_times(claims, now=time.time(), leeway=self._leeway, max_lifetime=self._max_lifetime)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise TokenError("token `sub` must be a non-empty string")
        return VerifiedToken(
            subject=subject,
            scopes=scopes_of(claims),
            client_id=_client_id(claims),
            expires_at=int(claims["exp"]),
            claims=claims,
        )


def read_header(token: str) -> dict[str, Any]:
    """The JOSE header of a compact JWS, read here rather than by PyJWT so that every odd header gets
    the same clear refusal (PyJWT raises differently for some, and a few used to surface as 500)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("malformed token")
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (ValueError, TypeError):
        raise TokenError("malformed token") from None
    if not isinstance(header, dict):
        raise TokenError("malformed token (the header is not a JSON object)")
    return header


def check_header(header: Mapping[str, Any], *, require_typ: bool) -> None:
    """Refuse a JOSE header with parameters this server does not support, or of the wrong type."""
    if "crit" in header:
        raise TokenError("token header `crit` names extensions this server does not support")
    unsupported = sorted(str(name) for name in header if name not in ALLOWED_HEADER)
    if unsupported:
        raise TokenError(f"token header parameter(s) {', '.join(unsupported)} not supported")
    for name, value in header.items():
        if not isinstance(value, str):
            raise TokenError(f"token header `{name}` must be a string")
    typ = header.get("typ")
    if require_typ and (typ is None or typ.lower() not in ACCESS_TOKEN_TYPES):
        raise TokenError(f"token type must be at+jwt (an RFC 9068 access token), not {typ!r}")


def check_times(claims: Mapping[str, Any], *, now: float, leeway: float, max_lifetime: float) -> None:
    """``exp``, ``iat`` and ``nbf`` are numbers; ``iat`` is not ahead; the lifetime is bounded."""
    for name in ("exp", "iat", "nbf"):
        value = claims.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise TokenError(f"token `{name}` must be a number of seconds since the epoch")
    exp = claims["exp"]
    iat = claims.get("iat")
    if iat is not None and iat > now + leeway:
        raise TokenError("token issued in the future (`iat` is ahead of this server's clock)")
    if exp - now > max_lifetime + leeway or (iat is not None and exp - iat > max_lifetime + leeway):
        raise TokenError(
            f"token lifetime exceeds this server's maximum of {int(max_lifetime)} s "
            "(jwt_max_lifetime_seconds)"
        )


def scopes_of(claims: Mapping[str, Any]) -> frozenset[str]:
    """Scopes from ``scope`` (RFC 9068: space-separated) or ``scp`` (a list, as some IdPs send)."""
    scope = claims.get("scope")
    if isinstance(scope, str):
        return frozenset(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, list):
        return frozenset(s for s in scp if isinstance(s, str))
    if isinstance(scp, str):
        return frozenset(scp.split())
    return frozenset()


def _client_id(claims: Mapping[str, Any]) -> str | None:
    for name in ("client_id", "azp"):
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return None


# Settings → verifier ----------------------------------------------------------------------------------
def resource_url(settings: ServerSettings) -> str:
    """This server's resource identifier: ``jwt_audience``, else ``http://HOST:PORT/mcp``."""
    if settings.jwt_audience:
        return settings.jwt_audience.rstrip("/")
    scheme = "https" if settings.tls_cert_file else "http"
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"{scheme}://{host}:{settings.port}/mcp"


def build_verifier(settings: ServerSettings) -> JWTVerifier:
    """The verifier ``settings`` describe; a ``SettingsError`` naming the setting when they do not add up."""
    secret_file = settings.jwt_secret_file
    public_key_file = settings.jwt_public_key_file
    if secret_file and public_key_file:
        raise SettingsError(
            "set only one of jwt_secret_file (TRUENAS_MCP_JWT_SECRET_FILE) and jwt_public_key_file "
            "(TRUENAS_MCP_JWT_PUBLIC_KEY_FILE)"
        )
    key_file = None
    if secret_file:
        key_file = KeyFile(secret_file, read_secret, "jwt_secret_file")
    elif public_key_file:
        key_file = KeyFile(public_key_file, read_public_key, "jwt_public_key_file")
    secret = key_file.key if key_file is not None and isinstance(key_file.key, bytes) else None
    public_key = public_key_file
    jwks = None
    if settings.jwks_url:
        host = urlparse(settings.jwks_url).hostname or ""
        if settings.jwks_url.startswith("http://") and not is_loopback(host):
            raise SettingsError("jwks_url (TRUENAS_MCP_JWKS_URL): must be https unless it is on loopback")
        jwks = JWKSCache(settings.jwks_url, settings.jwks_cache_seconds)
    issuer = settings.jwt_issuer or (DEFAULT_ISSUER if secret is not None else None)
    if issuer is None and (public_key is not None or jwks is not None):
        raise SettingsError("jwt_issuer (TRUENAS_MCP_JWT_ISSUER): required with a public key or JWKS URL")
    return JWTVerifier(
        issuer=issuer or DEFAULT_ISSUER,
        audience=resource_url(settings),
        algorithms=settings.jwt_algorithms,
        jwks=jwks,
        key_file=key_file,
        leeway=settings.jwt_leeway_seconds,
        max_lifetime=settings.jwt_max_lifetime_seconds,
        require_typ=settings.jwt_require_typ,
    )


# Minting (the simple HS256 setup) ---------------------------------------------------------------------
def mint_token(
    secret: bytes,
    *,
    subject: str,
    scopes: Iterable[str],
    ttl_seconds: int,
    issuer: str,
    audience: str,
    now: int | None = None,
    profile: str | None = None,
) -> str:
    """An HS256 access token (RFC 9068 claims) for ``subject`` with ``scopes``, valid ``ttl_seconds``;
    with ``profile`` it is accepted only on that profile's URL and narrower ones."""
    if not subject:
        raise ValueError("subject: must not be empty")
    if ttl_seconds <= 0:
        raise ValueError("ttl: must be positive")
    issued = int(time.time()) if now is None else now
    claims = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_seconds,
        "scope": " ".join(sorted(set(scopes))),
        "client_id": subject,
        "jti": secrets.token_urlsafe(12),
    }
    if profile is not None:
        claims[PROFILE_CLAIM] = profile
    return jwt.encode(claims, secret, algorithm="HS256", headers={"typ": "at+jwt"})


# HTTP side ----------------------------------------------------------------------------------------------
def metadata_url(resource: str) -> str:
    parsed = urlparse(resource)
    path = parsed.path if parsed.path != "/" else ""
    return f"{parsed.scheme}://{parsed.netloc}{WELL_KNOWN}{path}"


def metadata_routes(resource: str, authorization_servers: list[str], scopes: Iterable[str]) -> list[Route]:
    """RFC 9728 protected-resource metadata, at the resource's well-known URL and under every profile path."""
    document = {
        "resource": resource,
        "authorization_servers": authorization_servers,
        "scopes_supported": sorted(scopes),
        "bearer_methods_supported": ["header"],
        "resource_name": "TrueNAS MCP server",
    }

    async def metadata(request: Request) -> Response:
        return JSONResponse(document, headers={"Cache-Control": "public, max-age=3600"})

    path = urlparse(resource).path.rstrip("/")
    return [
        Route(WELL_KNOWN + path, metadata, methods=["GET"]),
        Route(WELL_KNOWN + path + "/{rest:path}", metadata, methods=["GET"]),
    ]


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class BearerAuthMiddleware:
    """ASGI middleware: every request to a protected path carries a valid bearer token, or is refused.

    On success the SDK's ``AuthenticatedUser`` goes into ``scope["user"]`` (where ``principal_of`` and
    the SDK's session-ownership checks read it). Paths outside ``protected`` (health, metrics, metadata)
    pass untouched.
    """

    def __init__(
        self,
        app: ASGIApp,
        verifier: JWTVerifier,
        *,
        protected: str = "/mcp",
        minimum_scope: str,
        has_role: Callable[[frozenset[str]], bool],
        failures: Limiter | None = None,
    ) -> None:
        self.app = app
        self._failures = failures
        self._verifier = verifier
        self._protected = protected
        self._metadata_url = metadata_url(verifier.audience)
        self._minimum_scope = minimum_scope
        self._has_role = has_role

    def _protects(self, path: str) -> bool:
        return path == self._protected or path.startswith(self._protected + "/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._protects(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        if any(name == "access_token" for name, _ in parse_qsl(query, keep_blank_values=True)):
            await self._refuse(
                scope,
                receive,
                send,
                400,
                "invalid_request",
                "tokens are accepted only in the Authorization header, never in the URL",
            )
            return
        header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), None)
        if header is None:
            await self._refuse(scope, receive, send, 401, None, "authentication required")
            return
        kind, _, token = header.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            await self._refuse(scope, receive, send, 401, "invalid_request", "use Authorization: Bearer")
            return
        try:
            verified = await self._verifier.verify(token.strip())
        except TokenError as exc:
            log.info("bearer token refused", extra={"reason": str(exc), "path": scope.get("path")})
            await self._refuse(scope, receive, send, 401, "invalid_token", str(exc))
            return
        if not self._has_role(verified.scopes):
            await self._refuse(
                scope,
                receive,
                send,
                403,
                "insufficient_scope",
                "the token grants no TrueNAS role",
                scope_hint=self._minimum_scope,
            )
            return
        access = AccessToken(
            token=token.strip(),
            client_id=verified.client_id or verified.subject,
            scopes=sorted(verified.scopes),
            expires_at=verified.expires_at,
            resource=self._verifier.audience,
            subject=verified.subject,
            claims={k: v for k, v in verified.claims.items() if k not in ("scope", "scp")},
        )
        scope["user"] = AuthenticatedUser(access)
        scope["auth"] = AuthCredentials(sorted(verified.scopes))
        await self.app(scope, receive, send)

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        error: str | None,
        description: str,
        *,
        scope_hint: str | None = None,
    ) -> None:
        if status == 401 and self._failures is not None:
            # Every failed attempt spends from the client address's budget; once it is spent, the
            # answer is 429 instead of the reason, so guessing costs time and tells nothing new.
            wait = await self._failures.take(client_address(scope))
            if wait > 0:
                log.warning("failed authentications rate limited", extra={"client": client_address(scope)})
                await too_many(wait, "too many failed authentications")(scope, receive, send)
                return
        parts = []
        if error is not None:
            parts += [f'error="{error}"', f'error_description="{_quote(description)}"']
        if scope_hint is not None:
            parts.append(f'scope="{_quote(scope_hint)}"')
        parts.append(f'resource_metadata="{self._metadata_url}"')
        body = {"error": error or "unauthorized", "error_description": description}
        response = JSONResponse(
            body, status_code=status, headers={"WWW-Authenticate": "Bearer " + ", ".join(parts)}
        )
        await response(scope, receive, send)
