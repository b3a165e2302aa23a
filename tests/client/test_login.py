"""Logging in: API key and password succeed; bad, expired and insecurely sent keys fail once, clearly."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import SimFactory
from truenas_mcp.client import (
    AuthenticationError,
    ClientClosedError,
    ClientConfig,
    InsecureTransportError,
    NotAuthenticatedError,
    TrueNASClient,
)
from truenas_mcp.sim.server import RunningSimulator

MakeConfig = Callable[..., ClientConfig]


async def test_api_key_login_gives_an_authenticated_full_admin_session(make_config: MakeConfig) -> None:
    async with TrueNASClient(make_config()) as client:
        assert client.connected and client.authenticated
        assert "FULL_ADMIN" in client.roles
        me = await client.call("auth.me")
        assert me["pw_name"] == "truenas_admin"


async def test_password_login(sim: RunningSimulator, make_config: MakeConfig) -> None:
    sim.world.set_password("truenas_admin", "correct horse")
    async with TrueNASClient(make_config(api_key=None, password="correct horse")) as client:
        assert client.authenticated
        assert (await client.call("auth.me"))["pw_name"] == "truenas_admin"


async def test_wrong_api_key_is_refused_with_auth_err(make_config: MakeConfig) -> None:
    client = TrueNASClient(make_config(api_key="1-wrongsecret"))
    with pytest.raises(AuthenticationError) as info:
        await client.connect()
    assert info.value.response_type == "AUTH_ERR"
    assert "not retrying" in str(info.value)
    assert "wrongsecret" not in str(info.value)
    assert not client.connected
    await client.close()


async def test_key_revoked_for_insecure_transport_reports_expired(sim_factory: SimFactory) -> None:
    # The simulator treats loopback as insecure here, as a real box treats a remote plain ws:// client:
    # the key is revoked on use and the login answers EXPIRED.
    async with sim_factory(insecure_loopback=True) as insecure:
        config = ClientConfig.build(
            url=insecure.url, username=insecure.admin_username, api_key=insecure.admin_api_key
        )
        with pytest.raises(AuthenticationError, match="expired or revoked") as info:
            await TrueNASClient(config).connect()
        assert info.value.response_type == "EXPIRED"


async def test_api_key_to_remote_plain_ws_is_refused_before_connecting() -> None:
    # 192.0.2.0/24 is TEST-NET-1: nothing answers there, so reaching the network would time out instead.
    config = ClientConfig.build(url="ws://192.0.2.1:9/api/current", username="svc", api_key="1-secret")
    client = TrueNASClient(config)
    with pytest.raises(InsecureTransportError, match="revokes an API key"):
        await client.connect()
    assert not client.connected


async def test_refused_login_on_reconnect_stops_the_client_for_good(
    sim: RunningSimulator, make_config: MakeConfig
) -> None:
    async with TrueNASClient(make_config()) as client:
        record = sim.world.find_api_key(sim.admin_api_key, sim.admin_username)
        assert record is not None
        sim.world.revoke_api_key(record.id, "test")
        sim.faults.drop_after_messages = 1  # the next call drops the connection
        with pytest.raises(Exception):  # noqa: B017 - either the dropped call or the refused login
            await client.call("core.ping")
        sim.faults.drop_after_messages = None
        with pytest.raises(ClientClosedError, match="client stopped") as info:
            await client.call("core.ping", timeout=5)
        assert isinstance(info.value.__cause__, AuthenticationError)
        assert isinstance(client.failure, AuthenticationError)
        # Stopped means stopped: later calls fail at once rather than triggering another login.
        with pytest.raises(ClientClosedError):
            await client.call("core.ping", timeout=5)


async def test_anonymous_client_can_call_only_no_auth_methods(make_config: MakeConfig) -> None:
    async with TrueNASClient(make_config(username=None, api_key=None)) as client:
        assert client.connected and not client.authenticated
        assert isinstance(await client.call("auth.mechanism_choices"), list)
        with pytest.raises(NotAuthenticatedError):
            await client.call("system.info")
