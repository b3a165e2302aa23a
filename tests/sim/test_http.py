"""Plain HTTP routes: ``/api/versions``, ``/_upload`` and ``/_download/{job_id}``."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from truenas_mcp.sim.server import RunningSimulator

RawRpc = Any  # tests/sim/conftest.py RawRpc, handed out by the rpc/admin fixtures


async def test_api_versions_lists_the_served_versions(sim: RunningSimulator) -> None:
    async with httpx.AsyncClient(base_url=sim.http_url) as http:
        response = await http.get("/api/versions")
    assert response.status_code == 200
    assert response.json() == ["v25.04.0", "v25.04.1", "v25.04.2"]


async def test_download_streams_the_job_output_once(sim: RunningSimulator, admin: RawRpc) -> None:
    job_id, url = await admin.call("core.download", ["config.save", [{}], "truenas.tar"])
    assert url.startswith(f"/_download/{job_id}?auth_token=")
    async with httpx.AsyncClient(base_url=sim.http_url) as http:
        response = await http.get(url)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["content-disposition"] == 'attachment; filename="truenas.tar"'
        assert response.content
        assert (await http.get(url)).status_code == 410


@pytest.mark.parametrize(
    ("mangle", "status"),
    [
        (lambda job_id, url: url.split("?")[0], 401),
        (lambda job_id, url: url.split("=")[0] + "=not-the-token", 401),
        (lambda job_id, url: url.replace(f"/_download/{job_id}?", f"/_download/{job_id + 100}?"), 404),
    ],
    ids=["no-token", "wrong-token", "unknown-job"],
)
async def test_download_refusals(sim: RunningSimulator, admin: RawRpc, mangle: Any, status: int) -> None:
    job_id, url = await admin.call("core.download", ["config.save", [{}], "truenas.tar"])
    async with httpx.AsyncClient(base_url=sim.http_url) as http:
        assert (await http.get(mangle(job_id, url))).status_code == status


async def test_download_of_a_method_without_output_pipe_is_refused(admin: RawRpc) -> None:
    frame = await admin.request("core.download", ["pool.query", [], "x"])
    assert frame["error"]["data"]["errname"] == "EINVAL"


def _multipart(data: Any, *, order: tuple[str, ...] = ("data", "file")) -> dict[str, Any]:
    parts = {
        "data": (None, data if isinstance(data, str) else json.dumps(data)),
        "file": ("f.tar", b"payload"),
    }
    return {"files": [(name, parts[name]) for name in order]}


async def test_upload_starts_the_job_with_the_file_as_its_input(sim: RunningSimulator, admin: RawRpc) -> None:
    await admin.call("core.subscribe", ["core.get_jobs"])
    headers = {"Authorization": f"Bearer {sim.admin_api_key}"}
    async with httpx.AsyncClient(base_url=sim.http_url) as http:
        response = await http.post(
            "/_upload", headers=headers, **_multipart({"method": "config.upload", "params": []})
        )
    assert response.status_code == 200
    job_id = response.json()["job_id"]
    final = (await admin.job_event(job_id, {"SUCCESS", "FAILED", "ABORTED"}))["fields"]
    assert final["method"] == "config.upload"


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, {"method": "config.upload", "params": []}, 401),
        ({"Authorization": "Bearer 1-wrong"}, {"method": "config.upload", "params": []}, 401),
        (None, "{broken", 400),
        (None, {"params": []}, 422),
        (None, {"method": "no.such.method", "params": []}, 422),
    ],
    ids=["no-credentials", "bad-key", "bad-json", "no-method", "unknown-method"],
)
async def test_upload_refusals(
    sim: RunningSimulator, headers: dict[str, str] | None, body: Any, status: int
) -> None:
    headers = {"Authorization": f"Bearer {sim.admin_api_key}"} if headers is None else headers
    async with httpx.AsyncClient(base_url=sim.http_url) as http:
        assert (await http.post("/_upload", headers=headers, **_multipart(body))).status_code == status


async def test_upload_with_parts_out_of_order_is_405(sim: RunningSimulator) -> None:
    headers = {"Authorization": f"Bearer {sim.admin_api_key}"}
    body = _multipart({"method": "config.upload", "params": []}, order=("file", "data"))
    async with httpx.AsyncClient(base_url=sim.http_url) as http:
        assert (await http.post("/_upload", headers=headers, **body)).status_code == 405


async def test_upload_by_a_user_without_the_role_is_403(sim: RunningSimulator) -> None:
    _, key = sim.world.add_api_key("bob", "test")
    assert sim.world.roles_for("bob").isdisjoint(sim.sim.recording.methods["config.upload"]["roles"])
    async with httpx.AsyncClient(base_url=sim.http_url) as http:
        response = await http.post(
            "/_upload",
            headers={"Authorization": f"Bearer {key}"},
            **_multipart({"method": "config.upload", "params": []}),
        )
    assert response.status_code == 403


async def test_bearer_api_key_over_plain_http_is_not_revoked(sim_factory: Any) -> None:
    async with (
        sim_factory(insecure_loopback=True) as running,
        httpx.AsyncClient(base_url=running.http_url) as http,
    ):
        headers = {"Authorization": f"Bearer {running.admin_api_key}"}
        response = await http.post("/_upload", headers=headers, **_multipart({"method": "config.upload"}))
        assert response.status_code == 200
        record = running.world.find_api_key(running.admin_api_key, None)
        assert record is not None and not record.revoked
