"""The attack matrix over real HTTP: every way to present a bad or missing credential gets its exact status.

401 carries ``WWW-Authenticate: Bearer ... resource_metadata=...`` (RFC 9728), 403 ``insufficient_scope``
names the scope to ask for, and nothing that fails here ever reaches a tool.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from truenas_mcp.server.auth import DEFAULT_ISSUER

from .conftest import Secured, SecuredFactory

PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
AT = {"typ": "at+jwt"}  # RFC 9068 access tokens, as the server requires of tokens signed with its secret
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _claims(server: Secured, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": DEFAULT_ISSUER,
        "sub": "mallory",
        "aud": server.settings.jwt_audience,
        "iat": now,
        "exp": now + 300,
        "scope": "truenas:FULL_ADMIN",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _secret(server: Secured) -> bytes:
    assert server.settings.jwt_secret_file is not None
    return server.settings.jwt_secret_file.read_bytes().strip()


def _signed(server: Secured, **changes: Any) -> str:
    return jwt.encode(
        _claims(server, **changes), _secret(server), algorithm="HS256", headers={"typ": "at+jwt"}
    )


def _unsigned(server: Secured) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "at+jwt"}).encode())
    return f"{header}.{_b64(json.dumps(_claims(server)).encode())}."


TokenFn = Callable[[Secured], str]
CASES: list[tuple[str, TokenFn, str]] = [
    ("malformed", lambda s: "not.a.jwt", "malformed token"),
    ("expired", lambda s: _signed(s, exp=int(time.time()) - 120), "expired"),
    ("not yet valid", lambda s: _signed(s, nbf=int(time.time()) + 300), "not valid yet"),
    ("wrong issuer", lambda s: _signed(s, iss="https://evil.example"), "issuer"),
    ("wrong audience", lambda s: _signed(s, aud="http://other.example/mcp"), "audience"),
    ("missing audience", lambda s: _signed(s, aud=None), "'aud'"),
    ("missing expiry", lambda s: _signed(s, exp=None), "'exp'"),
    ("missing subject", lambda s: _signed(s, sub=None), "'sub'"),
    (
        "wrong signature",
        lambda s: jwt.encode(_claims(s), b"x" * 48, algorithm="HS256", headers=AT),
        "signature",
    ),
    ("alg none", _unsigned, "'none'"),
    (
        "other HMAC size",
        lambda s: jwt.encode(_claims(s), _secret(s), algorithm="HS512", headers=AT),
        "'HS512'",
    ),
]


async def _post(url: str, token: str | None, **kwargs: Any) -> httpx2.Response:
    headers = dict(HEADERS)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    headers.update(kwargs.pop("headers", {}))
    async with httpx2.AsyncClient() as http:
        return await http.post(url, headers=headers, **({"json": PING} | kwargs))


@pytest.mark.parametrize(("case", "make", "reason"), CASES, ids=[c[0] for c in CASES])
async def test_bad_tokens_get_401_with_the_reason_and_the_metadata_url(
    secured: SecuredFactory, case: str, make: TokenFn, reason: str
) -> None:
    async with secured() as server:
        answer = await _post(server.url + "/mcp", make(server))
    assert answer.status_code == 401, answer.text
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge
    assert 'resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp"' in challenge
    assert reason in answer.json()["error_description"]


async def test_no_token_gets_401_without_an_error_code(secured: SecuredFactory) -> None:
    async with secured() as server:
        answer = await _post(server.url + "/mcp/readonly", None)
        basic = await _post(server.url + "/mcp", None, headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith('Bearer resource_metadata="')
    assert basic.status_code == 401 and 'error="invalid_request"' in basic.headers["www-authenticate"]


async def test_a_token_in_the_query_string_is_refused_even_when_valid(secured: SecuredFactory) -> None:
    async with secured() as server:
        token = server.token()
        answer = await _post(f"{server.url}/mcp?access_token={token}", None)
        both = await _post(f"{server.url}/mcp?access_token={token}", token)
    assert answer.status_code == 400 and both.status_code == 400
    assert 'error="invalid_request"' in answer.headers["www-authenticate"]


async def test_a_token_without_any_truenas_role_gets_403_insufficient_scope(secured: SecuredFactory) -> None:
    async with secured() as server:
        answer = await _post(server.url + "/mcp", server.token("openid", "truenas:NOT_A_ROLE"))
    assert answer.status_code == 403
    challenge = answer.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="truenas:READONLY_ADMIN"' in challenge


async def test_hs_rs_confusion_is_refused(secured: SecuredFactory, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "rsa.pub").write_bytes(pem)
    async with secured(jwt_public_key_file=tmp_path / "rsa.pub", jwt_issuer="https://idp.example") as server:
        claims = _claims(server, iss="https://idp.example")
        # The classic attack: HMAC-sign with the (public) PEM as the secret and claim HS256.
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims).encode())
        mac = hmac.new(pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
        forged = await _post(server.url + "/mcp", f"{header}.{body}.{_b64(mac)}")
        genuine = jwt.encode(claims, key, algorithm="RS256")
        async with server.client("/mcp", token=genuine) as client:
            listed = await client.list_tools()
    assert forged.status_code == 401 and "'HS256' is not accepted" in forged.json()["error_description"]
    assert listed.tools


async def test_foreign_origin_and_host_are_refused_before_authentication(secured: SecuredFactory) -> None:
    async with secured() as server:
        token = server.token()
        origin = await _post(server.url + "/mcp", token, headers={"Origin": "http://evil.example"})
        host = await _post(server.url + "/mcp", token, headers={"Host": "evil.example"})
        allowed = await _post(server.url + "/mcp", None, headers={"Origin": "http://localhost:3000"})
    assert origin.status_code == 403
    assert host.status_code == 421
    assert allowed.status_code == 401  # an allowed Origin gets as far as authentication


async def test_oversized_bodies_get_413(secured: SecuredFactory) -> None:
    async with secured(max_body_bytes=4096) as server:
        big = {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": "x" * 8192}}
        answer = await _post(server.url + "/mcp", server.token(), json=big)
    assert answer.status_code == 413


async def test_a_request_flood_gets_429_with_retry_after_per_principal(secured: SecuredFactory) -> None:
    async with secured(rate_limit_per_minute=6, rate_limit_burst=3) as server:
        alice, bob = server.token(subject="alice"), server.token(subject="bob")
        statuses = [(await _post(server.url + "/mcp", alice)).status_code for _ in range(3)]
        flooded = await _post(server.url + "/mcp", alice)
        other = await _post(server.url + "/mcp", bob)
    assert 429 not in statuses
    assert flooded.status_code == 429 and int(flooded.headers["retry-after"]) >= 1
    assert other.status_code != 429


async def test_protected_resource_metadata_names_issuer_scopes_and_header_only(
    secured: SecuredFactory,
) -> None:
    async with secured() as server, httpx2.AsyncClient() as http:
        root = await http.get(server.url + "/.well-known/oauth-protected-resource/mcp")
        nested = await http.get(server.url + "/.well-known/oauth-protected-resource/mcp/readonly")
    assert root.status_code == 200 and root.json() == nested.json()
    document = root.json()
    assert document["resource"] == "http://127.0.0.1:8080/mcp"
    # The self-issued default issuer is not a URL; clients parse authorization servers as URLs.
    assert document["authorization_servers"] == ["http://127.0.0.1:8080"]
    assert document["bearer_methods_supported"] == ["header"]
    assert {"truenas:FULL_ADMIN", "truenas:READONLY_ADMIN", "truenas:SHARING_ADMIN"} <= set(
        document["scopes_supported"]
    )


async def test_health_stays_open_and_a_valid_token_gets_through(secured: SecuredFactory) -> None:
    async with secured() as server:
        async with httpx2.AsyncClient() as http:
            health = await http.get(server.url + "/healthz")
        async with server.client("/mcp") as client:
            listed = await client.list_tools()
    assert health.status_code == 200
    assert "system_info" in {tool.name for tool in listed.tools}
