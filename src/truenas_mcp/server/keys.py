"""Where the verifier's keys come from: a shared secret, a PEM public key (both files, re-read when they
change) or an identity provider's JWKS URL; and which algorithms each kind of key may verify.

An HMAC secret verifies only HS*, a public key or JWKS only RS*/PS*/ES*/EdDSA: the family is fixed by the
configured key, so ``alg: none`` and HS/RS confusion fail before any cryptography runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from truenas_mcp.server import redact
from truenas_mcp.server.settings import SettingsError

log = logging.getLogger("truenas_mcp.server.auth")

MIN_SECRET_BYTES = 32
HMAC = frozenset({"HS256", "HS384", "HS512"})
RSA = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC = frozenset({"ES256", "ES384", "ES512"})
OKP = frozenset({"EdDSA"})
_JWKS_MIN_REFRESH_SECONDS = 30.0  # an unknown `kid` never makes us hit the IdP more often than this
_JWKS_MAX_BYTES = 512 * 1024
_KEY_RECHECK_SECONDS = 1.0


class TokenError(Exception):
    """A bearer token was refused; the message says why (safe to show the caller, never holds the token)."""


def key_family(key: Any) -> frozenset[str]:
    if isinstance(key, bytes):
        return HMAC
    if isinstance(key, rsa.RSAPublicKey):
        return RSA
    if isinstance(key, ec.EllipticCurvePublicKey):
        return EC
    if isinstance(key, ed25519.Ed25519PublicKey):
        return OKP
    raise SettingsError(f"unsupported key type {type(key).__name__}")


def default_algorithms(key: Any) -> list[str]:
    if isinstance(key, bytes):
        return ["HS256"]
    if isinstance(key, rsa.RSAPublicKey):
        return ["RS256"]
    if isinstance(key, ec.EllipticCurvePublicKey):
        return [
            {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}.get(key.curve.name, "ES256")
        ]
    return ["EdDSA"]


def read_secret(path: Path, setting: str = "jwt_secret_file") -> bytes:
    """A shared secret from a file (surrounding whitespace dropped), checked for length."""
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise SettingsError(f"{setting}: cannot read {path} ({exc.strerror})") from None
    if len(secret) < MIN_SECRET_BYTES:
        raise SettingsError(
            f"{setting}: {path} holds {len(secret)} bytes; use at least {MIN_SECRET_BYTES} random bytes "
            '(python -c "import secrets; print(secrets.token_urlsafe(48))")'
        )
    redact.register_secret(secret)
    return secret


def read_public_key(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SettingsError(f"jwt_public_key_file: cannot read {path} ({exc.strerror})") from None
    try:
        key = load_pem_public_key(data)
    except ValueError as exc:
        raise SettingsError(f"jwt_public_key_file: {path} is not a PEM public key ({exc})") from None
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise SettingsError(f"jwt_public_key_file: {path}: use an RSA, EC or Ed25519 public key")
    return key


class KeyFile:
    """A key read from a file, re-read whenever the file changes (rotation without a restart).

    Every verification stats the file (about a microsecond) and re-reads it when the inode, size or
    times differ; because file times are coarse on some file systems, the content is also compared at
    least once a second. A file that becomes unreadable or invalid stops all verification (fail closed)
    until it is fixed, rather than letting the old key live on.
    """

    def __init__(
        self,
        path: Path,
        load: Callable[[Path], Any],
        setting: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.setting = setting
        self._load = load
        self._clock = clock
        try:
            self._stamp: tuple[int, ...] | None = self._stat()
            self._raw = self.path.read_bytes()
        except OSError as exc:
            raise SettingsError(f"{setting}: cannot read {path} ({exc.strerror})") from None
        self._compared = clock()
        self.key: Any = load(path)

    def _stat(self) -> tuple[int, ...]:
        st = os.stat(self.path)
        return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def refresh(self) -> bool:
        """Re-read the file if it may have changed; True when the key changed. ``TokenError`` when the
        file cannot be used."""
        try:
            stamp = self._stat()
            now = self._clock()
            if stamp == self._stamp and now - self._compared < _KEY_RECHECK_SECONDS:
                return False
            raw = self.path.read_bytes()
        except OSError as exc:
            self._stamp = None
            log.error("token key file unreadable", extra={"setting": self.setting, "error": exc.strerror})
            raise TokenError("the server cannot read its token key; no token can be verified now") from None
        self._compared = now
        if raw == self._raw:
            self._stamp = stamp
            return False
        try:
            key = self._load(self.path)
            if key_family(key) != key_family(self.key):
                raise SettingsError(f"{self.setting}: the new key is of another type than the old one")
        except SettingsError as exc:
            self._stamp = None  # keep re-reading until the file is fixed
            log.error("token key file invalid; refusing all tokens", extra={"error": str(exc)})
            raise TokenError("the server's token key is invalid; no token can be verified now") from None
        self._stamp, self._raw, self.key = stamp, raw, key
        log.warning(
            "token key reloaded; tokens signed with the old key are refused", extra={"file": str(self.path)}
        )
        return True


class JWKSCache:
    """Public keys from an identity provider's JWKS URL, cached and refreshed.

    Keys are refetched every ``ttl`` seconds, and early when a token names an unknown ``kid`` (key rotation)
    but never more than once per 30 s, so forged ``kid`` values cannot turn the server into a load
    generator against the identity provider. A failed refresh keeps the keys already known.
    """

    def __init__(self, url: str, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self._ttl = ttl
        self._clock = clock
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    def _due(self, kid: str | None) -> bool:
        if self._fetched_at is None:
            return True
        age = self._clock() - self._fetched_at
        return age >= self._ttl or (kid not in self._keys and age >= _JWKS_MIN_REFRESH_SECONDS)

    async def key(self, kid: str | None) -> jwt.PyJWK:
        """The signing key ``kid`` (the only key when the token names none and the set has one)."""
        if self._due(kid):
            async with self._lock:
                if self._due(kid):  # another request may have refreshed while this one waited
                    await self._refresh()
        found = self._keys.get(kid)
        if found is None and kid is None and len(self._keys) == 1:
            found = next(iter(self._keys.values()))
        if found is None:
            raise TokenError("token signed with an unknown key" + (f" (kid {kid!r})" if kid else ""))
        return found

    async def _refresh(self) -> None:
        self._fetched_at = self._clock()
        try:
            async with httpx2.AsyncClient(timeout=10.0, follow_redirects=False) as http:
                answer = await http.get(self.url, headers={"Accept": "application/json"})
            if answer.status_code != 200:
                raise ValueError(f"HTTP {answer.status_code}")
            if len(answer.content) > _JWKS_MAX_BYTES:
                raise ValueError("JWKS document too large")
            document = json.loads(answer.content)
            keys: dict[str | None, jwt.PyJWK] = {}
            for entry in document.get("keys", []):
                if (
                    not isinstance(entry, dict)
                    or entry.get("kty") == "oct"
                    or entry.get("use", "sig") != "sig"
                ):
                    continue  # a symmetric key in a public JWKS would be an HS/RS confusion waiting to happen
                try:
                    jwk = jwt.PyJWK(entry)
                except (jwt.PyJWKError, jwt.InvalidKeyError):
                    continue
                keys[entry.get("kid")] = jwk
            if not keys:
                raise ValueError("no usable signing keys")
        except (httpx2.HTTPError, ValueError, AttributeError) as exc:
            log.warning("JWKS refresh failed; keeping known keys", extra={"url": self.url, "error": str(exc)})
            return
        self._keys = keys
        log.info("JWKS refreshed", extra={"url": self.url, "keys": len(keys)})
