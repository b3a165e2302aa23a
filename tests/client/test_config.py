"""ClientConfig: settings from values or TRUENAS_* variables, secrets from env or files, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from truenas_mcp.client import ClientConfig, ClientConfigError

URL = "wss://nas.example.com/api/current"


def write_secret(tmp_path: Path, name: str, value: str) -> Path:
    path = tmp_path / name
    path.write_text(value)
    return path


def test_api_key_file_is_read_without_trailing_newline(tmp_path: Path) -> None:
    key_file = write_secret(tmp_path, "key", "1-abcdef\n")
    config = ClientConfig.from_env(
        {"TRUENAS_URL": URL, "TRUENAS_USERNAME": "svc", "TRUENAS_API_KEY_FILE": str(key_file)}
    )
    credential = config.credential()
    assert credential is not None
    assert (credential.kind, credential.username) == ("API_KEY", "svc")
    assert credential.secret.get_secret_value() == "1-abcdef"


def test_secret_never_appears_in_repr(tmp_path: Path) -> None:
    config = ClientConfig.from_env(
        {"TRUENAS_URL": URL, "TRUENAS_USERNAME": "svc", "TRUENAS_API_KEY": "1-topsecret"}
    )
    assert "topsecret" not in repr(config)
    assert "topsecret" not in str(config.model_dump())
    assert "topsecret" not in repr(config.credential())


def test_rotated_secret_file_is_picked_up_at_next_login(tmp_path: Path) -> None:
    key_file = write_secret(tmp_path, "key", "1-old")
    config = ClientConfig.build(url=URL, username="svc", api_key_file=key_file)
    key_file.write_text("2-new\n")
    credential = config.credential()
    assert credential is not None and credential.secret.get_secret_value() == "2-new"


def test_two_credentials_are_refused_naming_both_variables(tmp_path: Path) -> None:
    with pytest.raises(ClientConfigError, match="TRUENAS_API_KEY and TRUENAS_PASSWORD"):
        ClientConfig.from_env(
            {
                "TRUENAS_URL": URL,
                "TRUENAS_USERNAME": "svc",
                "TRUENAS_API_KEY": "1-a",
                "TRUENAS_PASSWORD": "pw",
            }
        )


def test_api_key_without_username_is_refused() -> None:
    with pytest.raises(ClientConfigError, match="TRUENAS_USERNAME is required"):
        ClientConfig.from_env({"TRUENAS_URL": URL, "TRUENAS_API_KEY": "1-a"})


def test_missing_or_empty_secret_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ClientConfigError, match="TRUENAS_API_KEY_FILE: cannot read secret file"):
        ClientConfig.from_env(
            {"TRUENAS_URL": URL, "TRUENAS_USERNAME": "svc", "TRUENAS_API_KEY_FILE": str(tmp_path / "missing")}
        )
    empty = write_secret(tmp_path, "empty", "\n")
    with pytest.raises(ClientConfigError, match=r"TRUENAS_PASSWORD_FILE: secret file .* is empty"):
        ClientConfig.from_env(
            {"TRUENAS_URL": URL, "TRUENAS_USERNAME": "svc", "TRUENAS_PASSWORD_FILE": str(empty)}
        )


def test_url_is_required_and_validated() -> None:
    with pytest.raises(ClientConfigError, match="TRUENAS_URL is not set"):
        ClientConfig.from_env({})
    with pytest.raises(ClientConfigError, match="scheme must be wss://"):
        ClientConfig.from_env({"TRUENAS_URL": "https://nas.example.com"})


def test_url_without_path_means_the_versioned_api_of_the_installed_tools() -> None:
    assert ClientConfig.build(url="wss://nas.example.com").ws_url == "wss://nas.example.com/api/v25.04.2"
    assert ClientConfig.build(url="wss://nas:8443/").ws_url == "wss://nas:8443/api/v25.04.2"
    assert ClientConfig.build(url="wss://nas/api/current").ws_url == "wss://nas/api/current"


def test_booleans_are_parsed_strictly() -> None:
    config = ClientConfig.from_env({"TRUENAS_URL": URL, "TRUENAS_VERIFY_TLS": "off"})
    assert config.verify_tls is False
    with pytest.raises(ClientConfigError, match="TRUENAS_ALLOW_INSECURE_TRANSPORT='maybe' is not a boolean"):
        ClientConfig.from_env({"TRUENAS_URL": URL, "TRUENAS_ALLOW_INSECURE_TRANSPORT": "maybe"})


def test_ca_bundle_with_verification_off_is_contradictory(tmp_path: Path) -> None:
    bundle = write_secret(tmp_path, "ca.pem", "x")
    with pytest.raises(ClientConfigError, match="TRUENAS_CA_BUNDLE is set but TRUENAS_VERIFY_TLS=false"):
        ClientConfig.from_env(
            {"TRUENAS_URL": URL, "TRUENAS_CA_BUNDLE": str(bundle), "TRUENAS_VERIFY_TLS": "0"}
        )


def test_overrides_win_over_environment() -> None:
    config = ClientConfig.from_env(
        {"TRUENAS_URL": URL, "TRUENAS_CALL_TIMEOUT": "5"}, call_timeout=7.5, username=None
    )
    assert config.call_timeout == 7.5


def test_in_flight_limit_cannot_exceed_the_servers() -> None:
    with pytest.raises(ClientConfigError, match="max_in_flight"):
        ClientConfig.build(url=URL, max_in_flight=11)
