"""Transport checks: no credential in clear text to a non-loopback host; TLS verified by default."""

from __future__ import annotations

import logging
import ssl

import pytest

from truenas_mcp.client import InsecureTransportError
from truenas_mcp.client.transport import build_ssl_context, check_transport, is_loopback_host, parse_endpoint


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("nas.localhost", True), ("10.0.0.5", False), ("nas.example.com", False), ("localhost.evil.com", False)],
)  # fmt: skip
def test_loopback_is_decided_by_literal_address_or_localhost_name(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_api_key_to_remote_plain_ws_is_refused_and_explains_the_revocation() -> None:
    endpoint = parse_endpoint("ws://192.168.1.10/api/current")
    with pytest.raises(InsecureTransportError, match="revokes an API key"):
        check_transport(endpoint, "API_KEY", allow_insecure=False)


def test_password_to_remote_plain_ws_is_refused() -> None:
    with pytest.raises(InsecureTransportError, match="clear text"):
        check_transport(parse_endpoint("ws://nas/api/current"), "PASSWORD", allow_insecure=False)


def test_tls_and_loopback_are_allowed() -> None:
    check_transport(parse_endpoint("wss://nas/api/current"), "API_KEY", allow_insecure=False)
    check_transport(parse_endpoint("ws://127.0.0.1:6000/api/current"), "API_KEY", allow_insecure=False)


def test_opt_out_logs_a_loud_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="truenas_mcp.client"):
        check_transport(parse_endpoint("ws://10.1.1.1/api/current"), "API_KEY", allow_insecure=True)
    assert "INSECURE TRANSPORT ALLOWED" in caplog.text


def test_http_base_follows_the_websocket_scheme() -> None:
    assert parse_endpoint("wss://nas:8443/api/current").http_base == "https://nas:8443"
    assert parse_endpoint("ws://[::1]:6000").http_base == "http://[::1]:6000"


def test_tls_is_verified_by_default_and_only_disabled_explicitly(caplog: pytest.LogCaptureFixture) -> None:
    endpoint = parse_endpoint("wss://nas/api/current")
    context = build_ssl_context(endpoint, verify=True, ca_bundle=None)
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    with caplog.at_level(logging.WARNING, logger="truenas_mcp.client"):
        unverified = build_ssl_context(endpoint, verify=False, ca_bundle=None)
    assert unverified is not None and unverified.verify_mode == ssl.CERT_NONE
    assert "VERIFICATION DISABLED" in caplog.text
    assert build_ssl_context(parse_endpoint("ws://127.0.0.1/"), verify=True, ca_bundle=None) is None
