"""Server settings: ``TRUENAS_MCP_*`` environment variables over an optional TOML file, validated once.

Configuration as written (``ServerSettings``, ``extra="forbid"``) is checked at start-up and every bad or
unknown setting is reported in one error naming the environment variable or file key. The TrueNAS
connection itself is configured by the client's own ``TRUENAS_*`` variables (``ClientConfig.from_env``),
so a credential has exactly one way in.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "TRUENAS_MCP_"
SCOPE_PREFIX = "truenas:"
CONFIG_FILE_ENV = "TRUENAS_MCP_CONFIG"
# Variables with the prefix that other parts of the project read; they are not server settings, but
# their presence in a server's environment is not a mistake either.
OTHER_PREFIXED_ENV = frozenset(
    {
        CONFIG_FILE_ENV,
        "TRUENAS_MCP_SPEC",  # the API recording the simulator and generator read
        "TRUENAS_MCP_SPEC_DIR",
        "TRUENAS_MCP_PUBLISHED_PORT",  # docker-compose.yml: the host port it publishes
        "TRUENAS_MCP_TEST_DEBIAN_MIRROR",  # the image tests' package mirror
        "TRUENAS_MCP_TOKEN",  # a client's bearer token, as docs/clients.md has clients expand it
    }
)


class SettingsError(ValueError):
    """One or more settings are missing or invalid; the message names each of them."""


# Signature algorithms a deployment may pin. ``none`` is not among them and never will be.
JWT_ALGORITHMS = frozenset(
    {
        "HS256",
        "HS384",
        "HS512",
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "ES512",
    }
    | {"EdDSA"}
)
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ArgumentRule(BaseModel):
    """Deny calls of matching tools when an argument has a matching value.

    ``tool`` is a glob over tool names (``pool_dataset_delete``) or TrueNAS methods (``pool.dataset.delete``);
    ``argument`` is a dotted path into the tool's arguments (``id``, ``options.recursive``); ``values`` are
    globs over the argument's value as text (``tank``, ``tank/*``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tool: str = Field(min_length=1)
    argument: str = Field(min_length=1)
    values: list[str] = Field(min_length=1)
    reason: str = ""


class CredentialSetting(BaseModel):
    """One TrueNAS credential of the per-role mode: a TrueNAS user's API key and the roles that user holds.

    ``roles`` are the TrueNAS roles the user's privilege grants (``READONLY_ADMIN``, ``SHARING_ADMIN``,
    ``FULL_ADMIN`` or finer roles); a call runs over the credential with the fewest roles that include every
    ``truenas:<ROLE>`` scope of the caller's token, so TrueNAS itself checks what that user may do.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$", description="label in logs and /readyz")
    roles: list[str] = Field(min_length=1, description="TrueNAS roles of this user's privilege")
    username: str = Field(min_length=1, description="the TrueNAS user owning the key")
    api_key_file: Path = Field(description="file holding the user's API key (<id>-<secret>)")

    @model_validator(mode="after")
    def _check(self) -> CredentialSetting:
        bad = sorted(role for role in self.roles if not role.isupper() or role.startswith(SCOPE_PREFIX))
        if bad:
            raise ValueError(
                f"roles: {', '.join(bad)} are not TrueNAS role names (write READONLY_ADMIN, not truenas:...)"
            )
        if not self.api_key_file.is_file():
            raise ValueError(f"api_key_file: {self.api_key_file} is not a readable file")
        return self


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
    answer_bytes_in_flight: int = Field(
        default=256 * 1024 * 1024,
        ge=64 * 1024,
        description=(
            "bytes of encoded answers the server holds at once; past it, query answers are cut (their page "
            "note says where to continue) and other answers refused with a note to retry"
        ),
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

    # Authentication (bearer JWTs; see docs/security.md) -------------------------------------------
    auth: Literal["jwt", "none"] = Field(
        default="jwt", description="'jwt' (bearer tokens, the default) or 'none' (development, loopback only)"
    )
    jwt_audience: str | None = Field(
        default=None,
        description="this server's resource URL, the `aud` tokens must carry (default http://HOST:PORT/mcp)",
    )
    jwt_issuer: str | None = Field(
        default=None, description="the `iss` tokens must carry (default 'truenas-mcp' with a shared secret)"
    )
    jwt_secret_file: Path | None = Field(default=None, description="HS256 shared secret (>= 32 bytes)")
    jwt_public_key_file: Path | None = Field(default=None, description="PEM public key (RSA, EC, Ed25519)")
    jwks_url: str | None = Field(default=None, description="identity provider's JWKS URL (https)")
    jwt_algorithms: list[str] = Field(
        default_factory=list, description="accepted signature algorithms (default: from the key type)"
    )
    jwt_leeway_seconds: float = Field(default=30.0, ge=0, le=300, description="clock skew allowed")
    jwks_cache_seconds: float = Field(default=300.0, ge=10, le=86_400, description="JWKS refresh interval")
    authorization_servers: list[str] = Field(
        default_factory=list, description="issuers named in the RFC 9728 metadata (default: jwt_issuer)"
    )

    # Authorization ------------------------------------------------------------------------------
    tool_allow: list[str] = Field(
        default_factory=lambda: ["*"], description="globs over tool names or methods that may be offered"
    )
    tool_deny: list[str] = Field(
        default_factory=lambda: ["core.bulk", "auth.*"],
        description="globs over tool names or methods never offered (wins over tool_allow)",
    )
    argument_deny: list[ArgumentRule] = Field(
        default_factory=list, description="calls refused for particular argument values"
    )
    destructive: Literal["confirm", "allow", "disable"] = Field(
        default="confirm", description="destructive tools: confirm each call, allow, or disable entirely"
    )
    confirm_waive: list[str] = Field(
        default_factory=list, description="globs of tools whose calls need no confirmation"
    )
    confirm_secret_file: Path | None = Field(
        default=None, description="key for confirmation tokens (shared by replicas; default per process)"
    )
    confirm_ttl_seconds: float = Field(default=300.0, ge=10, le=3600, description="confirmation lifetime")

    credentials: list[CredentialSetting] = Field(
        default_factory=list,
        description=(
            "per-role mode: one TrueNAS user API key per role tier (JSON list of {name, roles, username, "
            "api_key_file}); empty: every call uses the single TRUENAS_* credential"
        ),
    )

    # Network hygiene ----------------------------------------------------------------------------
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="largest HTTP request body accepted"
    )
    rate_limit_per_minute: float = Field(
        default=120.0, ge=0, description="sustained MCP requests per minute per caller (0: unlimited)"
    )
    rate_limit_burst: int = Field(default=30, ge=1, description="requests a caller may send at once")
    tls_cert_file: Path | None = Field(default=None, description="PEM certificate (chain) to serve https")
    tls_key_file: Path | None = Field(default=None, description="PEM private key of tls_cert_file")
    forwarded_allow_ips: list[str] = Field(
        default_factory=list, description="reverse proxies whose X-Forwarded-* headers are trusted"
    )

    # Audit --------------------------------------------------------------------------------------
    audit_log: str = Field(default="-", description="'-' (stdout), 'off', or a file path (rotated)")
    audit_max_bytes: int = Field(default=10 * 1024 * 1024, ge=4096, description="audit file rotation size")
    audit_backups: int = Field(default=5, ge=0, le=100, description="rotated audit files kept")

    # Token lifetime and type (token hygiene) -----------------------------------------------------
    jwt_max_lifetime_seconds: int = Field(
        default=31 * 86_400,
        ge=60,
        le=366 * 86_400,
        description="tokens whose `exp` lies further ahead (or further after `iat`) are refused",
    )
    jwt_require_typ: bool | None = Field(
        default=None,
        description="require header `typ: at+jwt` (RFC 9068); default: required with jwt_secret_file",
    )

    # Sessions, failed logins, metrics and shared state across replicas ---------------------------
    max_sessions: int = Field(
        default=1000, ge=1, description="2025-11-25 sessions open at once on one replica (all callers)"
    )
    max_sessions_per_principal: int = Field(
        default=16, ge=1, description="2025-11-25 sessions one caller (token issuer + subject) may hold open"
    )
    session_idle_seconds: float = Field(
        default=900.0,
        gt=0,
        le=86_400,
        description="a 2025-11-25 session without requests is closed after this",
    )
    auth_failures_per_minute: float = Field(
        default=10.0, ge=0, description="failed authentications per minute per client address (0: unlimited)"
    )
    auth_failure_burst: int = Field(
        default=20, ge=1, description="failed authentications a client address may make before 429"
    )
    metrics_token_file: Path | None = Field(
        default=None, description="file holding a token /metrics requires as `Authorization: Bearer`"
    )
    redis_url: str | None = Field(
        default=None,
        description="shared store for replicas: redis://HOST:PORT/DB or rediss:// (unset: one replica)",
    )
    redis_password_file: Path | None = Field(
        default=None, description="file holding the Redis password (keeps it out of redis_url)"
    )
    replicas: int = Field(
        default=1,
        ge=1,
        description="most replicas serving at once (HPA maxReplicas); above 1 needs redis_url, "
        "confirm_secret_file and jwt_audience",
    )

    @model_validator(mode="after")
    def _check(self) -> ServerSettings:
        if not self.allowed_hosts:
            raise ValueError("allowed_hosts: must name at least one Host value")
        if self.auth == "none" and not is_loopback(self.host):
            raise ValueError(
                f"auth: 'none' serves without authentication and is only allowed on a loopback address, "
                f"not host {self.host!r}; configure JWT authentication to listen elsewhere"
            )
        bad = sorted(set(self.jwt_algorithms) - JWT_ALGORITHMS)
        if bad:
            raise ValueError(
                f"jwt_algorithms: unsupported {', '.join(bad)}; "
                f"choose from {', '.join(sorted(JWT_ALGORITHMS))}"
            )
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file: set both to serve https, or neither")
        if self.jwks_url is not None and not self.jwks_url.startswith(("https://", "http://")):
            raise ValueError("jwks_url: must be an http(s) URL")
        if self.redis_url is not None and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("redis_url: must be a redis://, rediss:// or unix:// URL")
        if self.replicas > 1:
            # What every replica must share, or a call confirmed or a token minted for one fails on another.
            missing = []
            if self.redis_url is None:
                missing.append(f"a shared store; set redis_url ({ENV_PREFIX}REDIS_URL)")
            if self.confirm_secret_file is None:
                missing.append(
                    f"one confirmation key; set confirm_secret_file ({ENV_PREFIX}CONFIRM_SECRET_FILE)"
                )
            if self.auth == "jwt" and self.jwt_audience is None:
                missing.append(f"one token audience; set jwt_audience ({ENV_PREFIX}JWT_AUDIENCE)")
            if missing:
                raise ValueError(
                    f"replicas: {self.replicas} replicas need "
                    + "; and ".join(missing)
                    + ". Or set replicas to 1"
                )
        names = [c.name for c in self.credentials]
        if len(set(names)) != len(names):
            raise ValueError("credentials: each credential needs a distinct name")
        role_sets = [frozenset(c.roles) for c in self.credentials]
        if len(set(role_sets)) != len(role_sets):
            raise ValueError(
                "credentials: two credentials hold the same roles; which one to use would be a guess"
            )
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


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One line per ``TRUENAS_MCP_*`` variable that names no setting, with the closest known name.

    pydantic-settings reads only the variables it knows and ignores the rest, so a typo would otherwise
    leave a setting at its default without a word.
    """
    known = {ENV_PREFIX + name.upper() for name in ServerSettings.model_fields} | OTHER_PREFIXED_ENV
    lines = []
    for variable in sorted(environ):
        name = variable.upper()
        if not name.startswith(ENV_PREFIX) or name in known:
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        lines.append(f"{variable}: unknown setting{hint}")
    return lines


def load_settings(config_file: Path | None = None, **overrides: Any) -> ServerSettings:
    """Settings from (lowest first) the TOML file, the environment, then non-``None`` ``overrides``.

    An unknown ``TRUENAS_MCP_*`` variable is an error like an unknown key of the file.
    """
    unknown = unknown_variables(os.environ)
    if unknown:
        raise SettingsError("invalid server settings:\n  " + "\n  ".join(unknown))
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
