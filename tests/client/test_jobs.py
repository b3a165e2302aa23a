"""Jobs: results decided by state, failures and aborts raised, progress reported, no result lost."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Callable

import pytest

from truenas_mcp.client import (
    ClientClosedError,
    ClientConfig,
    ConnectionLostError,
    Job,
    JobAbortedError,
    JobFailedError,
    JobNotFoundError,
    JobWaitTimeoutError,
    ProtocolError,
    TrueNASClient,
)
from truenas_mcp.sim.faults import Faults
from truenas_mcp.sim.server import RunningSimulator

MakeConfig = Callable[..., ClientConfig]
PINGS: tuple[str, list[list[object]]] = ("core.ping", [[], [], []])
PONGS = [{"result": "pong", "error": None}] * 3


def release_stalled_jobs(sim: RunningSimulator) -> None:
    sim.faults.update(Faults())


async def wait_until_running(client: TrueNASClient, job_id: int) -> None:
    seen = asyncio.Event()

    def on_progress(job: Job) -> None:
        if job.state == "RUNNING":
            seen.set()

    waiter = asyncio.ensure_future(client.wait_job(job_id, on_progress=on_progress))
    try:
        async with asyncio.timeout(5):
            await seen.wait()
    finally:
        waiter.cancel()


async def test_call_job_returns_the_result_of_a_successful_job(client: TrueNASClient) -> None:
    assert await client.call_job("core.bulk", *PINGS) == PONGS


async def test_failed_job_raises_with_the_jobs_error(sim: RunningSimulator, client: TrueNASClient) -> None:
    sim.faults.fail_jobs = {"catalog.sync"}
    with pytest.raises(JobFailedError, match="Injected failure") as info:
        await client.call_job("catalog.sync")
    assert info.value.job is not None and info.value.job.state == "FAILED"
    assert (info.value.errno, info.value.errname) == (errno.EFAULT, "EFAULT")


async def test_job_with_bad_arguments_fails_with_validation_pairs(client: TrueNASClient) -> None:
    # Job arguments are validated when the job runs: a FAILED job of type VALIDATION, not a -32602.
    with pytest.raises(JobFailedError) as info:
        await client.call_job("catalog.sync", "unexpected")
    assert info.value.error_type == "VALIDATION"
    assert info.value.errors and "Too many arguments" in info.value.errors[0].message


async def test_aborted_job_raises_job_aborted(sim: RunningSimulator, client: TrueNASClient) -> None:
    sim.faults.stall_jobs = {"core.bulk"}
    handle = await client.start_job("core.bulk", *PINGS)
    await wait_until_running(client, handle.id)
    await client.abort_job(handle)
    with pytest.raises(JobAbortedError):
        await client.wait_job(handle, timeout=5)
    assert (await client.job_status(handle)).state == "ABORTED"


async def test_progress_is_reported_until_the_end(sim: RunningSimulator, client: TrueNASClient) -> None:
    sim.faults.stall_jobs = {"core.bulk"}
    reports: list[tuple[str, int | None]] = []
    running_seen = asyncio.Event()

    async def on_progress(job: Job) -> None:
        reports.append((job.state, job.progress.percent))
        if job.state == "RUNNING":
            running_seen.set()

    waiter = asyncio.ensure_future(client.call_job("core.bulk", *PINGS, on_progress=on_progress))
    async with asyncio.timeout(5):
        await running_seen.wait()
    release_stalled_jobs(sim)
    assert await waiter == PONGS
    percents = [percent or 0 for _, percent in reports]
    assert reports[-1] == ("SUCCESS", 100)
    assert percents == sorted(percents) and percents[0] < 100


async def test_bounded_wait_leaves_the_job_running_to_be_waited_on_again(
    sim: RunningSimulator, client: TrueNASClient
) -> None:
    sim.faults.stall_jobs = {"core.bulk"}
    handle = await client.start_job("core.bulk", *PINGS)
    with pytest.raises(JobWaitTimeoutError) as info:
        await client.wait_job(handle, timeout=0.2)
    assert info.value.job_id == handle.id
    assert info.value.job is not None and not info.value.job.finished
    release_stalled_jobs(sim)
    assert await client.wait_job(handle, timeout=5) == PONGS


async def test_job_finishing_while_disconnected_is_not_lost(
    sim: RunningSimulator, make_config: MakeConfig
) -> None:
    # A slow reconnect makes sure the job ends (and its final event is sent to nobody) while disconnected.
    config = make_config(reconnect_initial_delay=0.4, reconnect_max_delay=0.4)
    async with TrueNASClient(config) as client:
        sim.faults.stall_jobs = {"core.bulk"}
        handle = await client.start_job("core.bulk", *PINGS)
        await wait_until_running(client, handle.id)
        waiter = asyncio.ensure_future(client.wait_job(handle, timeout=10))
        sim.faults.drop_after_messages = 1
        with pytest.raises(ConnectionLostError):
            await client.call("core.ping")
        sim.faults.drop_after_messages = None
        release_stalled_jobs(sim)
        server_job = sim.sim.jobs.get(handle.id)
        assert server_job is not None
        async with asyncio.timeout(5):
            await server_job.wait()
        assert not client.connected
        assert await waiter == PONGS
        assert client.reconnects == 1


async def test_unknown_job_id_raises_job_not_found(client: TrueNASClient) -> None:
    with pytest.raises(JobNotFoundError):
        await client.job_status(987654)


async def test_start_job_refuses_a_method_that_is_not_a_job(client: TrueNASClient) -> None:
    with pytest.raises(ProtocolError, match="expected a job id"):
        await client.start_job("core.ping")


async def test_closing_the_client_wakes_job_waiters(sim: RunningSimulator, make_config: MakeConfig) -> None:
    client = TrueNASClient(make_config())
    await client.connect()
    sim.faults.stall_jobs = {"core.bulk"}
    handle = await client.start_job("core.bulk", *PINGS)
    waiting = asyncio.Event()
    waiter = asyncio.ensure_future(client.wait_job(handle, on_progress=lambda job: waiting.set()))
    async with asyncio.timeout(5):
        await waiting.wait()  # the waiter has read the job's state and now waits for its end
    await client.close()
    with pytest.raises(ClientClosedError, match="closed while waiting"):
        async with asyncio.timeout(5):
            await waiter


async def test_a_finished_jobs_result_is_read_unredacted(client: TrueNASClient) -> None:
    # core.get_jobs masks secret fields of job results unless ``raw_result`` is asked, FULL_ADMIN too;
    # the client asks, so that the server, not the row format, decides who sees a secret.
    key = "-----BEGIN PRIVATE KEY-----\nMIIEsecret\n-----END PRIVATE KEY-----\n"
    cert = {
        "name": "imported",
        "create_type": "CERTIFICATE_CREATE_IMPORTED",
        "certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        "privatekey": key,
    }
    handle = await client.start_job("certificate.create", cert)
    job = await client.wait_job(handle, timeout=10)
    status = await client.job_status(handle)
    assert (job["privatekey"], status.result["privatekey"]) == (key, key)
