"""Server settings: ``TRUENAS_MCP_*`` environment variables over an optional TOML file, validated once.

Configuration as written (``ServerSettings``, ``extra="forbid"``) is checked at start-up and every bad or
unknown setting is reported in one error naming the environment variable or file key. The TrueNAS
connection itself is configured by the client's own ``TRUENAS_*`` variables (``ClientConfig.from_env``),
so a credential has exactly one way in.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "TRUENAS_MCP_"
CONFIG_FILE_ENV = "TRUENAS_MCP_CONFIG"


class SettingsError(ValueError):
    """One or more settings are missing or invalid; the message names each of them."""


class ServerSettings(BaseSettings):
    """Everything ``truenas-mcp serve`` needs besides the TrueNAS connection."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", frozen=True, validate_default=True, env_ignore_empty=True
    )

    host: str = Field(default="127.0.0.1", description="address to listen on")
    port: int = Field(default=8080, ge=0, le=65535, description="TCP port (0 picks a free one)")
    allowed_hosts: list[str] = Field(
        default_factory=lambda: ["127.0.0.1:*", "localhost:*", "[::1]:*"],
        description="Host header values accepted (DNS-rebinding protection); '*' port wildcards allowed",
    )
    allowed_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
        description="Origin header values accepted from browsers; a request without Origin is accepted",
    )
    catalog: str | None = Field(default=None, description="tool catalog entry point name (if several)")
    default_limit: int = Field(default=50, ge=1, le=10_000, description="rows a query returns by default")
    max_answer_bytes: int = Field(
        default=64 * 1024, ge=1024, description="cap on the JSON of one tool answer (keeps it in context)"
    )
    job_wait_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="how long a job tool waits before returning a handle"
    )
    max_download_bytes: int = Field(
        default=1024 * 1024, ge=1, description="largest file a download tool returns (base64 embedded)"
    )
    list_page_size: int = Field(default=100, ge=10, le=1000, description="tools per tools/list page")
    search_results: int = Field(default=8, ge=1, le=50, description="default hits of the search tool")
    stateless: bool = Field(default=False, description="2025-11-25 era without sessions (no GET stream)")
    shutdown_grace_seconds: float = Field(
        default=30.0, ge=0, description="how long shutdown waits for in-flight calls to finish"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = Field(default=True, description="structured JSON logs (false: plain text)")

    @model_validator(mode="after")
    def _check(self) -> ServerSettings:
        if not self.allowed_hosts:
            raise ValueError("allowed_hosts: must name at least one Host value")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit values (CLI options, the file) are passed as init kwargs and lose to nothing but
        # themselves; the environment overrides the file, which is what operators expect of containers.
        return (env_settings, init_settings)


def _describe(exc: ValidationError, file: Path | None) -> str:
    lines = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            where = f"{file}: key {loc!r}" if file else loc
            lines.append(f"{where}: unknown setting")
            continue
        name = loc.split(".")[0]
        where = f"{loc} ({ENV_PREFIX}{name.upper()}" + (f" or {file}" if file else "") + ")" if name else loc
        lines.append(f"{where}: {message}")
    return "invalid server settings:\n  " + "\n  ".join(lines)


def read_config_file(path: Path) -> dict[str, Any]:
    """The ``[server]`` table of a TOML file (or the whole file when it has no such table)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"{CONFIG_FILE_ENV}: cannot read {path} ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: invalid TOML ({exc})") from exc
    table = data.get("server", data)
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [server] must be a table")
    return table


def load_settings(config_file: Path | None = None, **overrides: Any) -> ServerSettings:
    """Settings from (lowest first) the TOML file, the environment, then non-``None`` ``overrides``."""
    if config_file is None and os.environ.get(CONFIG_FILE_ENV):
        config_file = Path(os.environ[CONFIG_FILE_ENV])
    values: dict[str, Any] = read_config_file(config_file) if config_file is not None else {}
    explicit = {k: v for k, v in overrides.items() if v is not None}
    try:
        settings = ServerSettings(**values)
        if not explicit:
            return settings
        # Command-line values win over everything; they are validated like any other source.
        return ServerSettings.model_validate({**settings.model_dump(), **explicit})
    except ValidationError as exc:
        raise SettingsError(_describe(exc, config_file)) from None
