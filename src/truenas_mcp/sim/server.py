"""The simulated TrueNAS box: one listening port serving every endpoint of a 25.04.2 middleware.

``Simulator`` is the engine (the call path with authentication, authorization, rate limit, validation,
jobs and events) and ``Simulator.serve`` puts it on a socket::

    async with Simulator().serve("127.0.0.1") as running:
        running.url             # ws://127.0.0.1:PORT/api/current
        running.admin_api_key   # API key of truenas_admin (FULL_ADMIN)
        running.faults.delay_seconds = 0.5   # takes effect on the next message

Behaviour of individual methods lives in ``services`` (hand-written) and ``engine`` (every CRUD and config
namespace, from the recording); a method neither serves answers ``[ENOTSUP] simulator: <method> is not
simulated``. This module never decides what a method does.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import ssl as ssl_module
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from truenas_mcp import ejson
from truenas_mcp.sim.api import CallContext, EventKind, Handler
from truenas_mcp.sim.auth import AuthMethods, RateLimiter, authorize, not_authenticated
from truenas_mcp.sim.core_methods import PRIVATE_METHODS, CoreMethods
from truenas_mcp.sim.engine import not_simulated
from truenas_mcp.sim.engine.build import engine_handlers
from truenas_mcp.sim.errors import CallError
from truenas_mcp.sim.faults import Faults
from truenas_mcp.sim.http import RPC_PATHS, handle_http, refuse_websocket
from truenas_mcp.sim.jobs import Job, JobManager
from truenas_mcp.sim.legacy import LegacyConnection
from truenas_mcp.sim.protocol import LARGE_MESSAGE_MAX, Connection, MethodNotFoundError, RpcConnection
from truenas_mcp.sim.recording import Recording, load_recording
from truenas_mcp.sim.secrets import SecretFields, load_secret_fields
from truenas_mcp.sim.services import HANDLERS
from truenas_mcp.sim.services.demo_rows import DEMO_USERS, demo_password
from truenas_mcp.sim.state import World
from truenas_mcp.sim.validate import validate_params
from truenas_mcp.sim.world_seed import DEMO_ADMIN_PASSWORD, demo_world

ADMIN_USERNAME = "truenas_admin"
SIMULATOR_KEY_NAME = "truenas-mcp simulator"


@dataclass(frozen=True)
class Credential:
    """How one account of the simulated box logs in; ``password``/``api_key`` are ``None`` when unknown.

    A user without any privilege has no key: TrueNAS refuses ``api_key.create`` for such a user.
    """

    username: str
    roles: tuple[str, ...]
    password: str | None
    api_key: str | None

    def describe(self) -> str:
        parts = [f"roles={','.join(self.roles) or '-'}"]
        if self.password is not None:
            parts.append(f"password={self.password}")
        if self.api_key is not None:
            parts.append(f"api_key={self.api_key}")
        return f"user {self.username}: " + " ".join(parts)


@dataclass(frozen=True)
class RunningSimulator:
    """A simulator listening on a socket; what tests and the CLI need to reach it."""

    sim: Simulator
    host: str
    port: int
    scheme: str  # "ws" or "wss"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self._netloc}/api/current"

    @property
    def legacy_url(self) -> str:
        return f"{self.scheme}://{self._netloc}/websocket"

    @property
    def http_url(self) -> str:
        return f"{'https' if self.scheme == 'wss' else 'http'}://{self._netloc}"

    @property
    def _netloc(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def admin_api_key(self) -> str:
        return self.sim.admin_api_key

    @property
    def admin_username(self) -> str:
        return ADMIN_USERNAME

    @property
    def admin_password(self) -> str | None:
        return self.sim.admin_password

    @property
    def users(self) -> tuple[Credential, ...]:
        """The seeded non-admin accounts (read-only, sharing, unprivileged) with their keys."""
        return self.sim.users

    @property
    def faults(self) -> Faults:
        return self.sim.faults

    @property
    def world(self) -> World:
        return self.sim.world


class Simulator:
    """A TrueNAS SCALE 25.04.2 middleware as seen from its API.

    ``insecure_loopback`` makes connections from 127.0.0.1/::1 count as insecure transport (so an API key
    login over them is revoked, as from a remote host over plain ws://). ``admin_api_key`` installs that key
    (``<id>-<secret>``) for ``truenas_admin`` instead of minting one; ``admin_password`` sets that
    account's password (else the demo's ``truenas-demo`` stays, if the world still has it). Each seeded
    demo user with a privilege gets a fresh API key (``users``). ``rate_limit_delay`` is the random pause
    before a rate-limited call is refused (1–10 s on the real box; tests set ``(0, 0)``).
    """

    def __init__(
        self,
        spec_path: Path | None = None,
        world: World | None = None,
        *,
        insecure_loopback: bool = False,
        faults: Faults | None = None,
        admin_api_key: str | None = None,
        admin_password: str | None = None,
        rate_limit_delay: tuple[float, float] = (1.0, 10.0),
    ) -> None:
        self.recording: Recording = load_recording(spec_path)
        self.secrets: SecretFields = load_secret_fields()
        self.world: World = world if world is not None else demo_world()
        self.faults = faults if faults is not None else Faults()
        self.loopback_is_secure = not insecure_loopback
        self.connections: set[Connection] = set()
        self.jobs = JobManager(self.faults, self._publish_job)
        self.rate_limiter = RateLimiter(rate_limit_delay)
        # username → base32 TOTP secret: users listed here must complete an OTP_TOKEN step after their
        # password (held by the simulator, not the state file, like the rest of the session machinery).
        self.twofactor_secrets: dict[str, str] = {}
        self.auth = AuthMethods(self)
        self.core = CoreMethods(self)
        # The protocol layer's own methods win over hand-written behaviour, which wins over the engine.
        self._handlers: dict[str, Handler] = {
            **engine_handlers(self.recording),
            **HANDLERS,
            **self.auth.handlers(),
            **self.core.handlers(),
        }
        self.admin_api_key = self._install_admin_key(admin_api_key)
        self.admin_password = self._install_admin_password(admin_password)
        self.users = self._install_user_keys()

    def handler(self, method: str) -> Handler:
        """The implementation ``method`` dispatches to, bypassing the call path (benchmarks, tools)."""
        found = self._handlers.get(method)
        if found is None:
            raise not_simulated(method)
        return found

    @property
    def handled_methods(self) -> frozenset[str]:
        """Methods with an answer (hand-written, state engine or protocol); the rest are not simulated."""
        return frozenset(self._handlers)

    def _install_admin_key(self, key: str | None) -> str:
        if key is not None:
            record = self.world.find_api_key(key, ADMIN_USERNAME)
            if record is not None and not record.revoked:
                return key
        _, plain = self.world.add_api_key(ADMIN_USERNAME, "truenas-mcp simulator", key)
        return plain

    def _install_admin_password(self, password: str | None) -> str | None:
        if password is not None:
            self.world.set_password(ADMIN_USERNAME, password)
            return password
        # A state file may hold a password changed through the API: then the demo's is not the one.
        return DEMO_ADMIN_PASSWORD if self.world.check_password(ADMIN_USERNAME, DEMO_ADMIN_PASSWORD) else None

    def _install_user_keys(self) -> tuple[Credential, ...]:
        found: list[Credential] = []
        for username in DEMO_USERS:
            if self.world.find("user", "username", username) is None:
                continue
            roles = tuple(sorted(self.world.roles_for(username)))
            name = f"{SIMULATOR_KEY_NAME} ({username})"
            # Only the hash of an earlier run's key survives in a state file: replace it with a known one.
            for row in [k for k in self.world.table("api_key") if k["name"] == name]:
                self.world.delete_api_key(row["id"])
            key = self.world.add_api_key(username, name)[1] if roles else None
            password = demo_password(username)
            known = password if self.world.check_password(username, password) else None
            found.append(Credential(username, roles, known, key))
        return tuple(found)

    # -- the call path -----------------------------------------------------------------------------------
    def method_exists(self, method: str) -> bool:
        return method in self.recording.methods or method in PRIVATE_METHODS

    async def execute(self, conn: Connection, method: str, params: list[Any]) -> Any:
        """A call as it arrives on the wire: job methods answer with the job id, secrets are masked."""
        result = await self.invoke(conn, method, params)
        if isinstance(result, Job):
            return result.id
        return self.secrets.for_session(conn.session, method, result)

    async def invoke(
        self,
        conn: Connection,
        method: str,
        params: list[Any],
        *,
        pipe_in: bytes | None = None,
        want_output: bool = False,
    ) -> Any:
        """Authenticate, authorize, rate-limit, validate and run ``method``; a ``Job`` for job methods."""
        entry = self.recording.entry(method)
        private = PRIVATE_METHODS.get(method)
        if entry is None and private is None:
            raise MethodNotFoundError(method)
        session = conn.session
        no_auth = entry["no_auth_required"] if entry is not None else private is not None and private.no_auth
        if session.authenticated:
            # Methods open to anonymous callers (logins, the listing) need no role either.
            if not no_auth and (entry is not None or (private is not None and not private.no_authz)):
                authorize(session, method, entry["roles"] if entry is not None else [])
        elif not no_auth:
            raise not_authenticated()
        elif method != "core.set_options":  # rate_limit=False on the real method
            await self.rate_limiter.check(method, session.remote_addr)
        fault = self.faults.method_fault(method)
        if fault is not None:
            raise fault
        if entry is not None and entry["job"]:
            if entry["check_pipes"] is True:
                if entry["downloadable"] and not want_output:
                    raise CallError("Pipe 'output' is not open", errno.EINVAL)
                if entry["uploadable"] and pipe_in is None:
                    raise CallError("Pipe 'input' is not open", errno.EINVAL)

            async def body(job: Job) -> Any:
                # Job params are validated when the job runs: bad ones give a FAILED job, not -32602.
                args = validate_params(entry["accepts"], self.recording.accepts(method), params)
                result = await self._run(conn, method, args, job)
                if job.output is not None and not job.output:
                    job.output.extend(ejson.dumps(result).encode())
                return result

            return self.jobs.start(method, params, session, body, pipe_in=pipe_in, want_output=want_output)
        if entry is not None:
            params = validate_params(entry["accepts"], self.recording.accepts(method), params)
        return await self._run(conn, method, params, None)

    async def _run(self, conn: Connection, method: str, params: list[Any], job: Job | None) -> Any:
        ctx = CallContext(sim=self, session=conn.session, method=method, job=job, extra={"connection": conn})
        handler = self._handlers.get(method)
        if handler is None:
            raise not_simulated(method)
        return await handler(ctx, params)

    async def call(self, ctx: CallContext, method: str, params: list[Any]) -> Any:
        """``api.Simulator.call``: another method for the same session; job methods are waited for."""
        conn = ctx.extra.get("connection")
        if not isinstance(conn, Connection):
            raise CallError(f"{method}: no caller connection in the call context", errno.EINVAL)
        result = await self.invoke(conn, method, params)
        if isinstance(result, Job):
            await result.wait()
            if result.state != "SUCCESS":
                info = result.exc_info or {}
                raise CallError(
                    result.error or "Job aborted", info.get("errno") or errno.EFAULT, info.get("extra")
                )
            return result.result
        return result

    # -- events ------------------------------------------------------------------------------------------
    def _may_see(self, conn: Connection, collection: str) -> bool:
        session = conn.session
        if session.full_admin:
            return True
        event = self.recording.events.get(collection.split(":", 1)[0])
        if event is None:
            return False
        return bool(event.get("no_authz_required")) or not session.roles.isdisjoint(event.get("roles") or [])

    def emit(self, collection: str, msg: EventKind, id: Any, fields: dict[str, Any] | None = None) -> None:
        """Send a ``collection_update`` to every session subscribed to ``collection`` (or ``*``)."""
        for conn in list(self.connections):
            names = conn.subscriptions.values()
            if (collection in names or "*" in names) and self._may_see(conn, collection):
                conn.deliver_event(collection, msg, id, fields)

    def _publish_job(self, job: Job, msg: EventKind) -> None:
        fields: dict[str, Any] | None = None
        for conn in list(self.connections):
            names = conn.subscriptions.values()
            if "core.get_jobs" not in names and "*" not in names:
                continue
            session = conn.session
            if not (session.full_admin or (session.username is not None and session.username == job.owner)):
                continue
            if fields is None:
                fields = job.encode()
            conn.deliver_event("core.get_jobs", msg, job.id, fields)

    # -- serving -----------------------------------------------------------------------------------------
    async def asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """The ASGI application: WebSocket endpoints by path, everything else is plain HTTP."""
        if scope["type"] == "websocket":
            path = scope["path"]
            if path in RPC_PATHS:
                await RpcConnection(self, scope, send).serve(receive)
            elif path == "/websocket":
                await LegacyConnection(self, scope, send).serve(receive)
            else:
                await refuse_websocket(scope, send)
        elif scope["type"] == "http":
            await handle_http(self, scope, receive, send)

    @contextlib.asynccontextmanager
    async def serve(
        self, host: str = "127.0.0.1", port: int = 0, ssl: ssl_module.SSLContext | None = None
    ) -> AsyncIterator[RunningSimulator]:
        """Listen on ``host:port`` (0 = a free port) until the context exits; TLS with ``ssl``."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets whose proto says TCP, and without
        # it a job answer waits behind the job event for the peer's delayed ACK (40 ms), as on no real box.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise OSError(exc.errno, f"simulator: cannot listen on {host}:{port}: {exc.strerror}") from exc
        sock.setblocking(False)
        config = uvicorn.Config(
            self.asgi,
            lifespan="off",
            interface="asgi3",
            proxy_headers=False,
            ws="websockets-sansio",
            ws_max_size=LARGE_MESSAGE_MAX + 4096,
            ws_per_message_deflate=False,
            log_level="warning",
            access_log=False,
        )
        config.load()
        if ssl is not None:
            config.ssl = ssl
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup(sockets=[sock])
        try:
            yield RunningSimulator(self, host, sock.getsockname()[1], "wss" if ssl is not None else "ws")
        finally:
            await self.jobs.close()
            await _stop(server)
            sock.close()


async def _stop(server: uvicorn.Server) -> None:
    """Close every connection and wait for the app tasks, without uvicorn's polling shutdown."""
    for listener in server.servers:
        listener.close()
    for connection in list(server.server_state.connections):
        connection.shutdown()
    tasks = list(server.server_state.tasks)
    if tasks:
        await asyncio.wait(tasks, timeout=5)
    for listener in server.servers:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(listener.wait_closed(), timeout=5)


async def run_until_stopped(
    sim: Simulator,
    host: str,
    port: int,
    *,
    ssl: ssl_module.SSLContext | None = None,
    state_path: Path | None = None,
    announce: Any = print,
) -> None:
    """Serve until SIGINT/SIGTERM, then save the world to ``state_path`` (what ``truenas-mcp sim`` runs)."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on every platform's loop
            loop.add_signal_handler(sig, stop.set)
    async with sim.serve(host, port, ssl) as running:
        announce(f"url: {running.url}")
        announce(f"legacy_url: {running.legacy_url}")
        announce(f"http_url: {running.http_url}")
        announce(f"username: {running.admin_username}")
        if running.admin_password is not None:
            announce(f"password: {running.admin_password}")
        else:
            announce("# password not shown: it was changed through the API and only its hash is kept")
        announce(f"api_key: {running.admin_api_key}")
        for user in running.users:
            announce(user.describe())
        await stop.wait()
    if state_path is not None:
        sim.world.save(state_path)
