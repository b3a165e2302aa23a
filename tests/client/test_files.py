"""Pipe methods over HTTP: uploads reach the job's input pipe, downloads return what the job wrote."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from truenas_mcp.client import ClientConfig, JobFailedError, TransferError, TrueNASClient
from truenas_mcp.sim.jobs import Job as SimJob
from truenas_mcp.sim.server import RunningSimulator

MakeConfig = Callable[..., ClientConfig]


def last_job(sim: RunningSimulator, method: str) -> SimJob:
    jobs = [job for job in sim.sim.jobs if job.method == method]
    assert jobs, f"no {method} job on the server"
    return jobs[-1]


async def test_upload_delivers_the_bytes_to_the_jobs_input_pipe(
    sim: RunningSimulator, client: TrueNASClient
) -> None:
    payload = os.urandom(200_000)
    result = await client.upload(
        "filesystem.put", ["/mnt/tank/blob.bin", {"mode": 0o600}], payload, filename="blob"
    )
    job = last_job(sim, "filesystem.put")
    assert job.state == "SUCCESS" and result == job.result
    assert job.pipe_input() == payload


async def test_upload_with_a_password_credential(sim: RunningSimulator, make_config: MakeConfig) -> None:
    sim.world.set_password("truenas_admin", "pw-for-upload")
    async with TrueNASClient(make_config(api_key=None, password="pw-for-upload")) as client:
        await client.upload("filesystem.put", ["/mnt/tank/a.txt"], b"hello")
    assert last_job(sim, "filesystem.put").pipe_input() == b"hello"


async def test_upload_with_a_rejected_key_raises_transfer_error(make_config: MakeConfig) -> None:
    client = TrueNASClient(make_config(api_key="1-not-the-key"))
    try:
        with pytest.raises(TransferError, match="HTTP 401") as info:
            await client.upload("filesystem.put", ["/mnt/tank/a.txt"], b"x")
        assert info.value.status == 401 and not info.value.retryable
    finally:
        await client.close()


async def test_download_returns_exactly_what_the_job_wrote(
    sim: RunningSimulator, client: TrueNASClient
) -> None:
    data = await client.download("config.save", [{}], "config.tar")
    job = last_job(sim, "config.save")
    assert job.state == "SUCCESS"
    assert data == bytes(job.output or b"") and data


async def test_download_of_a_failing_job_raises_the_jobs_error(
    sim: RunningSimulator, client: TrueNASClient
) -> None:
    sim.faults.fail_jobs = {"config.save"}
    with pytest.raises(JobFailedError, match="Injected failure"):
        await client.download("config.save", [{}], "config.tar")
