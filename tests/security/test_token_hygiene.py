"""Token hygiene over real HTTP: odd headers and claims get 401 (never 500), keys rotate without a restart,
profile-bound tokens stay on their profile, failed logins are rate limited, /metrics can need a token."""

from __future__ import annotations

import base64
import json
import secrets
import time
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from truenas_mcp.cli import main
from truenas_mcp.server.auth import DEFAULT_ISSUER

from .conftest import Secured, SecuredFactory

# An opening request: answered 200 once authentication lets it through, in either server mode.
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
AT = {"typ": "at+jwt"}


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
    return claims


def _secret(server: Secured) -> bytes:
    assert server.settings.jwt_secret_file is not None
    return server.settings.jwt_secret_file.read_bytes().strip()


def _signed(server: Secured, headers: dict[str, Any] | None = None, **changes: Any) -> str:
    return jwt.encode(_claims(server, **changes), _secret(server), algorithm="HS256", headers=headers or AT)


def _raw_header(server: Secured, header: dict[str, Any]) -> str:
    """A correctly HMAC-signed token with exactly ``header`` (PyJWT would refuse to write some of them)."""
    import hashlib
    import hmac

    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(_claims(server)).encode())
    mac = hmac.new(_secret(server), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


async def _post(url: str, token: str | None) -> httpx2.Response:
    headers = dict(HEADERS)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx2.AsyncClient() as http:
        return await http.post(url, headers=headers, json=INIT)


TEN_YEARS = 10 * 365 * 86_400
CASES: list[tuple[str, Any, str]] = [
    ("crit header", lambda s: _raw_header(s, {"alg": "HS256", "typ": "at+jwt", "crit": ["exp"]}), "`crit`"),
    ("non-string kid", lambda s: _raw_header(s, {"alg": "HS256", "typ": "at+jwt", "kid": 7}), "`kid`"),
    ("jku header", lambda s: _raw_header(s, {"alg": "HS256", "typ": "at+jwt", "jku": "https://x"}), "jku"),
    ("header not an object", lambda s: _b64(b"[1]") + "." + _b64(b"{}") + ".x", "malformed"),
    ("typ JWT", lambda s: _signed(s, {"typ": "JWT"}), "at+jwt"),
    ("no typ", lambda s: _raw_header(s, {"alg": "HS256"}), "at+jwt"),
    ("iat ten years ahead", lambda s: _signed(s, iat=int(time.time()) + TEN_YEARS), "issued in the future"),
    ("exp as a string", lambda s: _signed(s, exp=str(int(time.time()) + 300)), "`exp` must be a number"),
    ("exp a century ahead", lambda s: _signed(s, exp=int(time.time()) + 10 * TEN_YEARS), "lifetime exceeds"),
]


@pytest.mark.parametrize(("case", "make", "reason"), CASES, ids=[c[0] for c in CASES])
async def test_unsupported_headers_and_odd_claims_get_401_invalid_token(
    secured: SecuredFactory, case: str, make: Any, reason: str
) -> None:
    async with secured() as server:
        answer = await _post(server.url + "/mcp", make(server))
    assert answer.status_code == 401, answer.text
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]
    assert reason in answer.json()["error_description"]


async def test_an_identity_providers_typ_is_checked_only_when_configured(
    secured: SecuredFactory, tmp_path: Path
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "idp.pub").write_bytes(pem)
    settings = {"jwt_public_key_file": tmp_path / "idp.pub", "jwt_issuer": "https://idp.example"}
    async with secured(**settings) as server:
        token = jwt.encode(
            _claims(server, iss="https://idp.example"), key, algorithm="ES256", headers={"typ": "JWT"}
        )
        lenient = await _post(server.url + "/mcp", token)
    async with secured(**settings, jwt_require_typ=True) as server:
        strict = await _post(server.url + "/mcp", token)
    assert lenient.status_code == 200, lenient.text
    assert strict.status_code == 401 and "at+jwt" in strict.json()["error_description"]


async def test_a_rotated_secret_takes_effect_without_restart_and_old_tokens_stop_working(
    secured: SecuredFactory,
) -> None:
    async with secured() as server:
        old = server.token()
        before = await _post(server.url + "/mcp", old)  # verified once, so it sits in the token cache
        assert server.settings.jwt_secret_file is not None
        server.settings.jwt_secret_file.write_text(secrets.token_urlsafe(48) + "\n")
        after = await _post(server.url + "/mcp", old)
        new = server.token()
        fresh = await _post(server.url + "/mcp", new)
        server.settings.jwt_secret_file.write_text("short")
        broken = await _post(server.url + "/mcp", new)
    assert before.status_code == 200, before.text
    assert after.status_code == 401 and "signature" in after.json()["error_description"]
    assert fresh.status_code == 200, fresh.text
    assert broken.status_code == 401 and "token key is invalid" in broken.json()["error_description"]


async def test_a_token_bound_to_the_readonly_profile_is_refused_on_wider_ones(
    secured: SecuredFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with secured() as server:
        assert server.settings.jwt_secret_file is not None
        monkeypatch.setenv("TRUENAS_MCP_JWT_SECRET_FILE", str(server.settings.jwt_secret_file))
        monkeypatch.setenv("TRUENAS_MCP_JWT_AUDIENCE", str(server.settings.jwt_audience))
        monkeypatch.delenv("TRUENAS_MCP_CONFIG", raising=False)
        argv = ["token", "create", "--sub", "viewer", "--scope", "READONLY_ADMIN", "--profile", "readonly"]
        created = CliRunner().invoke(main, [*argv, "--json"])
        assert created.exit_code == 0, created.output
        document = json.loads(created.output)
        token = document["token"]
        answers = {
            path: await _post(server.url + path, token) for path in ("/mcp/readonly", "/mcp", "/mcp/all")
        }
    url = document["client_config"]["mcpServers"]["truenas"]["url"]
    assert url == "http://127.0.0.1:8080/mcp/readonly"
    assert answers["/mcp/readonly"].status_code == 200, answers["/mcp/readonly"].text
    for path in ("/mcp", "/mcp/all"):
        assert answers[path].status_code == 403, answers[path].text
        assert "bound to profile 'readonly'" in answers[path].json()["error_description"]


async def test_failed_authentication_is_rate_limited_per_client_address(secured: SecuredFactory) -> None:
    async with secured(auth_failures_per_minute=1, auth_failure_burst=3) as server:
        bad = [await _post(server.url + "/mcp", "not.a.jwt") for _ in range(5)]
        good = await _post(server.url + "/mcp", server.token())
    assert [answer.status_code for answer in bad] == [401, 401, 401, 429, 429]
    assert "too many failed authentications" in bad[-1].json()["error_description"]
    assert int(bad[-1].headers["retry-after"]) >= 1
    # A valid token from the same address is still served: only failures spend the budget.
    assert good.status_code == 200, good.text


async def test_metrics_can_require_a_token(secured: SecuredFactory, tmp_path: Path) -> None:
    token_file = tmp_path / "metrics.token"
    token_file.write_text("scrape-" + secrets.token_urlsafe(24) + "\n")
    async with secured(metrics_token_file=token_file) as server, httpx2.AsyncClient() as http:
        anonymous = await http.get(server.url + "/metrics")
        wrong = await http.get(server.url + "/metrics", headers={"Authorization": "Bearer nope"})
        right = await http.get(
            server.url + "/metrics", headers={"Authorization": f"Bearer {token_file.read_text().strip()}"}
        )
    assert anonymous.status_code == 401 and wrong.status_code == 401
    assert right.status_code == 200 and "truenas_mcp_tool_calls_in_flight" in right.text
