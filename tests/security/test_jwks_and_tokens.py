"""JWKS keys from a local identity provider (cached, rotated), and the ``truenas-mcp token`` commands."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.server.conftest import serve
from truenas_mcp.cli import main
from truenas_mcp.server.auth import JWKSCache, JWTVerifier, TokenError

ISSUER = "https://idp.example"
AUDIENCE = "https://nas.example/mcp"


class IdP:
    """A JWKS endpoint whose key set a test can rotate; counts fetches."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0

    async def jwks(self, request: Request) -> JSONResponse:
        self.fetches += 1
        return JSONResponse({"keys": self.keys})


def _jwk(key: Any, kid: str) -> dict[str, Any]:
    algorithm = (
        jwt.algorithms.ECAlgorithm
        if isinstance(key, ec.EllipticCurvePrivateKey)
        else jwt.algorithms.OKPAlgorithm
    )
    data: dict[str, Any] = json.loads(algorithm.to_jwk(key.public_key()))
    return data | {"kid": kid, "use": "sig"}


def _token(key: Any, kid: str, alg: str, **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "svc",
        "aud": AUDIENCE,
        "exp": now + 60,
        "scope": "truenas:READONLY_ADMIN",
    }
    return jwt.encode(claims | changes, key, algorithm=alg, headers={"kid": kid})


async def test_jwks_keys_are_cached_rotated_and_never_used_across_families() -> None:
    idp = IdP()
    old, new = ec.generate_private_key(ec.SECP256R1()), ed25519.Ed25519PrivateKey.generate()
    idp.keys = [
        _jwk(old, "k1"),
        {"kty": "oct", "kid": "sym", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"},
    ]
    async with serve(Starlette(routes=[Route("/jwks", idp.jwks)])) as url:
        clock = [1000.0]
        cache = JWKSCache(url + "/jwks", ttl=300, clock=lambda: clock[0])
        verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, algorithms=["ES256", "EdDSA"], jwks=cache)
        first = await verifier.verify(_token(old, "k1", "ES256"))
        await verifier.verify(_token(old, "k1", "ES256"))
        assert idp.fetches == 1 and first.subject == "svc" and "truenas:READONLY_ADMIN" in first.scopes
        # The IdP rotates: a token with a new kid triggers one refresh, but not more than every 30 s.
        idp.keys = [_jwk(new, "k2")]
        with pytest.raises(TokenError, match="unknown key"):
            await verifier.verify(_token(new, "k2", "EdDSA"))
        assert idp.fetches == 1
        clock[0] += 31
        rotated = await verifier.verify(_token(new, "k2", "EdDSA"))
        assert idp.fetches == 2 and rotated.subject == "svc"
        # The symmetric key the IdP (wrongly) published is never used, and HS* is not on the pinned list.
        forged = jwt.encode({"sub": "x"}, b"secret-" * 6, "HS256", {"kid": "sym"})
        with pytest.raises(TokenError, match="'HS256' is not accepted"):
            await verifier.verify(forged)
        with pytest.raises(TokenError, match="does not match its key"):
            await verifier.verify(_token(old, "k2", "ES256"))


def test_a_jwks_verifier_refuses_hmac_algorithms_at_start() -> None:
    from truenas_mcp.server.settings import SettingsError

    with pytest.raises(SettingsError, match="HS256 cannot be verified with a JWKS"):
        JWTVerifier(issuer=ISSUER, audience=AUDIENCE, algorithms=["HS256"], jwks=JWKSCache("http://x", 60))


def test_token_create_mints_a_token_the_server_accepts_and_inspect_explains_it(tmp_path: Path) -> None:
    secret = tmp_path / "jwt.secret"
    secret.write_text("s" * 48)
    env = {"TRUENAS_MCP_JWT_SECRET_FILE": str(secret), "TRUENAS_MCP_JWT_AUDIENCE": AUDIENCE}
    runner = CliRunner()
    made = runner.invoke(
        main,
        ["token", "create", "--sub", "laptop", "--scope", "READONLY_ADMIN", "--ttl", "1h", "--json"],
        env=env,
    )
    assert made.exit_code == 0, made.output
    doc = json.loads(made.output)
    server = doc["client_config"]["mcpServers"]["truenas"]
    assert server["url"] == AUDIENCE and server["headers"]["Authorization"] == f"Bearer {doc['token']}"
    assert doc["scopes"] == ["truenas:READONLY_ADMIN"] and doc["expires_in"] == 3600
    inspected = runner.invoke(main, ["token", "inspect", doc["token"], "--json"], env=env)
    report = json.loads(inspected.output)
    assert inspected.exit_code == 0 and report["valid"] and report["roles"] == ["READONLY_ADMIN"]
    other = runner.invoke(
        main, ["token", "inspect", doc["token"]], env=env | {"TRUENAS_MCP_JWT_AUDIENCE": "https://x/mcp"}
    )
    assert other.exit_code == 1 and "audience" in other.output
    unknown = runner.invoke(main, ["token", "create", "--sub", "x", "--scope", "truenas:ROOT"], env=env)
    assert unknown.exit_code != 0 and "not a TrueNAS role" in unknown.output
    no_secret = runner.invoke(main, ["token", "create", "--sub", "x", "--scope", "READONLY_ADMIN"], env={})
    assert no_secret.exit_code != 0 and "TRUENAS_MCP_JWT_SECRET_FILE" in no_secret.output


async def test_a_cached_verification_still_expires_and_never_outlives_its_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from truenas_mcp.server import auth

    secret = b"s" * 32
    verifier = auth.JWTVerifier(issuer="iss", audience="aud", algorithms=["HS256"], secret=secret, leeway=0)
    now = int(time.time())
    token = auth.mint_token(secret, subject="bot", scopes=["truenas:READONLY_ADMIN"], ttl_seconds=60,
                            issuer="iss", audience="aud", now=now)  # fmt: skip
    checks: list[str] = []
    full_check = verifier._verify

    async def counting(value: str) -> auth.VerifiedToken:
        checks.append(value)
        return await full_check(value)

    monkeypatch.setattr(verifier, "_verify", counting)
    first = await verifier.verify(token)
    assert (await verifier.verify(token)) is first
    assert len(checks) == 1  # the second answer came from the cache
    monkeypatch.setattr(auth.time, "time", lambda: now + 61)
    await verifier.verify(token)
    assert len(checks) == 2  # past its expiry the cache no longer vouches for the token
