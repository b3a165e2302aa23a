"""Jobs belong to their caller, and a TrueNAS restart never turns another job's result into theirs."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.server.conftest import bearer, client_config, serve
from truenas_mcp.catalog import Catalog
from truenas_mcp.client import TrueNASClient
from truenas_mcp.server.app import build_app
from truenas_mcp.server.calls import ToolRuntime
from truenas_mcp.server.settings import ServerSettings
from truenas_mcp.sim.api import Session
from truenas_mcp.sim.faults import Faults
from truenas_mcp.sim.server import RunningSimulator, Simulator

from .conftest import SecuredFactory, text

SCRUB = {"name": "tank"}
WRITER = ("truenas:POOL_WRITE", "truenas:READONLY_ADMIN")


async def _start_stalled_scrub(client: Client) -> int:
    started = await client.call_tool("pool_scrub_scrub", SCRUB)
    assert not started.is_error, text(started)
    handle = started.structured_content["job"]
    assert handle["state"] in ("WAITING", "RUNNING")
    return int(handle["id"])


async def test_only_the_caller_or_a_full_admin_may_follow_or_abort_a_job(
    secured: SecuredFactory, sim: RunningSimulator
) -> None:
    sim.faults.update(Faults(stall_jobs={"pool.scrub.scrub"}))
    async with secured(job_wait_seconds=0.2) as server:
        alice, bob = server.token(*WRITER, subject="alice"), server.token(*WRITER, subject="bob")
        admin = server.token("truenas:FULL_ADMIN", subject="admin")
        async with server.client("/mcp/all", token=alice) as owner:
            job_id = await _start_stalled_scrub(owner)
            mine = await owner.call_tool("job_status", {"job_id": job_id})
        async with server.client("/mcp/all", token=bob) as other:
            status = await other.call_tool("job_status", {"job_id": job_id})
            waited = await other.call_tool("job_wait", {"job_id": job_id, "timeout_seconds": 0.1})
            abort = await other.call_tool(
                "job_wait", {"job_id": job_id, "timeout_seconds": 0.1, "abort_on_cancel": True}
            )
        async with server.client("/mcp/all", token=admin) as full:
            seen_by_admin = await full.call_tool("job_status", {"job_id": job_id})
    assert not mine.is_error and mine.structured_content["job"]["id"] == job_id
    for refused in (status, waited, abort):
        assert refused.is_error
        assert f"job {job_id} was not started by this caller" in text(refused)
    assert not seen_by_admin.is_error and seen_by_admin.structured_content["job"]["id"] == job_id
    assert sim.sim.jobs.get(job_id) is not None and sim.sim.jobs.get(job_id).state != "ABORTED"  # type: ignore[union-attr]


@contextlib.asynccontextmanager
async def _simulator(port: int = 0, **options: Any) -> Any:
    async with Simulator(rate_limit_delay=(0.0, 0.0), **options).serve("127.0.0.1", port) as running:
        yield running


async def _finished_job_of_another_client(sim: Simulator) -> None:
    """Job 1 of the new boot: someone else's app.stop that succeeded."""
    session = Session("other", "127.0.0.1", True, "truenas_admin", frozenset({"FULL_ADMIN"}), "API_KEY")

    async def body(job: Any) -> Any:
        return {"stopped": "plex"}

    job = sim.jobs.start("app.stop", ["plex"], session, body)
    await job.wait()
    assert job.id == 1 and job.state == "SUCCESS"


@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
async def test_a_wait_across_a_truenas_restart_says_the_outcome_is_unknown(
    catalog: Catalog, tmp_path: Path, era: str
) -> None:
    secret = tmp_path / "jwt.secret"
    secret.write_text(secrets.token_urlsafe(48))
    settings = ServerSettings(job_wait_seconds=5.0, jwt_secret_file=secret, audit_log="off")
    old_boot = contextlib.AsyncExitStack()
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(old_boot.aclose)
        first: RunningSimulator = await old_boot.enter_async_context(_simulator())
        first.faults.update(Faults(stall_jobs={"pool.scrub.scrub"}))
        truenas = await stack.enter_async_context(TrueNASClient(client_config(first)))
        runtime = ToolRuntime(catalog, truenas, settings)
        url = await stack.enter_async_context(serve(build_app(runtime, own_client=False)))
        token = bearer(settings, WRITER, subject="alice")
        http = await stack.enter_async_context(
            httpx2.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {token}"})
        )
        client = await stack.enter_async_context(
            Client(streamable_http_client(url + "/mcp/all", http_client=http), mode=era)
        )
        started = await client.call_tool("pool_scrub_scrub", SCRUB, read_timeout_seconds=None)
        assert started.is_error is False
        job_id = started.structured_content["job"]["id"]  # still running: the first wait was short
        assert job_id == 1 or started.structured_content["job"]["state"] != "SUCCESS"

        waiting = asyncio.Event()

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            waiting.set()

        wait = asyncio.create_task(
            client.call_tool("job_wait", {"job_id": job_id}, progress_callback=on_progress)
        )
        await waiting.wait()
        world, key, port = first.world, first.admin_api_key, first.port
        # TrueNAS restarts: the old process and its jobs are gone, the new boot numbers jobs from 1.
        await old_boot.aclose()
        await stack.enter_async_context(_restart(world, key, port))
        answer = await wait
        status = await client.call_tool("job_status", {"job_id": job_id})
    expected = f"TrueNAS restarted; the outcome of job {job_id} (pool.scrub.scrub) is unknown — check with "
    assert answer.is_error and text(answer).startswith(expected), text(answer)
    assert "pool_scrub" in text(answer) and "stopped" not in text(answer)
    assert status.is_error and text(status).startswith(expected)


@contextlib.asynccontextmanager
async def _restart(world: Any, key: str, port: int) -> Any:
    world.system["boot_id"] = "boot-after-restart"
    new = Simulator(world=world, admin_api_key=key, rate_limit_delay=(0.0, 0.0))
    await _finished_job_of_another_client(new)
    async with new.serve("127.0.0.1", port) as running:
        yield running


async def test_a_write_cut_off_by_a_dropped_connection_says_how_to_check_not_to_retry(
    secured: SecuredFactory, sim: RunningSimulator
) -> None:
    async with secured() as server, server.client("/mcp/all") as client:
        sim.faults.drop_after_messages = 1  # the next message TrueNAS reads (the create) drops the link
        cut = await client.call_tool("zfs_snapshot_create", {"dataset": "tank", "name": "cut"})
        sim.faults.drop_after_messages = None
        read = await client.call_tool("zfs_snapshot_query", {"filters": [["name", "=", "tank@cut"]]})
    assert cut.is_error
    assert "zfs.snapshot.create may have run — check with zfs_snapshot_query" in text(cut)
    assert "retry" not in text(cut).lower()
    assert not read.is_error  # the server reconnected by itself
