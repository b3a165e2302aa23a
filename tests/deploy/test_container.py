"""The container image, built from the Dockerfile with podman and run for real against the simulator.

The build runs once per session (about a minute on a fresh machine: debootstrap of the base, cached under
``.cache/deploy/``, then an offline build). Needs root, podman, runc and debootstrap
(``.ci/apt-packages.txt``); outside CI a machine without them skips these tests, in CI they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from itertools import count
from pathlib import Path
from typing import Any

import httpx2
import pytest
from click.testing import CliRunner

from truenas_mcp.cli import main
from truenas_mcp.client import ClientConfig, TrueNASClient
from truenas_mcp.sim.server import RunningSimulator
from truenas_mcp.version import describe

from . import image
from .support import LogReader, free_port, jwt_setup, mcp_session, running

pytestmark = pytest.mark.slow

SECRETS = "/run/secrets/truenas-mcp"  # as in deploy/kubernetes/deployment.yaml
AUDIENCE = "https://mcp.example.test/mcp"
_names = count()


@pytest.fixture(scope="module")
def built() -> Iterator[str]:
    missing = image.missing_tools()
    if missing or os.geteuid() != 0:
        reason = f"container tests need root and {', '.join(image.TOOLS)} (missing: {missing or 'root'})"
        if os.environ.get("CI"):
            pytest.fail(reason + "; CI installs them from .ci/apt-packages.txt")
        pytest.skip(reason)
    base, stand_in = image.ensure_base()
    try:
        yield image.build_image(base)
    finally:
        image.remove_images(image.IMAGE, *([base] if stand_in else []))


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return image.run([*image.podman_base(), *args], timeout=120, check=check)


def in_image(built: str, script: str) -> subprocess.CompletedProcess[str]:
    """Run a shell script in a throw-away container of the image (as the image's own user)."""
    return podman(
        "run", "--rm", "--network", "none", *image.ulimits(), "--entrypoint", "sh", built, "-c", script
    )


@asynccontextmanager
async def container(
    built: str, env: dict[str, str], secrets: Path
) -> AsyncIterator[tuple[str, str, LogReader]]:
    """The server in a locked-down container on the host network (the simulator listens on the host's
    loopback), with ``secrets`` mounted read-only where the Kubernetes Deployment mounts its Secret;
    yields ``(base URL, container name, log)`` once uvicorn listens."""
    name = f"truenas-mcp-pytest-{os.getpid()}-{next(_names)}"
    secrets.chmod(0o755)  # the image's user owns none of it, as with a Secret volume
    for file in secrets.iterdir():
        file.chmod(0o444)
    argv = [
        *image.podman_base(),
        "run",
        "--rm",
        "--name",
        name,
        "--network",
        "host",
        *image.ulimits(),
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--volume",
        f"{secrets}:{SECRETS}:ro",
        "--env",
        "TRUENAS_MCP_HOST=127.0.0.1",
        "--env",
        f"TRUENAS_MCP_PORT={free_port()}",
        "--env",
        f"TRUENAS_API_KEY_FILE={SECRETS}/truenas-api-key",
    ]
    for key, value in env.items():
        argv += ["--env", f"{key}={value}"]
    stop = [*image.podman_base(), "stop", "--time", "10", name]
    async with running([*argv, built], stop=stop) as (url, log):
        yield url, name, log


def test_the_image_runs_as_a_numeric_non_root_user_with_a_healthcheck(built: str) -> None:
    (inspected,) = json.loads(podman("image", "inspect", built).stdout)
    config = inspected["Config"]
    uid, gid = config["User"].split(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit()
    assert "8080/tcp" in config["ExposedPorts"]
    assert config["Entrypoint"] == ["truenas-mcp"] and config["Cmd"] == ["serve"]
    assert "/healthz" in " ".join(inspected["Healthcheck"]["Test"])  # podman lists it beside Config
    assert in_image(built, "id -u").stdout.strip() == uid


def test_the_final_image_has_no_build_tools_sources_or_build_settings(built: str) -> None:
    found = in_image(
        built,
        "for tool in gcc cc c++ make git pip pip3 truenas-mcp-gen; do command -v $tool; done;"
        "for module in pip setuptools truenas_mcp_gen jinja2 datamodel_code_generator; do"
        ' python3 -c "import $module" 2>/dev/null && echo importable: $module; done;'
        "ls -d /src 2>/dev/null; ls -A /mnt; env | grep -E '^(PIP_|TRUENAS_API_KEY)' || true",
    ).stdout.split()
    assert found == []
    history = podman("history", "--no-trunc", "--format", "{{.CreatedBy}}", built).stdout
    assert "PIP_FIND_LINKS" not in history and "PIP_NO_INDEX" not in history


def test_the_image_reports_the_runtime_and_the_truenas_release_of_its_tools(built: str) -> None:
    described = in_image(built, 'python3 -c "from truenas_mcp.version import describe; print(describe())"')
    assert described.stdout.strip() == describe()
    assert "for TrueNAS " in described.stdout
    version = podman("run", "--rm", "--network", "none", *image.ulimits(), built, "--version")
    assert version.stdout.strip() == CliRunner().invoke(main, ["--version"]).output.strip()


async def test_the_container_serves_mcp_health_readiness_and_metrics_against_the_simulator(
    built: str, sim: RunningSimulator, tmp_path: Path
) -> None:
    config = ClientConfig.build(url=sim.url, username=sim.admin_username, api_key=sim.admin_api_key)
    async with TrueNASClient(config) as truenas:
        expected_host = (await truenas.call("system.info"))["hostname"]
        expected_pools = sorted(pool["name"] for pool in await truenas.call("pool.query"))
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "truenas-api-key").write_text(sim.admin_api_key + "\n", encoding="utf-8")
    auth = jwt_setup(secrets, AUDIENCE, ["truenas:READONLY_ADMIN"], mounted=SECRETS)
    env = {
        "TRUENAS_URL": sim.url,
        "TRUENAS_USERNAME": sim.admin_username,
        "TRUENAS_MCP_STATELESS": "true",
        **auth.env,
    }
    async with container(built, env, secrets) as (url, name, _log), httpx2.AsyncClient(timeout=10) as http:
        assert (await http.get(url + "/healthz")).json() == {"status": "ok"}
        anonymous = await http.post(url + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        results: dict[str, Any] = {}
        for era in ("2026-07-28", "legacy"):
            async with mcp_session(url + "/mcp/readonly", era, token=auth.token) as client:
                listed = await client.list_tools()
                info = await client.call_tool("system_info", {})
                pools = await client.call_tool("pool_query", {"options": {"select": ["name"]}})
            assert not info.is_error and not pools.is_error, (info.content, pools.content)
            assert info.structured_content is not None and pools.structured_content is not None
            results[era] = (
                {tool.name for tool in listed.tools},
                info.structured_content["result"]["hostname"],
                sorted(row["name"] for row in pools.structured_content["result"]),
            )
        # A tool call went through, so the server is logged in to TrueNAS: it must say it is ready.
        ready = await http.get(url + "/readyz")
        metrics = (await http.get(url + "/metrics")).text
        health = podman("healthcheck", "run", name, check=False)

    for tools, host, pools_seen in results.values():
        assert {"system_info", "pool_query"} <= tools
        assert host == expected_host and pools_seen == expected_pools
    assert anonymous.status_code == 401  # JWT auth is on: no token, no tools
    assert (ready.status_code, ready.json()) == (200, {"status": "ready", "mode": "single credential"})
    assert 'truenas_mcp_tool_calls_total{outcome="ok",tool="system_info"} 2.0' in metrics
    assert health.returncode == 0, health.stdout + health.stderr


async def test_readiness_fails_with_the_reason_while_truenas_is_unreachable(
    built: str, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "truenas-api-key").write_text("1-unused\n", encoding="utf-8")
    auth = jwt_setup(secrets, AUDIENCE, ["truenas:READONLY_ADMIN"], mounted=SECRETS)
    env = {
        "TRUENAS_URL": f"ws://127.0.0.1:{free_port()}/api/current",
        "TRUENAS_USERNAME": "truenas_admin",
        **auth.env,
    }
    async with container(built, env, secrets) as (url, _name, _log), httpx2.AsyncClient(timeout=10) as http:
        health = await http.get(url + "/healthz")
        ready = await http.get(url + "/readyz")
    assert health.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["status"] == "not ready" and ready.json()["reason"]
