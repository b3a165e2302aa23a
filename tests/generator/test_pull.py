"""``pull``: recording the simulator reproduces the shared recording byte for byte and pins it."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from truenas_mcp_gen import spec
from truenas_mcp_gen.errors import GenerationError
from truenas_mcp_gen.pull import pull, pull_command, version_from

from truenas_mcp.client import ClientConfig
from truenas_mcp.sim.server import RunningSimulator, Simulator

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "truenas-25.04.2.methods.json"
FIXED_NOW = dt.datetime(2025, 8, 1, 12, 0, 0, tzinfo=dt.UTC)


def admin_config(sim: RunningSimulator) -> ClientConfig:
    return ClientConfig.build(url=sim.url, username=sim.admin_username, api_key=sim.admin_api_key)


async def test_pull_reproduces_the_shared_recording_byte_for_byte(
    sim: RunningSimulator, tmp_path: Path
) -> None:
    messages: list[str] = []
    result = await pull(admin_config(sim), tmp_path, progress=messages.append, now=lambda: FIXED_NOW)
    expected = SHARED.read_bytes()
    assert result.path == tmp_path / "truenas-25.04.2.methods.json"
    assert result.path.read_bytes() == expected
    assert result.warnings == ()
    pin = spec.read_pin(tmp_path, "25.04.2")
    assert pin == result.pin
    assert pin is not None
    assert (pin.sha256, pin.size) == (hashlib.sha256(expected).hexdigest(), len(expected))
    assert (pin.method_count, pin.pulled_by, pin.pulled_at) == (771, "truenas_admin", "2025-08-01T12:00:00Z")
    assert "FULL_ADMIN" in pin.roles
    assert any("core.get_methods" in message for message in messages)
    # The recording is a valid input for the rest of the generator.
    assert spec.load_recording(result.path, project=tmp_path, pin_if_missing=False).pin == pin


async def test_pull_warns_when_the_session_is_not_full_admin(sim: RunningSimulator, tmp_path: Path) -> None:
    _, key = sim.world.add_api_key("alice", "pull test")
    config = ClientConfig.build(url=sim.url, username="alice", api_key=key)
    result = await pull(config, tmp_path)
    assert any("not FULL_ADMIN" in warning for warning in result.warnings)
    # auth.me reports the composed privilege, its roles expanded (privilege.py compose_privilege).
    assert "READONLY_ADMIN" in result.pin.roles and "FULL_ADMIN" not in result.pin.roles
    assert all(role == "READONLY_ADMIN" or role.endswith("_READ") for role in result.pin.roles)
    assert result.pin.method_count < 771  # the server listed only what alice may call


async def test_pull_warns_when_the_method_count_falls(sim: RunningSimulator, tmp_path: Path) -> None:
    spec.write_pin(tmp_path, spec.Pin("25.04.2", "truenas-25.04.2.methods.json", "0" * 64, 1, 900))
    result = await pull(admin_config(sim), tmp_path)
    assert result.previous is not None and result.previous.method_count == 900
    assert result.warnings == ("method count fell from 900 (pin of 25.04.2) to 771",)
    assert spec.read_pin(tmp_path, "25.04.2") == result.pin  # the pin is updated all the same


@pytest.mark.parametrize(
    ("answer", "version"), [("TrueNAS-SCALE-25.04.2", "25.04.2"), ("TrueNAS-25.10.0", "25.10.0")]
)
def test_version_prefix_is_removed(answer: str, version: str) -> None:
    assert version_from(answer) == version


def test_version_unusable_in_a_file_name_is_refused() -> None:
    with pytest.raises(GenerationError, match="not a usable version"):
        version_from("TrueNAS-../../etc")


@pytest.fixture
def threaded_sim() -> Iterator[RunningSimulator]:
    """A simulator on its own event loop thread, for the synchronous CLI (which runs asyncio.run)."""
    started = threading.Event()
    box: dict[str, object] = {}

    async def serve() -> None:
        stop = asyncio.Event()
        async with Simulator(rate_limit_delay=(0.0, 0.0)).serve("127.0.0.1", 0) as running:
            box.update(running=running, loop=asyncio.get_running_loop(), stop=stop)
            started.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(60), "simulator did not start"
    running = box["running"]
    assert isinstance(running, RunningSimulator)
    yield running
    loop, stop = box["loop"], box["stop"]
    assert isinstance(loop, asyncio.AbstractEventLoop) and isinstance(stop, asyncio.Event)
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)


def test_cli_pulls_with_a_key_file_and_reports_progress(
    threaded_sim: RunningSimulator, tmp_path: Path
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(threaded_sim.admin_api_key + "\n")
    out = tmp_path / "spec"
    env = {"TRUENAS_API_KEY": None, "TRUENAS_PASSWORD": None, "TRUENAS_PASSWORD_FILE": None}
    args = ["--url", threaded_sim.url, "--username", "truenas_admin", "--api-key-file", str(key_file)]
    result = CliRunner().invoke(pull_command, [*args, "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert (out / "truenas-25.04.2.methods.json").read_bytes() == SHARED.read_bytes()
    assert "pinned truenas-25.04.2.methods.json" in result.output
    assert threaded_sim.admin_api_key not in result.output


def test_cli_has_no_option_taking_the_secret_itself() -> None:
    options = {opt for param in pull_command.params for opt in param.opts}
    assert "--api-key-file" in options
    assert not {"--api-key", "--password"} & options


def test_cli_refuses_to_run_without_a_credential(tmp_path: Path) -> None:
    env = {
        name: None
        for name in ("TRUENAS_API_KEY", "TRUENAS_API_KEY_FILE", "TRUENAS_PASSWORD", "TRUENAS_PASSWORD_FILE")
    }
    result = CliRunner().invoke(pull_command, ["--url", "wss://nas/", "--username", "u"], env=env)
    assert result.exit_code == 2
    assert "no credential" in result.output


def test_a_pull_url_without_a_path_records_the_box_s_own_api() -> None:
    from truenas_mcp_gen.pull import current_api_url

    assert current_api_url("nas.example") == "nas.example/api/current"
    assert current_api_url("wss://nas.example/") == "wss://nas.example/api/current"
    assert current_api_url("wss://nas.example/api/v25.04.2") == "wss://nas.example/api/v25.04.2"
