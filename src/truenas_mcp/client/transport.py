"""Where the client connects and whether it is safe to send a credential there.

TrueNAS revokes an API key the moment it is used over a transport it considers insecure (not TLS, not
loopback, not a unix socket) and answers ``EXPIRED``: one mistaken ``ws://`` URL costs the operator a key.
So the check happens here, before any secret leaves the process, and the opt-out is loud.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from truenas_mcp.client.errors import ClientConfigError, InsecureTransportError

log = logging.getLogger("truenas_mcp.client")

CURRENT_PATH = "/api/current"
# Used when no tool catalogue is installed to say which release the client speaks.
FALLBACK_RELEASE = "25.04.2"


def versioned_path(release: str) -> str:
    """``25.04.2`` → ``/api/v25.04.2``: the endpoint a box keeps serving for that API after upgrades."""
    return f"/api/v{release}"


def installed_release() -> str:
    """The release of the installed tool catalogue (its entry point's name), without importing it.

    The client speaks the API the tools were generated from; with no catalogue (or several) the shipped
    release is assumed, and TRUENAS_URL can name any endpoint explicitly.
    """
    from importlib.metadata import entry_points

    from truenas_mcp.catalog import ENTRY_POINT_GROUP

    names = sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})
    return names[0] if len(names) == 1 else FALLBACK_RELEASE


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A parsed ``ws(s)://`` URL and the matching ``http(s)://`` base for ``/_upload`` and ``/_download``."""

    ws_url: str
    http_base: str
    host: str
    secure: bool
    loopback: bool
    path: str = CURRENT_PATH

    @property
    def api_version(self) -> str | None:
        """``v25.04.2`` for ``/api/v25.04.2``, ``current`` for ``/api/current``, None for other paths."""
        if self.path.startswith("/api/") and self.path.count("/") == 2:
            return self.path.removeprefix("/api/")
        return None


def is_loopback_host(host: str) -> bool:
    """Loopback by literal address or the ``localhost`` name; other names are not resolved on purpose
    (a DNS answer is not a property of the transport)."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_endpoint(url: str, default_path: str = CURRENT_PATH) -> Endpoint:
    """Validate ``TRUENAS_URL``: a host (``nas.example``, ``nas.example:8443``, meaning ``wss://``) or a full
    ``ws(s)://`` URL; without a path it means ``default_path`` (the client passes its versioned API)."""
    text = url.strip()
    if text and "://" not in text:
        text = f"wss://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("ws", "wss"):
        raise ClientConfigError(
            f"TRUENAS_URL={url!r}: scheme must be wss:// (or ws:// for loopback), "
            f"got {parts.scheme or 'none'!r}"
        )
    try:
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise ClientConfigError(f"TRUENAS_URL={url!r}: {exc}") from exc
    if not host:
        raise ClientConfigError(f"TRUENAS_URL={url!r}: no host")
    if parts.username or parts.password:
        raise ClientConfigError(
            "TRUENAS_URL must not carry credentials; use TRUENAS_USERNAME and a secret file"
        )
    path = parts.path if parts.path not in ("", "/") else default_path
    secure = parts.scheme == "wss"
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    query = f"?{parts.query}" if parts.query else ""
    return Endpoint(
        ws_url=f"{parts.scheme}://{netloc}{path}{query}",
        http_base=f"{'https' if secure else 'http'}://{netloc}",
        host=host,
        secure=secure,
        loopback=is_loopback_host(host),
        path=path,
    )


def check_transport(endpoint: Endpoint, credential_kind: str, *, allow_insecure: bool) -> None:
    """Refuse to send a credential in clear text to a non-loopback host (unless explicitly allowed)."""
    if endpoint.secure or endpoint.loopback:
        return
    if credential_kind == "API_KEY":
        consequence = (
            "TrueNAS revokes an API key used over an insecure transport (and reports it EXPIRED), so this "
            "key would be lost"
        )
    else:
        consequence = "the password would cross the network in clear text"
    if not allow_insecure:
        raise InsecureTransportError(
            f"refusing to log in over plain ws:// to {endpoint.host}, which is not loopback: {consequence}. "
            "Use wss:// (TLS). For a lab only, TRUENAS_ALLOW_INSECURE_TRANSPORT=true overrides this."
        )
    log.warning(
        "INSECURE TRANSPORT ALLOWED (TRUENAS_ALLOW_INSECURE_TRANSPORT): logging in over plain ws:// to %s; "
        "%s. Never use this outside a lab.",
        endpoint.host,
        consequence,
    )


def build_ssl_context(endpoint: Endpoint, *, verify: bool, ca_bundle: Path | None) -> ssl.SSLContext | None:
    """TLS context for ``wss://``: verified by default, with an optional private CA bundle."""
    if not endpoint.secure:
        return None
    if not verify:
        log.warning(
            "TLS CERTIFICATE VERIFICATION DISABLED (TRUENAS_VERIFY_TLS=false) for %s: anyone on the path can "
            "impersonate the server and capture the credential",
            endpoint.host,
        )
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        return ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
    except (OSError, ssl.SSLError) as exc:
        raise ClientConfigError(f"TRUENAS_CA_BUNDLE={ca_bundle}: cannot load CA bundle ({exc})") from exc
