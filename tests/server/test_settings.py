"""Server settings: environment over file, command line over both, one clear error for bad values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from truenas_mcp.server.settings import SettingsError, load_settings


def test_defaults_load_without_any_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRUENAS_MCP_CONFIG", raising=False)
    settings = load_settings()
    assert settings.default_limit == 50 and settings.job_wait_seconds == 30


def test_environment_overrides_the_file_and_the_command_line_overrides_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "server.toml"
    config.write_text("[server]\nport = 9000\ndefault_limit = 20\nhost = '0.0.0.0'\n")
    monkeypatch.setenv("TRUENAS_MCP_DEFAULT_LIMIT", "30")
    settings = load_settings(config, host="127.0.0.2")
    assert (settings.port, settings.default_limit, settings.host) == (9000, 30, "127.0.0.2")


def test_every_invalid_setting_is_named_in_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "server.toml"
    config.write_text("[server]\nprot = 1\n")
    monkeypatch.setenv("TRUENAS_MCP_JOB_WAIT_SECONDS", "-1")
    with pytest.raises(SettingsError) as info:
        load_settings(config)
    message = str(info.value)
    assert "key 'prot': unknown setting" in message
    assert "TRUENAS_MCP_JOB_WAIT_SECONDS" in message


def test_an_unreadable_or_broken_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("port = = 1")
    with pytest.raises(SettingsError, match="invalid TOML"):
        load_settings(broken)


def test_an_unknown_variable_is_an_error_naming_it_and_the_closest_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRUENAS_MCP_REDIS_URI", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("TRUENAS_MCP_COMPLETELY_MADE_UP", "1")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "TRUENAS_MCP_REDIS_URI: unknown setting; did you mean TRUENAS_MCP_REDIS_URL?" in message
    assert "TRUENAS_MCP_COMPLETELY_MADE_UP: unknown setting" in message


def test_variables_other_parts_of_the_project_read_are_not_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRUENAS_MCP_CONFIG", raising=False)
    monkeypatch.setenv("TRUENAS_MCP_SPEC_DIR", "/nonexistent")
    monkeypatch.setenv("TRUENAS_MCP_PORT", "9001")
    assert load_settings().port == 9001


def test_serve_refuses_to_start_with_an_unknown_variable() -> None:
    script = Path(sys.executable).with_name("truenas-mcp")
    env = {**os.environ, "TRUENAS_MCP_JOB_WAIT_SECOND": "5", "TRUENAS_URL": "ws://127.0.0.1:9/api/current"}
    done = subprocess.run([str(script), "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "TRUENAS_MCP_JOB_WAIT_SECOND: unknown setting; did you mean TRUENAS_MCP_JOB_WAIT_SECONDS?" in (
        done.stderr
    )


def test_more_than_one_replica_without_a_shared_store_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRUENAS_MCP_REPLICAS", "3")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "3 replicas need a shared store; set redis_url (TRUENAS_MCP_REDIS_URL)" in message
    assert "one confirmation key; set confirm_secret_file (TRUENAS_MCP_CONFIRM_SECRET_FILE)" in message
    assert "one token audience; set jwt_audience (TRUENAS_MCP_JWT_AUDIENCE)" in message
    monkeypatch.setenv("TRUENAS_MCP_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("TRUENAS_MCP_CONFIRM_SECRET_FILE", "/run/secrets/confirm-key")
    monkeypatch.setenv("TRUENAS_MCP_JWT_AUDIENCE", "https://mcp.example.com/mcp")
    assert load_settings().replicas == 3
