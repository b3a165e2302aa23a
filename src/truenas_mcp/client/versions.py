"""Which API versions a box serves (``GET /api/versions``) and whether it serves the one the client speaks.

A TrueNAS box keeps each older API version it supports at ``/api/v<version>`` and adapts calls to its
current code, so tools generated for 25.04.2 keep working against 25.10 through ``/api/v25.04.2``. When the
box no longer offers that version, every call would fail in its own way; refusing at connect time with the
list of what the box does offer tells the operator what to install instead.
"""

from __future__ import annotations

import json
import logging
import ssl

import httpx

from truenas_mcp.client.errors import ClientConfigError
from truenas_mcp.client.transport import Endpoint

log = logging.getLogger("truenas_mcp.client")


def refusal(endpoint: Endpoint, offered: list[str]) -> ClientConfigError:
    return ClientConfigError(
        f"TrueNAS at {endpoint.host} does not offer API {endpoint.api_version} (it offers "
        f"{', '.join(offered) or 'none'}): install tools generated for one of those releases "
        "(`truenas-mcp-gen pull` then `truenas-mcp-gen generate`), or point TRUENAS_URL at one of them"
    )


async def offered_versions(
    endpoint: Endpoint, tls: ssl.SSLContext | None, timeout: float
) -> list[str] | None:
    """The box's answer to ``GET /api/versions``; None when it has no such route (before 25.04) or the
    answer is not a list: the WebSocket handshake then says whether the path exists."""
    try:
        async with httpx.AsyncClient(verify=tls if tls is not None else True, timeout=timeout) as http:
            response = await http.get(f"{endpoint.http_base}/api/versions")
    except httpx.HTTPError as exc:
        log.debug("GET /api/versions on %s failed: %s", endpoint.host, exc)
        return None
    if response.status_code != 200:
        return None
    try:
        data = json.loads(response.content)
    except ValueError:
        return None
    return [str(v) for v in data] if isinstance(data, list) else None


async def check_api_version(endpoint: Endpoint, tls: ssl.SSLContext | None, timeout: float) -> None:
    """Refuse, before any credential is sent, a box that does not offer the endpoint's API version."""
    version = endpoint.api_version
    if version is None or version == "current":
        return
    offered = await offered_versions(endpoint, tls, timeout)
    if offered is not None and version not in offered:
        raise refusal(endpoint, offered)
