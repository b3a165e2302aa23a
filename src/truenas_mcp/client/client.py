"""``TrueNASClient``: one authenticated, self-healing connection to a TrueNAS 25.04 JSON-RPC API.

The client owns one :class:`~truenas_mcp.client.connection.Connection` at a time. A supervisor task waits
for it to drop and builds a new one with jittered exponential backoff. Calls in flight when it drops fail
with a retryable :class:`ConnectionLostError` (they may have run); new calls wait for the next connection
within their own timeout. A refused login stops the client for good: TrueNAS rate-limits failed logins and
may lock the account out, so looping would make things worse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any

from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

from truenas_mcp import __version__
from truenas_mcp.client.config import ClientConfig, Credential
from truenas_mcp.client.connection import Connection
from truenas_mcp.client.errors import (
    AuthenticationError,
    ClientClosedError,
    ClientConfigError,
    JobFailedError,
    MethodNotFoundError,
    NotConnectedError,
    ProtocolError,
    RPCError,
    SubscriptionError,
    TransferError,
    TrueNASError,
)
from truenas_mcp.client.events import CallFn, EventHub, EventStream
from truenas_mcp.client.files import FileTransfer, UploadData
from truenas_mcp.client.jobs import Job, JobHandle, JobTracker, ProgressCallback, job_outcome
from truenas_mcp.client.transport import build_ssl_context, check_transport
from truenas_mcp.client.versions import check_api_version

log = logging.getLogger("truenas_mcp.client")

_LOGIN_REFUSALS = {
    "AUTH_ERR": "TrueNAS rejected the credentials of user {user!r} (AUTH_ERR)",
    "EXPIRED": (
        "the credential of user {user!r} is expired or revoked (EXPIRED); TrueNAS also answers this when it "
        "has just revoked an API key used over an insecure transport. Create a new key"
    ),
    "OTP_REQUIRED": (
        "user {user!r} must give a one-time password (OTP_REQUIRED); a service should log in with an API key"
    ),
}


class TrueNASClient:
    """Async TrueNAS API client. Use as ``async with TrueNASClient(config) as client: ...``."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self._endpoint = config.endpoint
        self._ssl = build_ssl_context(self._endpoint, verify=config.verify_tls, ca_bundle=config.ca_bundle)
        self._conn: Connection | None = None
        self._ready = asyncio.Event()
        self._closing = False
        self._fatal: TrueNASError | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._ever_connected = False
        self._hub = EventHub()
        self._jobs = JobTracker(self._hub, self._call_list)
        self._files = FileTransfer(self._endpoint.http_base, self._ssl or True, config.call_timeout)
        self._rng = random.Random()
        self.reconnects = 0
        """Successful reconnections since start (for metrics)."""
        self.user: dict[str, Any] | None = None
        """``user_info`` of the last successful login (``auth.me`` output)."""
        self.roles: frozenset[str] = frozenset()

    # Lifecycle --------------------------------------------------------------------------------
    async def __aenter__(self) -> TrueNASClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Connect and log in now, raising what went wrong; then keep the connection alive."""
        if self._supervisor is not None:
            raise RuntimeError("TrueNASClient is already started")
        await self._establish()
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise(), name="truenas-client")

    def start(self) -> None:
        """Connect in the background (for servers that must come up while TrueNAS is down)."""
        if self._supervisor is not None:
            raise RuntimeError("TrueNASClient is already started")
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise(), name="truenas-client")

    async def close(self) -> None:
        self._closing = True
        self._ready.set()
        self._jobs.stop("the TrueNAS client was closed while waiting for the job")
        self._hub.end_all(None)
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        if self._conn is not None:
            await self._conn.close()
        await self._files.aclose()

    @property
    def connected(self) -> bool:
        return self._conn is not None and self._conn.usable

    @property
    def authenticated(self) -> bool:
        return self.connected and self._conn is not None and self._conn.authenticated

    @property
    def failure(self) -> TrueNASError | None:
        """Why the client stopped for good (a refused login), if it did."""
        return self._fatal

    # Calls ------------------------------------------------------------------------------------
    async def call(self, method: str, *params: Any, timeout: float | None = None, decode: bool = True) -> Any:
        """Call ``method`` with positional ``params``; ``decode=False`` keeps ejson markers as plain JSON."""
        return await self._call(method, list(params), timeout, raw=not decode)

    async def _call_list(self, method: str, params: list[Any]) -> Any:
        return await self._call(method, params, None)

    async def _call(self, method: str, params: list[Any], timeout: float | None, *, raw: bool = False) -> Any:
        budget = self.config.call_timeout if timeout is None else timeout
        conn = self._conn
        if conn is None or not conn.usable or self._closing:
            loop = asyncio.get_running_loop()
            started = loop.time()
            conn = await self._wait_connection(method, budget)
            budget -= loop.time() - started
        return await conn.call(method, params, budget, raw=raw)

    async def _wait_connection(self, method: str, timeout: float) -> Connection:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self._fatal is not None:
                raise ClientClosedError(f"{method}: client stopped: {self._fatal}") from self._fatal
            if self._closing:
                raise ClientClosedError(f"{method}: the TrueNAS client is closed")
            conn = self._conn
            if conn is not None and conn.usable:
                return conn
            if self._supervisor is None:
                raise NotConnectedError(f"{method}: not connected; use 'async with TrueNASClient(...)'")
            self._ready.clear()  # the supervisor sets it once a new connection is up
            try:
                async with asyncio.timeout(deadline - loop.time()):
                    await self._ready.wait()
            except TimeoutError:
                raise NotConnectedError(
                    f"{method}: TrueNAS connection is down and did not come back within {timeout:g} s; "
                    "retry later"
                ) from None

    # Jobs -------------------------------------------------------------------------------------
    async def start_job(self, method: str, *params: Any, timeout: float | None = None) -> JobHandle:
        job_id = await self._call(method, list(params), timeout)
        if not isinstance(job_id, int) or isinstance(job_id, bool):
            raise ProtocolError(f"{method}: expected a job id, got {job_id!r} (is it a job method?)")
        return JobHandle(job_id, method)

    async def job_status(self, job: int | JobHandle) -> Job:
        return await self._jobs.status(_job_id(job))

    async def wait_job(
        self,
        job: int | JobHandle,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Any:
        """The job's result once it ends.

        Raises ``JobFailedError``/``JobAbortedError`` by state, ``JobWaitTimeoutError`` past the bound.
        """
        return job_outcome(await self._jobs.wait(_job_id(job), timeout, on_progress))

    async def abort_job(self, job: int | JobHandle) -> None:
        await self._call("core.job_abort", [_job_id(job)], None)

    async def call_job(
        self,
        method: str,
        *params: Any,
        on_progress: ProgressCallback | None = None,
        wait_timeout: float | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Start a job and wait for its result (``wait_timeout`` bounds the wait, ``timeout`` the start)."""
        handle = await self.start_job(method, *params, timeout=timeout)
        return await self.wait_job(handle, wait_timeout, on_progress)

    # Events -----------------------------------------------------------------------------------
    def subscribe(self, name: str, *, max_queue: int = 1000) -> EventStream:
        """Events of ``name`` (``"pool.query"``, ``"reporting.realtime:{...}"``) as an async iterator."""
        return EventStream(name, self._hub, self._call_list, self._current_call, max_queue)

    def _current_call(self) -> CallFn | None:
        return self._call_list if self.connected else None

    # Files ------------------------------------------------------------------------------------
    async def upload(
        self,
        method: str,
        params: list[Any],
        data: UploadData,
        *,
        filename: str = "file",
        on_progress: ProgressCallback | None = None,
        wait_timeout: float | None = None,
    ) -> Any:
        """Run an uploadable job method with ``data`` as its input pipe; returns the job's result."""
        credential = self.config.credential()
        if credential is not None:
            check_transport(
                self._endpoint, credential.kind, allow_insecure=self.config.allow_insecure_transport
            )
        job_id = await self._files.upload(method, params, data, credential=credential, filename=filename)
        return await self.wait_job(job_id, wait_timeout, on_progress)

    async def download(
        self,
        method: str,
        params: list[Any],
        filename: str,
        *,
        buffered: bool = False,
        wait_timeout: float | None = None,
    ) -> bytes:
        """Run a downloadable job method through ``core.download`` and return the bytes it produced."""
        answer = await self._call("core.download", [method, params, filename, buffered], None)
        if not (isinstance(answer, list) and len(answer) == 2):
            raise ProtocolError(f"core.download({method}) answered {answer!r}, expected [job_id, url]")
        job_id, url = answer
        try:
            data = await self._files.fetch(method, url)
        except TransferError as exc:
            # The job failing is the usual reason for a failed transfer; report that instead.
            status = await self._jobs.status(job_id)
            if status.finished and status.state != "SUCCESS":
                raise JobFailedError(status) from exc
            raise
        await self.wait_job(job_id, wait_timeout)
        return data

    # Connection management --------------------------------------------------------------------
    async def _establish(self) -> None:
        credential = self.config.credential()
        if credential is not None:
            check_transport(
                self._endpoint, credential.kind, allow_insecure=self.config.allow_insecure_transport
            )
        url = self._endpoint.ws_url
        if not self._ever_connected:
            await check_api_version(self._endpoint, self._ssl, self.config.connect_timeout)
        try:
            ws = await ws_connect(
                url,
                ssl=self._ssl,
                max_size=self.config.max_message_size,
                open_timeout=self.config.connect_timeout,
                ping_interval=self.config.ping_interval,
                compression="deflate" if self.config.compression else None,
                user_agent_header=f"truenas-mcp/{__version__}",
                close_timeout=2.0,
            )
        except InvalidURI as exc:
            raise ClientConfigError(f"TRUENAS_URL: {exc}") from exc
        except InvalidStatus as exc:
            if exc.response.status_code == 404:  # the box has no such endpoint: retrying will not help
                raise ClientConfigError(
                    f"TrueNAS at {self._endpoint.host} does not serve {self._endpoint.path} (HTTP 404); "
                    "set TRUENAS_URL to an API version the box offers (GET /api/versions lists them)"
                ) from exc
            raise NotConnectedError(f"cannot connect to {url}: {exc}") from exc
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            raise NotConnectedError(f"cannot connect to {url}: {exc or type(exc).__name__}") from exc
        conn = Connection(ws, max_in_flight=self.config.max_in_flight, on_notification=self._hub.dispatch)
        conn.start()
        try:
            if credential is not None:
                await self._login(conn, credential)
            await self._hub.restore(
                lambda method, params: conn.call(method, params, self.config.call_timeout)
            )
        except BaseException:
            await conn.close()
            raise
        if not self._ever_connected:
            await self._announce(conn)
        self._conn = conn
        self._ever_connected = True
        self._ready.set()

    async def _announce(self, conn: Connection) -> None:
        """Log which box and which API this client speaks (the versioned endpoint hides the box's own)."""
        try:
            version = await conn.call("system.version", [], self.config.connect_timeout)
        except TrueNASError:
            version = "(version not readable by this user)"
        log.info(
            "connected to TrueNAS %s at %s, speaking API %s",
            version, self._endpoint.host, self._endpoint.api_version or self._endpoint.path,
        )  # fmt: skip

    async def _login(self, conn: Connection, credential: Credential) -> None:
        secret = credential.secret.get_secret_value()
        if credential.kind == "API_KEY":
            payload = {"mechanism": "API_KEY_PLAIN", "username": credential.username, "api_key": secret}
        else:
            payload = {"mechanism": "PASSWORD_PLAIN", "username": credential.username, "password": secret}
        try:
            answer = await conn.call("auth.login_ex", [payload], self.config.connect_timeout)
        except MethodNotFoundError as exc:
            raise AuthenticationError(
                "TrueNAS has no auth.login_ex: this client needs TrueNAS 25.04 or later"
            ) from exc
        except RPCError as exc:  # e.g. "[EBUSY] Rate Limit Exceeded"
            raise AuthenticationError(f"login as {credential.username!r} failed: {exc.reason}") from exc
        response_type = answer.get("response_type") if isinstance(answer, dict) else None
        if response_type != "SUCCESS":
            if response_type == "REDIRECT":
                message = f"this TrueNAS node is an HA standby; connect to one of {answer.get('urls')}"
            else:
                template = _LOGIN_REFUSALS.get(str(response_type), "login as {user!r} answered {rt!r}")
                message = template.format(user=credential.username, rt=answer)
            raise AuthenticationError(f"{message}; not retrying", response_type)
        conn.authenticated = True
        user = answer.get("user_info")
        self.user = user if isinstance(user, dict) else None
        self.roles = _roles_of(self.user)

    def _backoff(self, attempt: int) -> float:
        base = min(self.config.reconnect_max_delay, self.config.reconnect_initial_delay * (2**attempt))
        return base * self._rng.uniform(0.5, 1.0)

    async def _supervise(self) -> None:
        attempt = 0
        while not self._closing:
            conn = self._conn
            if conn is not None and conn.usable:
                lost = await conn.wait_closed()
                if self._closing:
                    return
                self._ready.clear()
                log.warning("%s; reconnecting", lost)
                attempt = 0
            if self._ever_connected or attempt > 0:
                await asyncio.sleep(self._backoff(attempt))
            attempt += 1
            try:
                await self._establish()
            except (AuthenticationError, ClientConfigError) as exc:
                self._fatal = exc
                self._ready.set()
                self._jobs.stop(f"client stopped: {exc}")
                self._hub.end_all(SubscriptionError("*", f"client stopped: {exc}"))
                log.error("TrueNAS client stopped: %s", exc)
                return
            except (TrueNASError, OSError, TimeoutError) as exc:
                log.warning("connecting to TrueNAS failed (attempt %d): %s", attempt, exc)
                continue
            if conn is not None:
                self.reconnects += 1
                log.info("reconnected to TrueNAS (reconnect #%d)", self.reconnects)
            try:
                await self._jobs.resync()
            except TrueNASError as exc:
                log.warning("could not re-read job states after reconnecting: %s", exc)


def _job_id(job: int | JobHandle) -> int:
    return job.id if isinstance(job, JobHandle) else job


def _roles_of(user: dict[str, Any] | None) -> frozenset[str]:
    privilege = (user or {}).get("privilege")
    roles = privilege.get("roles") if isinstance(privilege, dict) else None
    if isinstance(roles, list | set | frozenset | tuple):
        return frozenset(str(role) for role in roles)
    return frozenset()
