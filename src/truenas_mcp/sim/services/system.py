"""``system.*``: identity, version and the general (web UI) configuration of the box."""

from __future__ import annotations

import copy
import datetime as dt
import errno
from typing import Any, Final

from truenas_mcp.sim.api import CallContext, Handler
from truenas_mcp.sim.errors import ValidationErrors
from truenas_mcp.sim.services.common import arg, world

VERSION: Final = "25.04.2"
_HTTPS_PROTOCOLS: Final = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_X_FRAME: Final = ("SAMEORIGIN", "DENY", "ALLOW_ALL")


def _uptime_text(seconds: float) -> str:
    """``str(timedelta)``, the format the middleware uses for ``uptime``."""
    return str(dt.timedelta(seconds=seconds))


async def system_info(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    w = world(ctx)
    info = copy.deepcopy(w.system["info"])
    uptime = w.uptime_seconds()
    info["uptime_seconds"] = round(uptime, 2)
    info["uptime"] = _uptime_text(round(uptime, 6))
    info["datetime"] = w.now()
    info["timezone"] = w.system["general"]["timezone"]
    info["hostname"] = w.system["info"]["hostname"]
    return info


async def system_version(ctx: CallContext, params: list[Any]) -> str:
    return f"TrueNAS-{VERSION}"


async def system_version_short(ctx: CallContext, params: list[Any]) -> str:
    return VERSION


async def system_host_id(ctx: CallContext, params: list[Any]) -> str:
    return str(world(ctx).system["host_id"])


async def system_boot_id(ctx: CallContext, params: list[Any]) -> str:
    return str(world(ctx).system["boot_id"])


async def system_ready(ctx: CallContext, params: list[Any]) -> bool:
    return True


async def system_state(ctx: CallContext, params: list[Any]) -> str:
    return "READY"


async def system_product_type(ctx: CallContext, params: list[Any]) -> str:
    return "COMMUNITY_EDITION"


def _certificate(w: Any) -> dict[str, Any]:
    """The self-signed ``truenas_default`` certificate every fresh install serves the UI with."""
    issued = w.base_time - dt.timedelta(days=612)
    return {
        "id": 1,
        "type": 8,
        "name": "truenas_default",
        "certificate": "-----BEGIN CERTIFICATE-----\nMIIDrzCCApegAwIBAgIEaQ...\n-----END CERTIFICATE-----\n",
        "privatekey": "********",
        "CSR": None,
        "acme_uri": None,
        "domains_authenticators": {},
        "renew_days": 10,
        "acme": {},
        "add_to_trusted_store": False,
        "root_path": "/etc/certificates",
        "certificate_path": "/etc/certificates/truenas_default.crt",
        "privatekey_path": "/etc/certificates/truenas_default.key",
        "csr_path": "/etc/certificates/truenas_default.csr",
        "cert_type": "CERTIFICATE",
        "cert_type_existing": True,
        "cert_type_CSR": False,
        "cert_type_internal": False,
        "CA_type_existing": False,
        "CA_type_internal": False,
        "CA_type_intermediate": False,
        "revoked": False,
        "revoked_date": None,
        "can_be_revoked": False,
        "internal": "NO",
        "issuer": "external",
        "signedby": {},
        "chain_list": ["-----BEGIN CERTIFICATE-----\nMIIDrzCCApegAwIBAgIEaQ...\n-----END CERTIFICATE-----\n"],
        "key_length": 2048,
        "key_type": "RSA",
        "country": "US",
        "state": "Tennessee",
        "city": "Maryville",
        "organization": "iXsystems",
        "organizational_unit": None,
        "common": "localhost",
        "san": ["DNS:localhost"],
        "email": "info@ixsystems.com",
        "DN": "/C=US/O=iXsystems/CN=localhost/emailAddress=info@ixsystems.com/ST=Tennessee/L=Maryville",
        "subject_name_hash": "3193428416",
        "extensions": {
            "SubjectAltName": "DNS:localhost",
            "ExtendedKeyUsage": "TLS Web Server Authentication",
        },
        "digest_algorithm": "SHA256",
        "lifetime": 397,
        "from": issued.strftime("%a %b %d %H:%M:%S %Y"),
        "until": (issued + dt.timedelta(days=397)).strftime("%a %b %d %H:%M:%S %Y"),
        "serial": 1758331713,
        "chain": False,
        "fingerprint": "2F:64:8C:51:0A:9E:31:7B:DD:90:1C:E2:5A:61:33:07:9B:C8:41:D2",
        "expired": False,
        "parsed": True,
        "crl_path": "/etc/certificates",
        "revoked_certs": [],
        "signed_certificates": 0,
    }


def _general(w: Any) -> dict[str, Any]:
    general = copy.deepcopy(w.system["general"])
    general["ui_certificate"] = _certificate(w)
    general["ds_auth"] = bool(general.get("ds_auth", False))
    return general


async def general_config(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    return _general(world(ctx))


async def general_update(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    """Validate everything first, then apply: a bad field leaves the configuration untouched."""
    w = world(ctx)
    data = arg(params, 0, {})
    verrors = ValidationErrors()
    prefix = "general_settings"
    for key in ("ui_port", "ui_httpsport"):
        if key in data and not 1 <= data[key] <= 65535:
            verrors.add(f"{prefix}.{key}", "Input should be less than or equal to 65535", errno.EINVAL)
    merged = {**w.system["general"], **data}
    if merged["ui_port"] == merged["ui_httpsport"]:
        verrors.add(f"{prefix}.ui_port", "Must be different from ui_httpsport")
    for proto in data.get("ui_httpsprotocols", []):
        if proto not in _HTTPS_PROTOCOLS:
            verrors.add(f"{prefix}.ui_httpsprotocols", f"Invalid protocol {proto!r}")
    if "ui_x_frame_options" in data and data["ui_x_frame_options"] not in _X_FRAME:
        verrors.add(f"{prefix}.ui_x_frame_options", "Input should be 'SAMEORIGIN', 'DENY' or 'ALLOW_ALL'")
    if "ui_certificate" in data and data["ui_certificate"] not in (None, 1):
        verrors.add(
            f"{prefix}.ui_certificate", "Please specify a valid certificate which exists in the system"
        )
    verrors.check()
    allowed = set(w.system["general"]) | {"ds_auth"}
    for key, value in data.items():
        if key in allowed and key != "ui_certificate":
            w.system["general"][key] = copy.deepcopy(value)
    return _general(w)


HANDLERS: dict[str, Handler] = {
    "system.info": system_info,
    "system.version": system_version,
    "system.version_short": system_version_short,
    "system.host_id": system_host_id,
    "system.boot_id": system_boot_id,
    "system.ready": system_ready,
    "system.state": system_state,
    "system.product_type": system_product_type,
    "system.general.config": general_config,
    "system.general.update": general_update,
}

# Facts of the simulated box that no write changes.
STATIC: frozenset[str] = frozenset(
    {
        "system.version",
        "system.version_short",
        "system.host_id",
        "system.boot_id",
        "system.ready",
        "system.state",
        "system.product_type",
    }
)
