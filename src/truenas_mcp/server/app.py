"""The MCP server and its ASGI application: profiles on their URLs, health, readiness and metrics.

One low-level SDK ``Server`` (exact generated schemas, no SDK-side validation) and one session manager
serve every profile; the URL picks the profile. A small ASGI wrapper per route stores the profile in the
request scope, where the handlers read it, so a legacy session opened on ``/mcp`` still gets read-only
treatment when it posts to ``/mcp/readonly``. Both protocol eras (2025-11-25 and 2026-07-28) are served by
the SDK's session manager from the same routes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any
from urllib.parse import urlparse

import mcp_types as types
import orjson
from mcp.server.caching import CacheHint
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import RequestBodyLimitMiddleware, TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from truenas_mcp import __version__
from truenas_mcp.catalog import ToolSpec
from truenas_mcp.server import builtin, portable, presentation
from truenas_mcp.server.access import Principal, principal_of
from truenas_mcp.server.auth import PROFILE_CLAIM, BearerAuthMiddleware, build_verifier, metadata_routes
from truenas_mcp.server.authz import READONLY_ADMIN, SCOPE_PREFIX, known_roles
from truenas_mcp.server.calls import CallContext, ToolRuntime, error_result
from truenas_mcp.server.confirm import NO_CHANNEL, ConfirmChannel
from truenas_mcp.server.credentials import MissingCredential
from truenas_mcp.server.direct import DirectAnswers
from truenas_mcp.server.hygiene import HostOriginMiddleware, RateLimitMiddleware
from truenas_mcp.server.logs import RequestIdMiddleware
from truenas_mcp.server.metrics import CONTENT_TYPE
from truenas_mcp.server.metrics import authorized as metrics_authorized
from truenas_mcp.server.profiles import PATH_ALL, PATH_DEFAULT, PATH_READONLY, Profile, ProfileError
from truenas_mcp.server.results import ToolResult
from truenas_mcp.server.sessions import CappedSessionManager, SessionCapMiddleware
from truenas_mcp.server.store import RateLimiter, Store, StoreUnavailable
from truenas_mcp.server.versions import ProtocolVersionMiddleware

log = logging.getLogger("truenas_mcp.server")

PROFILE_SCOPE_KEY = "truenas_mcp.profile"
FAMILY_SCOPE_KEY = "truenas_mcp.schema_family"
_LIST_TTL_MS = 300_000
# A tools/list page ends at list_page_size tools or this many bytes of definitions, whichever comes
# first: a client that re-reads the first page before calling a tool it has not seen (the Python SDK
# does, to validate the answer) pays this much, not the whole catalogue's share of a 100-tool page.
# Large enough for the default and read-only profiles to stay one page.
LIST_PAGE_BYTES = 64 * 1024


def instructions(runtime: ToolRuntime) -> str:
    s = runtime.settings
    return (
        f"Tools for a TrueNAS SCALE {runtime.catalog.truenas_version} system. Query tools return at most "
        f"{s.default_limit} rows unless you pass options.limit; pass options.select (the fields you need) "
        f"and filters to keep answers small. Answers are capped at {s.max_answer_bytes} bytes; a `page` "
        "object says how to get the rest. Long jobs return a job handle: follow it with job_wait. "
        "On /mcp and /mcp/readonly, search_tools finds tools beyond the listed ones."
    )


class Listings:
    """Tool definitions per profile, built once and filtered per caller by the filter chain.

    This is the one place a listed tool definition is produced: listings are deterministic and
    byte-stable, and only tools the chain offers to the caller appear.
    """

    def __init__(self, runtime: ToolRuntime) -> None:
        self._runtime = runtime
        self._cache: dict[tuple[str, str | None], list[tuple[ToolSpec | None, dict[str, Any]]]] = {}
        # Encoded size per listed definition, keyed by identity (the definition is kept with it, so an
        # identity is never reused while its entry exists).
        self._sizes: dict[int, tuple[dict[str, Any], int]] = {}
        self.portable = portable.PortableTools()

    def definitions(
        self, profile: Profile, family: portable.Family | None = None
    ) -> list[tuple[ToolSpec | None, dict[str, Any]]]:
        cached = self._cache.get((profile.name, family))
        if cached is None and family is not None:
            cached = [(spec, self.portable.definition(family, d)) for spec, d in self.definitions(profile)]
            self._cache[(profile.name, family)] = cached
        if cached is None:
            by_name = self._runtime.catalog.by_name
            entries: list[tuple[ToolSpec | None, dict[str, Any]]] = []
            for name in profile.listed:
                spec = by_name[name]
                entries.append((spec, presentation.listed(spec, self._runtime.catalog.by_method)))
            entries += [(None, b.definition) for b in profile.builtins]
            entries.sort(key=lambda entry: str(entry[1]["name"]))
            cached = self._cache[(profile.name, None)] = entries
        return cached

    def page(
        self,
        profile: Profile,
        principal: Principal,
        cursor: str | None,
        family: portable.Family | None = None,
    ) -> dict[str, Any]:
        chain = self._runtime.chain
        entries = [
            definition
            for spec, definition in self.definitions(profile, family)
            if spec is None or chain.offers(profile, principal, spec)
        ]
        offset = _decode_cursor(profile, cursor) if cursor is not None else 0
        if offset > len(entries):
            raise MCPError(types.INVALID_PARAMS, "invalid cursor: past the end of the tool list")
        end = offset + self._fitting(entries[offset : offset + self._runtime.settings.list_page_size])
        result: dict[str, Any] = {"tools": entries[offset:end]}
        if end < len(entries):
            result["nextCursor"] = _encode_cursor(profile, end)
        return result

    def _fitting(self, entries: list[dict[str, Any]]) -> int:
        """How many of ``entries`` fit in one page (at least one, so paging always advances)."""
        total = 0
        for count, definition in enumerate(entries):
            known = self._sizes.get(id(definition))
            if known is None:
                size = len(json.dumps(definition, separators=(",", ":")).encode())
                known = self._sizes[id(definition)] = (definition, size)
            total += known[1]
            if total > LIST_PAGE_BYTES and count:
                return count
        return len(entries)


def _encode_cursor(profile: Profile, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{profile.name}\n{offset}".encode()).decode("ascii")


def _decode_cursor(profile: Profile, cursor: str) -> int:
    try:
        name, _, offset = base64.urlsafe_b64decode(cursor.encode("ascii")).decode().partition("\n")
        value = int(offset)
    except (ValueError, UnicodeError):
        raise MCPError(types.INVALID_PARAMS, "invalid cursor") from None
    if name != profile.name or value < 0:
        raise MCPError(types.INVALID_PARAMS, "invalid cursor: it belongs to another tool list")
    return value


def profile_of(ctx: ServerRequestContext[Any, Any], fallback: Profile) -> Profile:
    request = ctx.request
    if isinstance(request, Request):
        profile = request.scope.get("state", {}).get(PROFILE_SCOPE_KEY)
        if isinstance(profile, Profile):
            return profile
    return fallback


def family_of(ctx: ServerRequestContext[Any, Any]) -> portable.Family | None:
    """The schema family the request's URL asked for (``?schema=``), if any."""
    request = ctx.request
    if isinstance(request, Request):
        family = request.scope.get("state", {}).get(FAMILY_SCOPE_KEY)
        if family in portable.FAMILIES:
            return family
    return None


def _complete(ctx: ServerRequestContext[Any, Any], result: dict[str, Any]) -> dict[str, Any]:
    # 2026-07-28 results must say they are complete (not an input request); older eras have no such field.
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        result.setdefault("resultType", "complete")
    return result


def confirm_channel(
    ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
) -> ConfirmChannel:
    """How this call's client can confirm a destructive call: MRTR on 2026-07-28, elicitation on
    2025-11-25, in both cases only when the client declared that it handles elicitation."""
    capabilities = ctx.session.client_capabilities
    can_elicit = capabilities is not None and capabilities.elicitation is not None
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return ConfirmChannel(
            input_required=can_elicit,
            input_responses=params.input_responses,
            request_state=params.request_state,
        )
    if not (can_elicit and ctx.session.can_send_request):
        return NO_CHANNEL
    session, related = ctx.session, ctx.request_id

    async def elicit(message: str, schema: dict[str, Any]) -> tuple[str, Any]:
        answer = await session.elicit_form(message, schema, related_request_id=related)
        return answer.action, answer.content

    return ConfirmChannel(elicit=elicit)


def _client_name(ctx: ServerRequestContext[Any, Any]) -> str | None:
    client_params = ctx.session.client_params
    info = getattr(client_params, "client_info", None)
    name = getattr(info, "name", None)
    return name if isinstance(name, str) else None


def _state_principal(ctx: ServerRequestContext[Any, Any]) -> str | None:
    """Binds 2026-07-28 ``requestState`` to the caller (issuer, subject, client) of the HTTP request."""
    return principal_of(ctx.request if isinstance(ctx.request, Request) else None).key


def _builtin_schema(profile: Profile, name: str) -> dict[str, Any] | None:
    """The input schema of one of the server's own tools on ``profile``."""
    for entry in profile.builtins:
        if entry.name == name:
            schema: dict[str, Any] = entry.definition["inputSchema"]
            return schema
    return None


def call_arguments(
    runtime: ToolRuntime,
    listings: Listings,
    family: portable.Family | None,
    name: str,
    arguments: Mapping[str, Any] | None,
) -> Mapping[str, Any] | ToolResult | None:
    """A call's arguments in the generated schema's shape: a portable schema family's arguments are read
    back (``?schema=``); an error result when they cannot be."""
    if family is None or arguments is None:
        return arguments

    tool = runtime.catalog.by_name.get(name)
    served = (
        presentation.input_schema(tool)
        if tool is not None
        else _builtin_schema(runtime.profiles.default, name)
    )
    try:
        return listings.portable.arguments(family, name, served, dict(arguments))
    except portable.PortableError as exc:
        return error_result(f"{name}: {exc}")


def build_server(
    runtime: ToolRuntime, *, fallback: Profile | None = None, listings: Listings | None = None
) -> Server[Any]:
    """The SDK server. ``fallback`` is the profile of requests that do not come over HTTP (in-process)."""
    default = fallback or runtime.profiles.default
    listings = listings or Listings(runtime)

    async def on_list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> dict[str, Any]:
        profile = profile_of(ctx, default)
        cursor = params.cursor if params is not None else None
        return _complete(ctx, listings.page(profile, principal_of(ctx.request), cursor, family_of(ctx)))

    async def on_call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> dict[str, Any]:
        arguments = call_arguments(runtime, listings, family_of(ctx), params.name, params.arguments)
        if isinstance(arguments, ToolResult):
            return _complete(ctx, arguments)
        # The answer's bytes count until the SDK has it; it encodes and writes it after this returns.
        with runtime.answers.lease() as lease:
            call = CallContext(
                profile=profile_of(ctx, default),
                principal=principal_of(ctx.request),
                progress=ctx.session.report_progress,
                channel=confirm_channel(ctx, params),
                client_name=_client_name(ctx),
                lease=lease,
            )
            return _complete(ctx, await runtime.call(call, params.name, arguments))

    def input_schema(name: str) -> dict[str, Any] | None:
        tool = runtime.catalog.by_name.get(name)
        return tool.input_schema if tool is not None else _builtin_schema(default, name)

    server: Server[Any] = Server(
        "truenas-mcp",
        version=__version__,
        title="TrueNAS SCALE",
        instructions=instructions(runtime),
        cache_hints={"tools/list": CacheHint(ttl_ms=_LIST_TTL_MS, scope="private")},
        get_tool_input_schema=input_schema,
        on_list_tools=on_list_tools,  # type: ignore[arg-type]
        on_call_tool=on_call_tool,  # type: ignore[arg-type]
    )
    # Confirmation state sent to 2026-07-28 clients comes back through them: seal it (AES-GCM, bound to
    # method, tool, arguments and caller) so a client can neither read nor alter it.
    security = RequestStateSecurity(
        keys=[runtime.request_state_key],
        ttl=runtime.settings.confirm_ttl_seconds,
        bind_principal=_state_principal,
    )
    server.middleware.append(RequestStateBoundary(security, default_audience="truenas-mcp"))
    return server


def narrower(profile: Profile, bound: Profile) -> bool:
    """Whether ``profile`` offers nothing that ``bound`` does not: a subset of its tools, and read-only
    when ``bound`` is."""
    return profile.reachable <= bound.reachable and (profile.read_only or not bound.read_only)


class ProfileRoute:
    """ASGI endpoint: resolve the URL's profile into the scope, check that a TrueNAS credential serves
    the caller, then hand over to the MCP transport.

    A token minted for one profile (``token create --profile``) is refused with 403 on a profile that
    offers more than that one.
    """

    def __init__(
        self,
        resolve: Callable[[Scope], Profile],
        transport: StreamableHTTPASGIApp,
        named: Callable[[str], Profile],
        runtime: ToolRuntime,
        direct: DirectAnswers,
    ) -> None:
        self._resolve = resolve
        self._transport = transport
        self._named = named
        self._runtime = runtime
        self._direct = direct

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            profile = self._resolve(scope)
        except ProfileError as exc:
            await JSONResponse({"error": str(exc)}, status_code=404)(scope, receive, send)
            return
        refusal = self._bound_refusal(scope, profile)
        if refusal is not None:
            body = {"error": "insufficient_scope", "error_description": refusal}
            await JSONResponse(body, status_code=403)(scope, receive, send)
            return
        runtime = self._runtime
        try:
            runtime.pool.tier_for(runtime.authority.roles(principal_of(Request(scope))))
        except MissingCredential as exc:
            # Refused before the MCP session exists: no call of this token could run over any credential.
            body = {"error": "insufficient_scope", "error_description": str(exc)}
            header = f'Bearer error="insufficient_scope", error_description="{_header_safe(str(exc))}"'
            response = JSONResponse(body, status_code=403, headers={"WWW-Authenticate": header})
            await response(scope, receive, send)
            return
        try:
            family = portable.family_of(Request(scope).query_params.get(portable.QUERY_FLAG))
        except portable.PortableError as exc:
            await JSONResponse({"error": str(exc)}, status_code=400)(scope, receive, send)
            return
        scope.setdefault("state", {})[PROFILE_SCOPE_KEY] = profile
        scope["state"][FAMILY_SCOPE_KEY] = family
        await self._direct(scope, receive, send, profile, self._transport)

    def _bound_refusal(self, scope: Scope, profile: Profile) -> str | None:
        token = getattr(scope.get("user"), "access_token", None)
        bound_name = (getattr(token, "claims", None) or {}).get(PROFILE_CLAIM)
        if bound_name is None:
            return None
        try:
            bound = self._named(str(bound_name))
        except ProfileError:
            return f"the token is bound to profile {bound_name!r}, which this server does not have"
        if narrower(profile, bound):
            return None
        return (
            f"the token is bound to profile {bound.name!r} ({bound.path}); profile {profile.name!r} "
            f"({profile.path}) offers more, so it is refused here"
        )


def build_app(runtime: ToolRuntime, *, own_client: bool = True) -> Starlette:
    """The ASGI application. With ``own_client`` the app starts the TrueNAS client (in the background,
    so the server answers health checks while TrueNAS is still unreachable) and closes it on shutdown."""
    settings = runtime.settings
    verifier = build_verifier(settings) if settings.auth == "jwt" else None
    listings = Listings(runtime)
    server = build_server(runtime, listings=listings)
    manager = CappedSessionManager(
        app=server,
        stateless=settings.stateless,
        max_sessions=settings.max_sessions,
        per_principal=settings.max_sessions_per_principal,
        session_idle_timeout=settings.session_idle_seconds,
        max_request_body_size=settings.max_body_bytes,
        security_settings=TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=list(settings.allowed_hosts),
            allowed_origins=list(settings.allowed_origins),
        ),
    )
    transport = StreamableHTTPASGIApp(manager)
    profiles = runtime.profiles

    def direct_arguments(scope: Scope, name: str, arguments: dict[str, Any] | None) -> Any:
        family = scope.get("state", {}).get(FAMILY_SCOPE_KEY)
        return call_arguments(runtime, listings, family, name, arguments)

    # Encoded once: the stamp is the same on every 2026-07-28 answer.
    stamp = orjson.Fragment(orjson.dumps(server.server_info_stamp))
    direct = DirectAnswers(runtime.catalog, manager, runtime.call, direct_arguments, stamp, runtime.answers)

    def route(resolve: Callable[[Scope], Profile]) -> ProfileRoute:
        return ProfileRoute(resolve, transport, profiles.named, runtime, direct)

    def toolsets(scope: Scope) -> Profile:
        return profiles.toolsets(str(scope.get("path_params", {}).get("toolsets", "")))

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        ready, body = runtime.pool.readiness()
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(request: Request) -> Response:
        token_file = settings.metrics_token_file
        if token_file is not None and not metrics_authorized(
            request.headers.get("authorization"), token_file
        ):
            return JSONResponse(
                {"error": "unauthorized", "error_description": "/metrics needs its bearer token"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return Response(runtime.metrics.render(), media_type=CONTENT_TYPE)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if own_client:
            runtime.pool.start()
        await _announce_store(runtime.store, settings.replicas)
        try:
            async with manager.run():
                log.info(
                    "serving",
                    extra={
                        "tools": len(runtime.catalog),
                        "profiles": ["default", "readonly", "all"],
                        **runtime.pool.describe(),
                    },
                )
                yield
                await runtime.drain(settings.shutdown_grace_seconds)
        finally:
            if own_client:
                with contextlib.suppress(Exception):
                    await asyncio.shield(runtime.pool.close())
            with contextlib.suppress(Exception):
                await runtime.store.close()

    roles = known_roles(runtime.catalog)
    scopes = {SCOPE_PREFIX + role for role in roles}
    middleware = [
        Middleware(RequestIdMiddleware),
        Middleware(
            HostOriginMiddleware,
            allowed_hosts=settings.allowed_hosts,
            allowed_origins=settings.allowed_origins,
        ),
        Middleware(RequestBodyLimitMiddleware, max_body_size=settings.max_body_bytes),
        Middleware(ProtocolVersionMiddleware, prefix=PATH_DEFAULT),
    ]
    extra_routes: list[Route] = []
    if verifier is not None:
        failures = None
        if settings.auth_failures_per_minute > 0:
            failures = RateLimiter(
                runtime.store,
                settings.auth_failures_per_minute,
                settings.auth_failure_burst,
                kind="auth-failure",
            )
        middleware.append(
            Middleware(
                BearerAuthMiddleware,
                verifier=verifier,
                protected=PATH_DEFAULT,
                minimum_scope=SCOPE_PREFIX + READONLY_ADMIN,
                has_role=lambda granted: not scopes.isdisjoint(granted),
                failures=failures,
            )
        )
        servers = settings.authorization_servers or [_issuer_url(verifier.issuer, verifier.audience)]
        extra_routes = metadata_routes(verifier.audience, servers, scopes)
    else:
        log.warning(
            "AUTHENTICATION IS OFF (TRUENAS_MCP_AUTH=none): every local process can act as FULL_ADMIN on "
            "TrueNAS through this server; use it for development on loopback only",
            extra={"host": settings.host},
        )
    if settings.rate_limit_per_minute > 0:
        limiter = RateLimiter(
            runtime.store, settings.rate_limit_per_minute, settings.rate_limit_burst, kind="requests"
        )
        middleware.append(Middleware(RateLimitMiddleware, limiter=limiter, protected=PATH_DEFAULT))
    middleware.append(Middleware(SessionCapMiddleware, manager=manager, protected=PATH_DEFAULT))

    return Starlette(
        routes=[
            *extra_routes,
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route(PATH_DEFAULT, route(lambda _: profiles.default)),
            Route(PATH_READONLY, route(lambda _: profiles.readonly)),
            Route(PATH_ALL, route(lambda _: profiles.all)),
            Route("/mcp/x/{toolsets}", route(toolsets)),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )


__all__ = ["build_app", "build_server", "builtin"]


async def _announce_store(store: Store, replicas: int) -> None:
    """Say at start-up where shared state lives, and whether the shared store answers."""
    if not store.shared:
        log.info(
            "single replica: confirmations, rate limits and job owners live in this process's memory; "
            "set TRUENAS_MCP_REDIS_URL before running more than one replica"
        )
        return
    try:
        await store.ping()
    except StoreUnavailable as exc:
        # Starting anyway keeps reads served; confirmations refuse until the store answers.
        log.error("shared store unreachable at start-up", extra={"error": str(exc), "replicas": replicas})
        return
    log.info("shared state in " + store.describe(), extra={"replicas": replicas})


def settle_heap() -> None:
    """Exempt what start-up built (catalog, schemas, models: most of the heap, and permanent) from every
    later collection, so no collection of an older generation walks it again.

    For a process that is the server (``truenas-mcp serve``), called once the app is built: in a process
    that builds apps repeatedly (tests, the demo) freezing would keep each one's leftovers forever. The
    collector's thresholds stay CPython's: raising the youngest one measured no better (docs/profiling.md).
    """
    gc.collect()
    gc.freeze()


def _header_safe(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', "'")


def _issuer_url(issuer: str, resource: str) -> str:
    """RFC 9728 names authorization servers by URL; clients such as mcp-remote parse them as URLs.

    A self-issued setup (``truenas-mcp token create``, default issuer ``truenas-mcp``) has no separate
    authorization server, so this server's own origin stands in for it.
    """
    parsed = urlparse(issuer)
    if parsed.scheme in ("http", "https") and parsed.netloc:
        return issuer
    origin = urlparse(resource)
    return f"{origin.scheme}://{origin.netloc}"
