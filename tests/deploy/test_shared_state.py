"""Two ``truenas-mcp serve`` replicas sharing one real Redis: what one replica decides, the other honours.

A confirmation redeemed through one replica is refused by both; the rate limit counts a caller's requests
on both together; with Redis stopped no confirmation is accepted (and rate limits fall back to each
replica's own, as deploy/README.md says); when Redis is back, everything works again without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from truenas_mcp.server.settings import ServerSettings
from truenas_mcp.server.store import (
    OwnerRecords,
    StoreJobOwnership,
    StoreUnavailable,
    open_store,
)
from truenas_mcp.server.store_redis import RedisStore
from truenas_mcp.sim.server import RunningSimulator

from .support import (
    REDIS_READY,
    free_port,
    jwt_setup,
    mcp_session,
    redis_argv,
    running,
    serve_argv,
    simulator_env,
)

AUDIENCE = "https://mcp.example.test/mcp"
BURST = 40
DELETE = "zfs_snapshot_delete"
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


@dataclass(frozen=True, slots=True)
class Job:
    """The shape of a job-ownership record: a job id, its TrueNAS boot, its owner, the store's order."""

    job_id: int
    boot_id: str
    owner: str
    seq: int = 0


class Redis:
    """A real redis-server on a fixed loopback port that a test can stop and start again."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.password = secrets.token_urlsafe(24)
        self.directory = directory
        self.password_file = directory / "redis-password"
        self.password_file.write_text(self.password + "\n", encoding="utf-8")
        argv = redis_argv(self.port, self.password, directory)
        if argv is None:
            reason = "the shared-state tests need redis-server (Debian package redis-server)"
            if os.environ.get("CI"):
                pytest.fail(reason + "; CI installs it from .ci/apt-packages.txt")
            pytest.skip(reason + ", which is not installed here")
        self._argv = argv
        self._running: AsyncExitStack | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self._running = AsyncExitStack()
        await self._running.enter_async_context(running(self._argv, ready=REDIS_READY))

    async def stop(self) -> None:
        if self._running is not None:
            await self._running.aclose()
            self._running = None


@contextlib.asynccontextmanager
async def redis_server(directory: Path) -> AsyncIterator[Redis]:
    redis = Redis(directory)
    await redis.start()
    try:
        yield redis
    finally:
        await redis.stop()


def _text(result: Any) -> str:
    return "\n".join(block.text for block in result.content if getattr(block, "type", "") == "text")


async def _snapshot(client: Client, name: str) -> str:
    created = await client.call_tool("zfs_snapshot_create", {"dataset": "tank", "name": name})
    assert not created.is_error, _text(created)
    return f"tank@{name}"


async def _exists(client: Client, snapshot: str) -> bool:
    found = await client.call_tool("zfs_snapshot_query", {"filters": [["name", "=", snapshot]]})
    assert found.structured_content is not None
    return bool(found.structured_content["result"])


async def _token(client: Client, snapshot: str) -> str:
    preview = await client.call_tool(DELETE, {"id": snapshot})
    assert preview.is_error and preview.structured_content is not None, _text(preview)
    return str(preview.structured_content["confirmation"]["confirmation_token"])


async def _accept(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"confirm": True})


@contextlib.asynccontextmanager
async def _elicitor(url: str, token: str) -> AsyncIterator[Client]:
    """A 2026-07-28 client that handles elicitation (so destructive calls answer input required)."""
    http = httpx2.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {token}"})
    transport = streamable_http_client(url + "/mcp/all", http_client=http)
    async with http, Client(transport, mode="2026-07-28", elicitation_callback=_accept) as client:
        yield client


async def test_two_replicas_share_single_use_confirmations_and_the_rate_limit_through_redis(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    auth = jwt_setup(tmp_path, AUDIENCE, ("truenas:FULL_ADMIN",))
    async with AsyncExitStack() as stack:
        redis = await stack.enter_async_context(redis_server(tmp_path))
        env = {
            **simulator_env(sim, tmp_path / "api-key"),
            **auth.env,
            "TRUENAS_MCP_STATELESS": "true",
            "TRUENAS_MCP_REDIS_URL": redis.url,
            "TRUENAS_MCP_REDIS_PASSWORD_FILE": str(redis.password_file),
            "TRUENAS_MCP_REPLICAS": "2",
            # One token a hundred minutes: nothing refills while the test runs.
            "TRUENAS_MCP_RATE_LIMIT_PER_MINUTE": "0.01",
            "TRUENAS_MCP_RATE_LIMIT_BURST": str(BURST),
        }
        urls, logs = [], []
        for _ in range(2):
            env["TRUENAS_MCP_PORT"] = str(free_port())
            url, log = await stack.enter_async_context(running(serve_argv(), env))
            urls.append(url)
            logs.append(log)
        a = await stack.enter_async_context(mcp_session(urls[0] + "/mcp/all", "legacy", token=auth.token))
        b = await stack.enter_async_context(mcp_session(urls[1] + "/mcp/all", "legacy", token=auth.token))

        # A confirmation issued through A runs once across A and B.
        snapshot = await _snapshot(a, "replicated")
        token = await _token(a, snapshot)
        done = await b.call_tool(DELETE, {"id": snapshot, "confirmation_token": token})
        replay_a = await a.call_tool(DELETE, {"id": snapshot, "confirmation_token": token})
        replay_b = await b.call_tool(DELETE, {"id": snapshot, "confirmation_token": token})
        deleted = not await _exists(a, snapshot)

        # The 2026-07-28 path: input required through A, answered through B, replayed through A.
        async with AsyncExitStack() as modern:
            ma = await modern.enter_async_context(_elicitor(urls[0], auth.token))
            mb = await modern.enter_async_context(_elicitor(urls[1], auth.token))
            sealed = await _snapshot(a, "sealed")
            asked = await ma.session.call_tool(DELETE, {"id": sealed}, allow_input_required=True)
            assert isinstance(asked, types.InputRequiredResult) and asked.request_state
            yes: types.InputResponses = {
                "confirm": types.ElicitResult(action="accept", content={"confirm": True})
            }
            answered = await mb.session.call_tool(
                DELETE, {"id": sealed}, input_responses=yes, request_state=asked.request_state
            )
            replayed = await ma.session.call_tool(
                DELETE, {"id": sealed}, input_responses=yes, request_state=asked.request_state
            )
        sealed_gone = not await _exists(b, sealed)

        # The rate limit counts one caller's requests on both replicas together.
        flood = auth_token_for(tmp_path, "flooder")
        async with httpx2.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {flood}"}) as http:
            statuses = [
                (await http.post(urls[i % 2] + "/mcp", json=INIT, headers=HEADERS)).status_code
                for i in range(BURST + 10)
            ]

        # With Redis stopped, no confirmation is accepted by either replica; reads keep working.
        kept = await _snapshot(a, "outage")
        pending = await _token(b, kept)
        await redis.stop()
        refused = await a.call_tool(DELETE, {"id": kept, "confirmation_token": pending})
        survived_outage = await _exists(b, kept)
        # Redis restarted (empty, on the same port): the same replicas use it again without a restart.
        await redis.start()
        after_restart = await b.call_tool(DELETE, {"id": kept, "confirmation_token": pending})
        gone_after_restart = not await _exists(a, kept)
        startup = "\n".join(line for log in logs for line in log.lines)

    assert "shared state in redis at 127.0.0.1" in startup
    assert redis.password not in startup
    assert not done.is_error, _text(done)
    assert deleted
    for replay in (replay_a, replay_b):
        assert replay.is_error and "already used" in _text(replay), _text(replay)
    assert isinstance(answered, types.CallToolResult) and not answered.is_error, answered
    assert sealed_gone
    assert isinstance(replayed, types.CallToolResult) and replayed.is_error
    assert "already used" in _text(replayed), _text(replayed)
    assert refused.is_error and "nothing was run" in _text(refused), _text(refused)
    assert "shared store (redis at 127.0.0.1" in _text(refused) and "unreachable" in _text(refused)
    assert survived_outage
    assert not after_restart.is_error, _text(after_restart)
    assert gone_after_restart
    assert statuses.count(200) == BURST, statuses
    assert statuses[BURST:] == [429] * 10, statuses


def auth_token_for(directory: Path, subject: str) -> str:
    """A token of another caller, signed with the replicas' key (``jwt_setup`` wrote it)."""
    from truenas_mcp.server.auth import DEFAULT_ISSUER, mint_token

    secret = (directory / "jwt-signing-key").read_bytes().strip()
    return mint_token(
        secret,
        subject=subject,
        scopes=["truenas:READONLY_ADMIN"],
        ttl_seconds=600,
        issuer=DEFAULT_ISSUER,
        audience=AUDIENCE,
    )


async def test_job_owner_records_written_by_one_replica_are_read_by_another(tmp_path: Path) -> None:
    async with redis_server(tmp_path) as redis:
        settings = ServerSettings(redis_url=redis.url, redis_password_file=redis.password_file)
        first, second = open_store(settings), open_store(settings)
        assert isinstance(first, RedisStore) and isinstance(second, RedisStore)
        try:
            await OwnerRecords(first).put("boot-1:42", {"principal": "alice", "method": "app.stop"})
            seen = await OwnerRecords(second).get("boot-1:42")
            missing = await OwnerRecords(second).get("boot-2:42")
            # The job-ownership interface of the call path, recorded through one, read through the other.
            started = await StoreJobOwnership(first, Job).record(Job(42, "boot-1", "alice"))
            again = await StoreJobOwnership(second, Job).record(Job(42, "boot-2", "bob"))
            jobs = await StoreJobOwnership(first, Job).records(42)
            await redis.stop()
            with pytest.raises(StoreUnavailable, match="unreachable"):
                await OwnerRecords(second).get("boot-1:42")
        finally:
            await first.close()
            await second.close()
    assert seen == {"principal": "alice", "method": "app.stop"}
    assert jobs == [again, started] and started.seq < again.seq
    assert missing is None


async def test_a_wrong_redis_password_is_reported_without_the_password(tmp_path: Path) -> None:
    async with redis_server(tmp_path) as redis:
        wrong = tmp_path / "wrong"
        wrong.write_text("not-the-password-at-all\n", encoding="utf-8")
        store = open_store(ServerSettings(redis_url=redis.url, redis_password_file=wrong))
        try:
            with pytest.raises(StoreUnavailable) as info:
                await store.ping()
        finally:
            await store.close()
    assert "not-the-password-at-all" not in str(info.value)
    assert f"127.0.0.1:{redis.port}" in str(info.value)


async def test_without_redis_one_replica_says_so_and_more_refuse_to_start(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    auth = jwt_setup(tmp_path, AUDIENCE, ("truenas:READONLY_ADMIN",))
    env = {**simulator_env(sim, tmp_path / "api-key"), **auth.env, "TRUENAS_MCP_PORT": str(free_port())}
    async with running(serve_argv(), env) as (_url, log):
        said = "\n".join(log.lines)
    refused = await asyncio.create_subprocess_exec(
        *serve_argv(),
        env={**os.environ, **env, "TRUENAS_MCP_REPLICAS": "3"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await refused.communicate()
    assert "single replica: confirmations, rate limits and job owners live in this process's memory" in said
    assert refused.returncode == 2
    assert (
        "replicas: 3 replicas need a shared store; set redis_url (TRUENAS_MCP_REDIS_URL)" in output.decode()
    )
