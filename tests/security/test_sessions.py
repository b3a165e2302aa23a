"""Session caps per principal over real HTTP: one caller filling its cap does not lock out the others."""

from __future__ import annotations

import asyncio
import logging

import httpx2

from .conftest import SecuredFactory

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


async def _open(http: httpx2.AsyncClient, url: str, token: str) -> httpx2.Response:
    return await http.post(url + "/mcp", json=INIT, headers={**HEADERS, "Authorization": f"Bearer {token}"})


async def test_one_principal_filling_its_session_cap_does_not_lock_out_others(
    secured: SecuredFactory,
) -> None:
    async with secured(max_sessions_per_principal=2, max_sessions=10) as server, httpx2.AsyncClient() as http:
        greedy, other = server.token(subject="greedy"), server.token(subject="other")
        first = [await _open(http, server.url, greedy) for _ in range(2)]
        refused = await _open(http, server.url, greedy)
        welcome = await _open(http, server.url, other)
        # Ending one of its sessions gives the principal room again.
        ended = await http.delete(
            server.url + "/mcp",
            headers={
                **HEADERS,
                "Authorization": f"Bearer {greedy}",
                "mcp-session-id": first[0].headers["mcp-session-id"],
            },
        )
        again = await _open(http, server.url, greedy)
    assert [answer.status_code for answer in first] == [200, 200]
    assert refused.status_code == 429
    assert "already has 2 open sessions (max_sessions_per_principal)" in refused.json()["error_description"]
    assert welcome.status_code == 200 and welcome.headers["mcp-session-id"]
    assert ended.status_code == 200, ended.text
    assert again.status_code == 200, again.text


async def test_the_global_cap_still_holds_across_principals(secured: SecuredFactory) -> None:
    async with secured(max_sessions_per_principal=5, max_sessions=2) as server, httpx2.AsyncClient() as http:
        answers = [await _open(http, server.url, server.token(subject=f"user{i}")) for i in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 503]


async def test_2026_07_28_requests_open_no_session_and_are_not_capped(secured: SecuredFactory) -> None:
    async with secured(max_sessions_per_principal=1) as server:
        token = server.token(subject="modern")
        async with httpx2.AsyncClient() as http:
            legacy = await _open(http, server.url, token)
        listed = []
        for _ in range(3):
            async with server.client("/mcp", token=token) as client:
                listed.append(len((await client.list_tools()).tools))
    assert legacy.status_code == 200
    assert all(count > 0 for count in listed)


class _Seen(logging.Handler):
    """Sets an event when the SDK's session manager logs that a session idled out."""

    def __init__(self) -> None:
        super().__init__()
        self.idled = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def emit(self, record: logging.LogRecord) -> None:
        if "idle timeout" in record.getMessage():
            self._loop.call_soon_threadsafe(self.idled.set)


async def test_an_idle_session_is_closed_and_frees_its_place(secured: SecuredFactory) -> None:
    seen = _Seen()
    manager_log = logging.getLogger("mcp.server.streamable_http_manager")
    manager_log.addHandler(seen)
    previous = manager_log.level
    manager_log.setLevel(logging.INFO)
    try:
        async with (
            secured(session_idle_seconds=0.5, max_sessions_per_principal=1) as server,
            httpx2.AsyncClient() as http,
        ):
            token = server.token(subject="idler")
            opened = await _open(http, server.url, token)
            async with asyncio.timeout(30):
                await seen.idled.wait()
            gone = await http.post(
                server.url + "/mcp",
                json={"jsonrpc": "2.0", "id": 2, "method": "ping"},
                headers={
                    **HEADERS,
                    "Authorization": f"Bearer {token}",
                    "mcp-session-id": opened.headers["mcp-session-id"],
                },
            )
            reopened = await _open(http, server.url, token)
    finally:
        manager_log.removeHandler(seen)
        manager_log.setLevel(previous)
    assert opened.status_code == 200
    assert gone.status_code == 404
    assert reopened.status_code == 200, reopened.text


async def test_concurrent_openings_never_exceed_a_principals_cap(secured: SecuredFactory) -> None:
    async with secured(max_sessions_per_principal=2) as server, httpx2.AsyncClient() as http:
        token = server.token(subject="racer")
        answers = await asyncio.gather(*(_open(http, server.url, token) for _ in range(8)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(200) == 2, statuses
    assert set(statuses) - {200} <= {429, 503}, statuses
