"""Client settings: explicit values or ``TRUENAS_*`` environment variables, validated once.

Secrets come from an environment variable or a file (a Docker/Kubernetes secret mount), never from a
command-line value, and are held as ``SecretStr`` so they stay out of ``repr`` and logs. A secret file is
read again at every login so a rotated secret is picked up on reconnect.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic import ValidationError as PydanticValidationError

from truenas_mcp.client.errors import ClientConfigError
from truenas_mcp.client.transport import Endpoint, installed_release, parse_endpoint, versioned_path

# Field → environment variable. The env names are what operators see in error messages.
ENV_VARS: dict[str, str] = {
    "url": "TRUENAS_URL",
    "username": "TRUENAS_USERNAME",
    "api_key": "TRUENAS_API_KEY",
    "api_key_file": "TRUENAS_API_KEY_FILE",
    "password": "TRUENAS_PASSWORD",
    "password_file": "TRUENAS_PASSWORD_FILE",
    "ca_bundle": "TRUENAS_CA_BUNDLE",
    "verify_tls": "TRUENAS_VERIFY_TLS",
    "allow_insecure_transport": "TRUENAS_ALLOW_INSECURE_TRANSPORT",
    "call_timeout": "TRUENAS_CALL_TIMEOUT",
    "connect_timeout": "TRUENAS_CONNECT_TIMEOUT",
}
_BOOL_FIELDS = {"verify_tls", "allow_insecure_transport"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True, slots=True)
class Credential:
    """A resolved login secret. ``repr`` shows no secret."""

    kind: Literal["API_KEY", "PASSWORD"]
    username: str
    secret: SecretStr


def read_secret_file(path: Path, setting: str) -> SecretStr:
    """Read a secret file; surrounding whitespace (the trailing newline of ``echo``) is not part of it."""
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ClientConfigError(f"{setting}: cannot read secret file {path} ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ClientConfigError(f"{setting}: secret file {path} is not UTF-8 text") from exc
    if not value:
        raise ClientConfigError(f"{setting}: secret file {path} is empty")
    return SecretStr(value)


class ClientConfig(BaseModel):
    """How to reach and log in to one TrueNAS. Frozen: build a new one to change anything."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(
        description="HOST[:PORT] or wss://HOST[:PORT][/PATH]; without a path, /api/v<release of the tools>"
    )
    # The API release spoken when ``url`` has no path; None: the release of the installed tool catalogue.
    api_release: str | None = None
    username: str | None = None
    api_key: SecretStr | None = None
    api_key_file: Path | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    verify_tls: bool = True
    ca_bundle: Path | None = None
    allow_insecure_transport: bool = Field(
        default=False,
        description="lab use only: send credentials over plain ws:// to a non-loopback host",
    )
    call_timeout: float = Field(default=60.0, gt=0)
    connect_timeout: float = Field(default=10.0, gt=0)
    # The middleware runs 10 calls per connection at once and queues 20 more (utils/lock.py).
    max_in_flight: int = Field(default=10, ge=1, le=10)
    # core.get_methods alone is ~5 MB; leave room for big query answers.
    max_message_size: int = Field(default=64 * 1024 * 1024, ge=1024 * 1024)
    reconnect_initial_delay: float = Field(default=0.5, gt=0)
    reconnect_max_delay: float = Field(default=30.0, gt=0)
    ping_interval: float | None = Field(default=20.0, gt=0)
    compression: bool = False

    @model_validator(mode="after")
    def _check(self) -> Self:
        _ = self.endpoint  # raises ClientConfigError naming TRUENAS_URL
        given = [
            name for name in ("api_key", "api_key_file", "password", "password_file") if getattr(self, name)
        ]
        if len(given) > 1:
            names = " and ".join(ENV_VARS[name] for name in given)
            raise ValueError(f"{names} are all set; give exactly one credential")
        if given and not self.username:
            raise ValueError(
                f"{ENV_VARS['username']} is required with {ENV_VARS[given[0]]}: since 25.04 API keys belong "
                "to a user and auth.login_ex needs the owning username"
            )
        for name in ("api_key_file", "password_file"):
            path = getattr(self, name)
            if path is not None:
                read_secret_file(path, ENV_VARS[name])
        if self.ca_bundle is not None:
            if not self.verify_tls:
                raise ValueError(
                    f"{ENV_VARS['ca_bundle']} is set but {ENV_VARS['verify_tls']}=false turns verification "
                    "off; choose one"
                )
            if not self.ca_bundle.is_file():
                raise ValueError(f"{ENV_VARS['ca_bundle']}: {self.ca_bundle} is not a readable file")
        if self.reconnect_max_delay < self.reconnect_initial_delay:
            raise ValueError("reconnect_max_delay must not be smaller than reconnect_initial_delay")
        return self

    @property
    def endpoint(self) -> Endpoint:
        """Where to connect: ``url`` with the tools' versioned API path when it names none."""
        return parse_endpoint(self.url, versioned_path(self.api_release or installed_release()))

    @property
    def ws_url(self) -> str:
        return self.endpoint.ws_url

    def credential(self) -> Credential | None:
        """The login secret, re-reading secret files so rotation takes effect on the next login."""
        if self.username is None:
            return None
        if self.api_key is not None:
            return Credential("API_KEY", self.username, self.api_key)
        if self.api_key_file is not None:
            return Credential(
                "API_KEY", self.username, read_secret_file(self.api_key_file, ENV_VARS["api_key_file"])
            )
        if self.password is not None:
            return Credential("PASSWORD", self.username, self.password)
        if self.password_file is not None:
            secret = read_secret_file(self.password_file, ENV_VARS["password_file"])
            return Credential("PASSWORD", self.username, secret)
        return None

    @classmethod
    def build(cls, **values: Any) -> ClientConfig:
        """Construct, turning pydantic's errors into one ``ClientConfigError`` naming the env variables."""
        try:
            return cls(**values)
        except PydanticValidationError as exc:
            raise ClientConfigError(_describe(exc)) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ClientConfig:
        """Settings from ``TRUENAS_*`` variables; non-``None`` keyword overrides win (CLI options)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, var in ENV_VARS.items():
            raw = env.get(var)
            if raw is None or raw == "":
                continue
            values[name] = _parse_bool(var, raw) if name in _BOOL_FIELDS else raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "url" not in values:
            raise ClientConfigError(
                f"{ENV_VARS['url']} is not set (expected HOST or wss://HOST[/api/vRELEASE])"
            )
        return cls.build(**values)


def _parse_bool(var: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ClientConfigError(f"{var}={raw!r} is not a boolean (use true/false, yes/no, 1/0, on/off)")


def _describe(exc: PydanticValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"])
        where = f"{loc} ({ENV_VARS[loc]})" if loc in ENV_VARS else loc or "settings"
        message = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {message}")
    return "invalid TrueNAS client settings: " + "; ".join(lines)
