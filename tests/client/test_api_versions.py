"""The client speaks the tools' versioned API by default and refuses a box that does not offer it.

Real sockets against the simulator, which routes and lists API versions as ``middlewared/main.py`` does.
"""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from tests.client.conftest import MakeConfig
from truenas_mcp.client import ClientConfig, ClientConfigError, TrueNASClient
from truenas_mcp.client.transport import installed_release
from truenas_mcp.sim.server import RunningSimulator


def base(sim: RunningSimulator) -> str:
    return f"ws://{sim.host}:{sim.port}"


def test_a_bare_host_means_wss_and_the_versioned_api_of_the_installed_tools() -> None:
    release = installed_release()
    assert release == "25.04.2"  # the shipped tools
    assert ClientConfig(url="nas.example").ws_url == "wss://nas.example/api/v25.04.2"
    assert ClientConfig(url="wss://nas.example:8443").ws_url == "wss://nas.example:8443/api/v25.04.2"
    assert ClientConfig(url="wss://nas.example/api/current").ws_url == "wss://nas.example/api/current"
    assert ClientConfig(url="nas.example", api_release="25.10.6").ws_url == "wss://nas.example/api/v25.10.6"


async def test_without_a_path_the_client_connects_to_the_versioned_endpoint_and_says_so(
    sim: RunningSimulator, make_config: MakeConfig, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(url=base(sim))
    with caplog.at_level(logging.INFO, logger="truenas_mcp.client"):
        async with TrueNASClient(config) as client:
            version = await client.call("system.version")
    assert config.ws_url.endswith("/api/v25.04.2")
    announced = [r.getMessage() for r in caplog.records if "speaking API" in r.getMessage()]
    assert announced == [f"connected to TrueNAS {version} at {sim.host}, speaking API v25.04.2"]


async def test_a_box_that_does_not_offer_the_tools_api_version_is_refused_with_what_it_offers(
    sim: RunningSimulator, make_config: MakeConfig
) -> None:
    async with httpx.AsyncClient() as http:
        offered = (await http.get(f"http://{sim.host}:{sim.port}/api/versions")).json()
    assert offered == ["v25.04.0", "v25.04.1", "v25.04.2"]
    with pytest.raises(ClientConfigError) as info:
        async with TrueNASClient(make_config(url=base(sim), api_release="26.04.0")):
            pass
    message = str(info.value)
    assert "does not offer API v26.04.0" in message and "v25.04.0, v25.04.1, v25.04.2" in message


async def test_an_endpoint_the_box_does_not_route_is_a_404_and_a_clear_refusal(
    sim: RunningSimulator, make_config: MakeConfig
) -> None:
    with pytest.raises(InvalidStatus) as raw:
        async with ws_connect(f"{base(sim)}/api/v99"):
            pass
    assert raw.value.response.status_code == 404 and raw.value.response.body == b"404: Not Found"
    with pytest.raises(ClientConfigError, match=r"does not serve /somewhere/else \(HTTP 404\)"):
        async with TrueNASClient(make_config(url=f"{base(sim)}/somewhere/else")):
            pass


@pytest.mark.parametrize("path", ["/api/current", "/api/v25.04.0"])
async def test_every_routed_version_answers_like_the_box(
    sim: RunningSimulator, make_config: MakeConfig, path: str
) -> None:
    async with TrueNASClient(make_config(url=f"{base(sim)}{path}")) as client:
        assert await client.call("core.ping") == "pong"


async def test_a_routed_but_unadvertised_version_is_reachable_yet_refused_by_the_client(
    sim: RunningSimulator, make_config: MakeConfig
) -> None:
    async with ws_connect(f"{base(sim)}/api/v24.10") as ws:  # main.py routes it, /api/versions hides it
        await ws.send('{"jsonrpc": "2.0", "id": 1, "method": "core.ping"}')
        answer = json.loads(await ws.recv())  # a JSON-RPC session answers (not logged in: an error)
    assert answer["id"] == 1 and answer["error"]["data"]["errname"] == "ENOTAUTHENTICATED"
    with pytest.raises(ClientConfigError, match=r"does not offer API v24\.10"):
        async with TrueNASClient(make_config(url=f"{base(sim)}/api/v24.10")):
            pass
