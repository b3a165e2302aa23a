"""Server settings: environment over file, command line over both, one clear error for bad values."""

from __future__ import annotations

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
