"""The configuration reference (``docs/configuration.md``), generated from the settings models.

Every environment variable the server reads is a field of ``ServerSettings`` (``TRUENAS_MCP_*``) or has an
entry in the client's ``ENV_VARS`` (``TRUENAS_*``), so the reference is rendered from those and cannot
miss one. ``python -m truenas_mcp.config_doc`` rewrites the file; ``--check`` exits 1 when the committed
file differs from what the models say (the test suite runs the same comparison).
"""

from __future__ import annotations

import json
import sys
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from truenas_mcp import docfile
from truenas_mcp.client.config import ENV_VARS, ClientConfig
from truenas_mcp.server.settings import CONFIG_FILE_ENV, ENV_PREFIX, CredentialSetting, ServerSettings
from truenas_mcp.sim.recording import ENV_SPEC_FILE

DEFAULT_PATH = Path("docs/configuration.md")

# The client model documents only some of its fields; these say what the rest mean to an operator.
CLIENT_NOTES: dict[str, str] = {
    "url": (
        "TrueNAS API endpoint: HOST[:PORT] or wss://HOST[:PORT][/PATH]; without a path "
        "/api/v<release of the installed tools> (`/api/current` only when named)"
    ),
    "username": "user that owns the API key (required with a key or password since 25.04)",
    "api_key": "API key `<id>-<secret>` (prefer the _FILE variant)",
    "api_key_file": "file holding the API key (a Docker/Kubernetes secret mount); re-read at each login",
    "password": "password of `username` (prefer an API key)",
    "password_file": "file holding the password; re-read at each login",
    "ca_bundle": "PEM bundle of the CAs that sign the TrueNAS certificate (self-signed setups)",
    "verify_tls": "verify the TrueNAS certificate (false only for throw-away lab systems)",
    "allow_insecure_transport": "lab use only: send credentials over plain ws:// to a non-loopback host",
    "call_timeout": "seconds one API call may take",
    "connect_timeout": "seconds to open and log in a connection",
}
SECRET_FIELDS = frozenset({"api_key", "password"})


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is Literal:
        return " | ".join(f"`{a}`" for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return _type_name(args[0]) if len(args) == 1 else " or ".join(_type_name(a) for a in args)
    if origin is list:
        return f"JSON list of {_type_name(args[0])}" if args else "JSON list"
    if isinstance(annotation, type):
        if issubclass(annotation, Path):
            return "path"
        if annotation.__name__ == "SecretStr":
            return "secret"
        if annotation.__module__ != "builtins":
            return "object"
        return annotation.__name__
    return str(annotation)


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return "required"
    else:
        value = info.default
    if value is None:
        return "unset"
    if isinstance(value, list | dict):
        return f"`{json.dumps(value)}`" if value else "`[]`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _constraints(info: FieldInfo) -> str:
    parts = []
    for item in info.metadata:
        for name, symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            bound = getattr(item, name, None)
            if bound is not None:
                parts.append(f"{symbol} {bound}")
    return f" ({', '.join(parts)})" if parts else ""


def server_rows() -> Iterable[tuple[str, str, str, str, str]]:
    for name, info in ServerSettings.model_fields.items():
        description = info.description or {"log_level": "log verbosity"}.get(name, "")
        yield (
            f"`{ENV_PREFIX}{name.upper()}`",
            f"`{name}`",
            _type_name(info.annotation) + _constraints(info),
            _default(info),
            description,
        )


def credential_rows() -> Iterable[tuple[str, str, str, str]]:
    for name, info in CredentialSetting.model_fields.items():
        yield f"`{name}`", _type_name(info.annotation), _default(info), info.description or ""


def client_rows() -> Iterable[tuple[str, str, str, str]]:
    for name, var in ENV_VARS.items():
        info = ClientConfig.model_fields[name]
        description = CLIENT_NOTES.get(name) or info.description or ""
        kind = "secret" if name in SECRET_FIELDS else _type_name(info.annotation) + _constraints(info)
        yield f"`{var}`", kind, _default(info), description


def _table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def render() -> str:
    """The whole reference as Markdown (deterministic: the same models give the same bytes)."""
    lines = [
        "<!-- Generated by `python -m truenas_mcp.config_doc` from the settings models; do not edit. -->",
        "# Configuration reference",
        "",
        "`truenas-mcp serve` is configured entirely by environment variables (or, for the server",
        f"settings, the `[server]` table of a TOML file named by `--config` or `{CONFIG_FILE_ENV}`; the",
        "environment wins over the file, command-line options win over both). Every setting is validated at",
        "start-up and a bad or unknown one stops the server with a message naming it. List settings take",
        "JSON in the environment (`TRUENAS_MCP_TOOL_DENY='[\"pool.*\"]'`) and TOML arrays in the file.",
        "",
        "## Connection to TrueNAS (`TRUENAS_*`)",
        "",
        "Give exactly one credential (API key or password, each directly or as a file). See",
        "[Connecting a real TrueNAS](../README.md#connect-a-real-truenas).",
        "",
        *_table(("variable", "type", "default", "meaning"), client_rows()),
        "",
        "## Server (`TRUENAS_MCP_*`)",
        "",
        "The TOML key is the same name in lower case under `[server]`. Security settings are explained in",
        "[docs/security.md](security.md).",
        "",
        *_table(("variable", "TOML key", "type", "default", "meaning"), server_rows()),
        "",
        "### Per-role credentials (`credentials`)",
        "",
        "Each entry is one TrueNAS user's API key and the TrueNAS roles that user's privilege grants. With",
        "entries, `TRUENAS_URL` (and the TLS and timeout variables) still say where TrueNAS is, but",
        "`TRUENAS_USERNAME` and the `TRUENAS_*` credential variables must be unset. A call runs over the",
        "entry with the fewest roles that include every `truenas:<ROLE>` scope of the caller's token; a",
        "token no entry covers is refused with HTTP 403. Set-up: [docs/security.md](security.md).",
        "",
        *_table(("field", "type", "default", "meaning"), credential_rows()),
        "",
        "In TOML: `[[server.credentials]]` tables; in the environment:",
        '`TRUENAS_MCP_CREDENTIALS=\'[{"name": "readonly", "roles": ["READONLY_ADMIN"], "username":',
        '"mcp-readonly", "api_key_file": "/run/secrets/readonly.key"}]\'`.',
        "",
        "## Other variables",
        "",
        *_table(
            ("variable", "meaning"),
            [
                (f"`{CONFIG_FILE_ENV}`", "TOML file with a `[server]` table (same as `serve --config`)"),
                (
                    f"`{ENV_SPEC_FILE}`",
                    "the methods recording (a file of any name, .json/.xz/.gz, or a folder of pins and "
                    "recordings) the simulator, the demo and the generator read; default: `spec/` in the "
                    "working directory, then the copy shipped with the package",
                ),
            ],
        ),
        "",
        "`truenas-mcp demo` reads the `TRUENAS_MCP_*` variables too, but always listens on loopback with its",
        "own token secret and issuer, has no rate limit unless `TRUENAS_MCP_RATE_LIMIT_PER_MINUTE` is set,",
        "and ignores the `TRUENAS_*` connection (it connects to its own simulator).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return docfile.main("truenas_mcp.config_doc", __doc__, DEFAULT_PATH, render, argv)


if __name__ == "__main__":
    sys.exit(main())
