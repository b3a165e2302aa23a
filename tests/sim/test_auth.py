"""Authentication and authorization of the simulator, as ``plugins/auth.py`` and ``main.py`` do them."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import ssl
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from truenas_mcp.sim.server import RunningSimulator, Simulator

RawRpc = Any  # tests/sim/conftest.py RawRpc, handed out by the rpc/admin fixtures
PASSWORD = "correct horse battery staple"


def api_key_login(username: str, key: str, **extra: Any) -> list[Any]:
    return [{"mechanism": "API_KEY_PLAIN", "username": username, "api_key": key, **extra}]


def user_with(sim: RunningSimulator, wanted: frozenset[str]) -> str:
    """A demo-world user whose roles are exactly ``wanted`` (the test states which roles it needs)."""
    for name in ("alice", "bob", "carol"):
        if sim.world.roles_for(name) == wanted:
            return name
    pytest.fail(f"the demo world has no user with roles {sorted(wanted)}")


async def test_api_key_login_succeeds_with_user_info_matching_the_recorded_schema(
    sim: RunningSimulator, rpc: RawRpc
) -> None:
    answer = await rpc.call("auth.login_ex", api_key_login(sim.admin_username, sim.admin_api_key))
    assert answer["response_type"] == "SUCCESS"
    assert answer["authenticator"] == "LEVEL_1"
    assert answer["user_info"]["pw_name"] == sim.admin_username
    assert answer["user_info"]["privilege"]["roles"] == {"$set": ["FULL_ADMIN"]}
    schema = sim.sim.recording.returns("auth.login_ex")
    assert schema is not None
    assert not list(Draft202012Validator(schema).iter_errors(answer))
    me = await rpc.call("auth.me")
    assert me["pw_name"] == sim.admin_username


async def test_user_info_can_be_left_out(sim: RunningSimulator, rpc: RawRpc) -> None:
    params = api_key_login(sim.admin_username, sim.admin_api_key, login_options={"user_info": False})
    answer = await rpc.call("auth.login_ex", params)
    assert answer == {"response_type": "SUCCESS", "user_info": None, "authenticator": "LEVEL_1"}


@pytest.mark.parametrize(
    ("username", "key_change"),
    [("truenas_admin", "wrong-secret"), ("alice", None), ("truenas_admin", "999999-abc")],
    ids=["wrong-secret", "key-of-another-user", "unknown-id"],
)
async def test_bad_api_key_logins_answer_auth_err_and_stay_unauthenticated(
    sim: RunningSimulator, rpc: RawRpc, username: str, key_change: str | None
) -> None:
    key = sim.admin_api_key
    if key_change == "wrong-secret":
        key = key.split("-", 1)[0] + "-not-the-secret"
    elif key_change is not None:
        key = key_change
    assert await rpc.call("auth.login_ex", api_key_login(username, key)) == {"response_type": "AUTH_ERR"}
    assert (await rpc.request("auth.me"))["error"]["data"]["error"] == 207


async def test_legacy_login_with_api_key_returns_a_boolean(sim: RunningSimulator, rpc: RawRpc) -> None:
    assert await rpc.call("auth.login_with_api_key", ["1-wrong"]) is False
    assert await rpc.call("auth.login_with_api_key", [sim.admin_api_key]) is True
    assert (await rpc.call("auth.me"))["pw_name"] == sim.admin_username


async def test_password_login_and_the_legacy_auth_login(sim: RunningSimulator, rpc: RawRpc) -> None:
    sim.world.set_password("truenas_admin", PASSWORD)
    bad = [{"mechanism": "PASSWORD_PLAIN", "username": "truenas_admin", "password": "nope"}]
    assert await rpc.call("auth.login_ex", bad) == {"response_type": "AUTH_ERR"}
    assert await rpc.call("auth.login", ["truenas_admin", "nope"]) is False
    assert await rpc.call("auth.login", ["truenas_admin", PASSWORD]) is True
    assert (await rpc.call("auth.me"))["pw_name"] == "truenas_admin"


async def test_tokens_log_in_once_when_single_use_and_never_when_they_carry_attrs(
    sim: RunningSimulator, admin: RawRpc, connect_rpc: Any
) -> None:
    single = await admin.call("auth.generate_token", [600, {}, True, True])
    with_attrs = await admin.call("auth.generate_token", [600, {"filename": "x"}])
    reusable = await admin.call("auth.generate_token")
    assert len(single) == 48 and len(reusable) == 48
    ws, other = await connect_rpc(sim.url)
    try:
        token_login = [{"mechanism": "TOKEN_PLAIN", "token": single}]
        assert (await other.call("auth.login_ex", token_login))["response_type"] == "SUCCESS"
        assert (await other.call("auth.login_ex", token_login))["response_type"] == "AUTH_ERR"
        attrs_login = [{"mechanism": "TOKEN_PLAIN", "token": with_attrs}]
        assert (await other.call("auth.login_ex", attrs_login))["response_type"] == "AUTH_ERR"
        assert await other.call("auth.login_with_token", [reusable]) is True
        assert await other.call("auth.login_with_token", [reusable]) is True
    finally:
        await ws.close()


async def test_logout_ends_the_session(admin: RawRpc) -> None:
    assert await admin.call("auth.logout") is True
    assert (await admin.request("core.ping"))["error"]["data"]["errname"] == "ENOTAUTHENTICATED"


async def test_mechanism_choices_at_aal1(rpc: RawRpc) -> None:
    assert await rpc.call("auth.mechanism_choices") == ["API_KEY_PLAIN", "TOKEN_PLAIN", "PASSWORD_PLAIN"]


async def test_otp_continuation_without_a_pending_login_is_einval(rpc: RawRpc) -> None:
    frame = await rpc.request("auth.login_ex_continue", [{"mechanism": "OTP_TOKEN", "otp_token": "123456"}])
    assert frame["error"]["code"] == -32001
    assert frame["error"]["data"]["errname"] == "EINVAL"


async def test_unknown_mechanism_is_a_validation_error(rpc: RawRpc) -> None:
    frame = await rpc.request("auth.login_ex", [{"mechanism": "KERBEROS", "username": "x"}])
    assert frame["error"]["code"] == -32602
    assert all(item[0].startswith("login_data") for item in frame["error"]["data"]["extra"])


async def test_api_key_over_insecure_transport_is_revoked_and_answers_expired(
    sim_factory: Any, connect_rpc: Any
) -> None:
    async with sim_factory(insecure_loopback=True) as running:
        ws, client = await connect_rpc(running.url)
        try:
            params = api_key_login(running.admin_username, running.admin_api_key)
            assert await client.call("auth.login_ex", params) == {"response_type": "EXPIRED"}
            assert (await client.request("auth.me"))["error"]["data"]["error"] == 207
            record = running.world.find_api_key(running.admin_api_key, None)
            assert record is not None and record.revoked
            assert await client.call("auth.login_ex", params) == {"response_type": "AUTH_ERR"}
        finally:
            await ws.close()


async def test_legacy_api_key_login_over_insecure_transport_revokes_too(
    sim_factory: Any, connect_rpc: Any
) -> None:
    async with sim_factory(insecure_loopback=True) as running:
        ws, client = await connect_rpc(running.url)
        try:
            assert await client.call("auth.login_with_api_key", [running.admin_api_key]) is False
            record = running.world.find_api_key(running.admin_api_key, None)
            assert record is not None and record.revoked
        finally:
            await ws.close()


async def test_unauthenticated_calls_are_rate_limited_per_method_after_twenty(rpc: RawRpc) -> None:
    for _ in range(20):
        assert await rpc.call("auth.mechanism_choices")
    frame = await rpc.request("auth.mechanism_choices")
    assert frame["error"]["code"] == -32001
    assert frame["error"]["data"]["error"] == 16
    assert frame["error"]["data"]["reason"] == "[EBUSY] Rate Limit Exceeded"
    assert (await rpc.request("auth.login_ex", api_key_login("x", "1-x")))["result"]  # its own budget
    for _ in range(25):
        assert (await rpc.request("core.set_options", [{}]))["result"] is None  # exempt


async def test_authenticated_sessions_are_not_rate_limited(sim: RunningSimulator, admin: RawRpc) -> None:
    for _ in range(25):
        assert await admin.call("auth.mechanism_choices")


async def test_calls_outside_the_callers_roles_are_eacces(sim: RunningSimulator, connect_rpc: Any) -> None:
    username = user_with(sim, frozenset({"READONLY_ADMIN"}))
    _, key = sim.world.add_api_key(username, "test")
    entries = sim.sim.recording.methods
    readable = next(m for m in ("pool.query", "disk.query") if "READONLY_ADMIN" in entries[m]["roles"])
    writable = "pool.dataset.create"
    assert "READONLY_ADMIN" not in entries[writable]["roles"]
    ws, client = await connect_rpc(sim.url)
    try:
        assert (await client.call("auth.login_ex", api_key_login(username, key)))[
            "response_type"
        ] == "SUCCESS"
        assert isinstance(await client.call(readable), list)
        frame = await client.request(writable, [{"name": "tank/x"}])
        assert frame["error"]["code"] == -32001
        assert frame["error"]["data"]["error"] == 13
        assert frame["error"]["data"]["reason"] == "[EACCES] Not authorized"
        # FULL_ADMIN-only methods (roles: []) are refused as well, before their params are looked at.
        assert (await client.request("system.reboot", ["x"]))["error"]["data"]["errname"] == "EACCES"
    finally:
        await ws.close()


async def test_no_authz_methods_need_no_role_in_api_key_and_password_sessions_alike(
    sim: RunningSimulator, connect_rpc: Any
) -> None:
    # 25.04.2 auth.py: ApiKeySessionManagerCredentials is a UserSessionManagerCredentials, so main.py's
    # no_authz_required bypass (``is_user_session``) applies to API key sessions as well.
    username = user_with(sim, frozenset())
    _, key = sim.world.add_api_key(username, "test")
    sim.world.set_password(username, PASSWORD)
    ws, client = await connect_rpc(sim.url)
    try:
        assert (await client.call("auth.login_ex", api_key_login(username, key)))[
            "response_type"
        ] == "SUCCESS"
        # An API-key session is a user session: no_authz_required methods skip the role check.
        assert await client.call("core.ping") == "pong"
        assert (await client.call("auth.me"))["pw_name"] == username
        assert (await client.request("pool.query"))["error"]["data"]["errname"] == "EACCES"
        assert await client.call("auth.login", [username, PASSWORD]) is True
        assert await client.call("core.ping") == "pong"
    finally:
        await ws.close()


async def test_wildcard_subscription_needs_full_admin(sim: RunningSimulator, connect_rpc: Any) -> None:
    username = user_with(sim, frozenset({"READONLY_ADMIN"}))
    sim.world.set_password(username, PASSWORD)
    ws, client = await connect_rpc(sim.url)
    try:
        assert await client.call("auth.login", [username, PASSWORD]) is True
        assert (await client.request("core.subscribe", ["*"]))["error"]["data"]["errname"] == "EACCES"
        assert isinstance(await client.call("core.subscribe", ["pool.query"]), str)
    finally:
        await ws.close()


async def test_password_login_of_a_two_factor_user_needs_the_otp_step(
    sim: RunningSimulator, rpc: RawRpc
) -> None:
    from truenas_mcp.sim.auth import totp_now

    secret = "JBSWY3DPEHPK3PXP"
    sim.sim.twofactor_secrets["truenas_admin"] = secret
    sim.world.set_password("truenas_admin", PASSWORD)
    first = [{"mechanism": "PASSWORD_PLAIN", "username": "truenas_admin", "password": PASSWORD}]
    assert await rpc.call("auth.login_ex", first) == {
        "response_type": "OTP_REQUIRED",
        "username": "truenas_admin",
    }
    wrong = str((int(totp_now(secret)) + 1) % 1_000_000).zfill(6)
    retry = await rpc.call("auth.login_ex_continue", [{"mechanism": "OTP_TOKEN", "otp_token": wrong}])
    assert retry["response_type"] == "OTP_REQUIRED"
    done = await rpc.call(
        "auth.login_ex_continue", [{"mechanism": "OTP_TOKEN", "otp_token": totp_now(secret)}]
    )
    assert done["response_type"] == "SUCCESS" and done["authenticator"] == "LEVEL_2"
    assert (await rpc.call("auth.me"))["pw_name"] == "truenas_admin"


async def test_another_mechanism_discards_a_pending_otp_login(sim: RunningSimulator, rpc: RawRpc) -> None:
    sim.sim.twofactor_secrets["truenas_admin"] = "JBSWY3DPEHPK3PXP"
    sim.world.set_password("truenas_admin", PASSWORD)
    first = [{"mechanism": "PASSWORD_PLAIN", "username": "truenas_admin", "password": PASSWORD}]
    assert (await rpc.call("auth.login_ex", first))["response_type"] == "OTP_REQUIRED"
    bad_key = api_key_login("truenas_admin", "1-wrong")
    assert await rpc.call("auth.login_ex", bad_key) == {"response_type": "AUTH_ERR"}
    frame = await rpc.request("auth.login_ex_continue", [{"mechanism": "OTP_TOKEN", "otp_token": "000000"}])
    assert frame["error"]["data"]["errname"] == "EINVAL"


def _self_signed(tmp_path: Any) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """Server and client TLS contexts around a throwaway self-signed certificate for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client


async def test_tls_counts_as_secure_transport_for_api_keys(tmp_path: Any) -> None:
    from websockets.asyncio.client import connect

    server_ctx, client_ctx = _self_signed(tmp_path)
    sim = Simulator(insecure_loopback=True, rate_limit_delay=(0.0, 0.0))
    async with sim.serve("127.0.0.1", 0, ssl=server_ctx) as running:
        assert running.url.startswith("wss://")
        async with connect(running.url, ssl=client_ctx) as ws:
            params = api_key_login(running.admin_username, running.admin_api_key)
            await ws.send(
                json.dumps({"jsonrpc": "2.0", "id": 1, "method": "auth.login_ex", "params": params})
            )
            answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert answer["result"]["response_type"] == "SUCCESS"
    record = running.world.find_api_key(running.admin_api_key, None)
    assert record is not None and not record.revoked
