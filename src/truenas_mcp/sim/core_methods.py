"""``core.*`` (jobs, subscriptions, bulk, downloads, the method listing) and the simulator's own ``sim.*``.

``sim.*`` methods are private, FULL_ADMIN-only and exist only here: they let out-of-process tests inject
faults and persist the state of a running simulator.
"""

from __future__ import annotations

import errno
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from truenas_mcp.sim.api import CallContext, Handler, Session
from truenas_mcp.sim.auth import AuthMethods, authorize
from truenas_mcp.sim.errors import CallError, error_data
from truenas_mcp.sim.faults import Faults
from truenas_mcp.sim.filters import query
from truenas_mcp.sim.jobs import Job, JobManager
from truenas_mcp.sim.protocol import Connection
from truenas_mcp.sim.recording import Recording
from truenas_mcp.sim.secrets import SecretFields
from truenas_mcp.sim.state import World
from truenas_mcp.wire import ENOMETHOD

DOWNLOAD_TOKEN_TTL = 300
DOWNLOAD_WINDOW = 60.0
DOWNLOAD_WINDOW_BUFFERED = 3600.0


@dataclass(frozen=True)
class PrivateMethod:
    """A callable method missing from the recording (``@private``): who may call it."""

    no_auth: bool = False
    no_authz: bool = False  # any authenticated session; otherwise FULL_ADMIN only


PRIVATE_METHODS: dict[str, PrivateMethod] = {
    "core.get_methods": PrivateMethod(no_auth=True, no_authz=True),
    "core.get_services": PrivateMethod(no_auth=True, no_authz=True),
    "zfs.dataset.query": PrivateMethod(),
    "sim.faults.get": PrivateMethod(),
    "sim.faults.set": PrivateMethod(),
    "sim.state.save": PrivateMethod(),
}


@dataclass
class DownloadTicket:
    """What ``/_download/{job_id}`` checks: the token, the time window and whether it was taken."""

    job: Job
    token: str
    filename: str
    created: float
    buffered: bool
    taken: bool = False

    def expired(self) -> bool:
        window = DOWNLOAD_WINDOW_BUFFERED if self.buffered else DOWNLOAD_WINDOW
        return time.monotonic() > self.created + window


def _connection(ctx: CallContext) -> Connection:
    return ctx.extra["connection"]


def _job_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CallError(f"id: job id must be an integer, got {value!r}", errno.EINVAL)
    return value


class CoreHost(Protocol):
    """What the ``core.*`` methods need of the running simulator (``server.Simulator`` is one)."""

    recording: Recording
    world: World
    faults: Faults
    jobs: JobManager
    auth: AuthMethods
    secrets: SecretFields

    async def invoke(
        self,
        conn: Connection,
        method: str,
        params: list[Any],
        *,
        pipe_in: bytes | None = None,
        want_output: bool = False,
    ) -> Any: ...


class CoreMethods:
    def __init__(self, sim: CoreHost) -> None:
        self.sim = sim
        self.downloads: dict[int, DownloadTicket] = {}

    def handlers(self) -> dict[str, Handler]:
        return {
            "core.ping": self.ping,
            "core.get_jobs": self.get_jobs,
            "core.job_wait": self.job_wait,
            "core.job_abort": self.job_abort,
            "core.job_download_logs": self.job_download_logs,
            "core.subscribe": self.subscribe,
            "core.unsubscribe": self.unsubscribe,
            "core.bulk": self.bulk,
            "core.set_options": self.set_options,
            "core.download": self.download,
            "core.get_methods": self.get_methods,
            "core.get_services": self.get_services,
            "sim.faults.get": self.faults_get,
            "sim.faults.set": self.faults_set,
            "sim.state.save": self.state_save,
        }

    def _visible_job(self, ctx: CallContext, job_id: Any) -> Job:
        job = self.sim.jobs.get(_job_id(job_id))
        session = ctx.session
        if job is None or not (session.full_admin or job.owner == session.username):
            raise CallError(f"Job {job_id} does not exist", errno.ENOENT)
        return job

    async def ping(self, ctx: CallContext, params: list[Any]) -> str:
        return "pong"

    async def get_jobs(self, ctx: CallContext, params: list[Any]) -> Any:
        session = ctx.session
        options = params[1] if len(params) > 1 else {}
        extra = options.get("extra") if isinstance(options, dict) else None
        # An external caller gets results redacted unless it asks for ``raw_result`` (core_service.py
        # get_jobs, job.py __encode__): masked whoever asks, FULL_ADMIN too.
        raw = isinstance(extra, dict) and extra.get("raw_result") is True
        mine = [j for j in self.sim.jobs if session.full_admin or j.owner == session.username]
        rows = [self._encode_job(j, raw) for j in mine]
        return query(rows, params[0] if params else [], options)

    def _encode_job(self, job: Job, raw: bool) -> dict[str, Any]:
        row = job.encode()
        if not raw and row["state"] == "SUCCESS":
            row["result"] = self.sim.secrets.masked(job.method, row["result"])
        return row

    async def job_wait(self, ctx: CallContext, params: list[Any]) -> Any:
        target = self._visible_job(ctx, params[0] if params else None)
        await target.wait()
        if target.state == "SUCCESS":
            return target.result
        info = target.exc_info or {}
        raise CallError(target.error or "Job aborted", info.get("errno") or errno.EFAULT, info.get("extra"))

    async def job_abort(self, ctx: CallContext, params: list[Any]) -> None:
        self._visible_job(ctx, params[0] if params else None).abort()

    async def job_download_logs(self, ctx: CallContext, params: list[Any]) -> Any:
        job = self._visible_job(ctx, params[0] if params else None)
        raise CallError(f"Job {job.id} has no logs", errno.ENOENT)

    def authorize_subscription(self, session: Session, name: str) -> dict[str, Any] | None:
        """Raise EACCES unless ``session`` may subscribe to ``name``; the event's registry entry if known."""
        event = self.sim.recording.events.get(name.partition(":")[0])
        if name == "*" or event is None:
            if not session.full_admin:
                raise CallError("Not authorized", errno.EACCES)
        elif not (
            session.full_admin
            or event.get("no_authz_required")
            or not session.roles.isdisjoint(event.get("roles") or [])
        ):
            raise CallError("Not authorized", errno.EACCES)
        return event

    async def subscribe(self, ctx: CallContext, params: list[Any]) -> str:
        name = params[0]
        event = self.authorize_subscription(ctx.session, name)
        event_name, _, arg = name.partition(":")
        ident = str(uuid.uuid4())
        conn = _connection(ctx)
        conn.subscriptions[ident] = name
        if event is not None and event.get("event_source") and arg:
            try:
                json.loads(arg)
            except ValueError as exc:
                # Event sources validate their argument after subscribing and end the subscription.
                del conn.subscriptions[ident]
                error = CallError(f"{event_name}: invalid argument {arg!r}: {exc}", errno.EINVAL)
                conn.deliver_unsubscribed(name, _error_dict(error))
        return ident

    async def unsubscribe(self, ctx: CallContext, params: list[Any]) -> None:
        _connection(ctx).subscriptions.pop(params[0], None)

    async def bulk(self, ctx: CallContext, params: list[Any]) -> list[dict[str, Any]]:
        method = params[0] if params else ""
        calls = params[1] if len(params) > 1 else []
        conn = _connection(ctx)
        # service/core_service.py bulk: the method is looked up and authorized once, before any call, so
        # an unknown or forbidden method fails the job instead of giving per-call errors.
        if "." not in method:
            raise CallError("Invalid method name", errno.EBADMSG)
        service, name = method.rsplit(".", 1)
        entry = self.sim.recording.entry(method)
        if entry is None and method not in PRIVATE_METHODS:
            raise CallError(f"Method {name!r} not found in {service!r}", ENOMETHOD)
        try:
            authorize(ctx.session, method, entry["roles"] if entry is not None else [])
        except CallError:
            raise CallError("Not authorized", errno.EPERM) from None
        statuses: list[dict[str, Any]] = []
        for index, args in enumerate(calls):
            if ctx.job is not None:
                ctx.job.set_progress(int(index * 100 / max(len(calls), 1)), f"{index}/{len(calls)}")
            try:
                result = await self.sim.invoke(conn, method, list(args))
            except Exception as exc:
                statuses.append({"result": None, "error": str(exc) or repr(exc)})
                continue
            if isinstance(result, Job):
                await result.wait()
                statuses.append({"job_id": result.id, "result": result.result, "error": result.error})
            else:
                # core_service.py bulk: each result goes through dump_result, as a direct call's does.
                shown = self.sim.secrets.for_session(ctx.session, method, result)
                statuses.append({"result": shown, "error": None})
        return statuses

    async def set_options(self, ctx: CallContext, params: list[Any]) -> None:
        options = params[0] if params else {}
        if "py_exceptions" in options:
            _connection(ctx).py_exceptions = bool(options["py_exceptions"])

    async def download(self, ctx: CallContext, params: list[Any]) -> list[Any]:
        method = params[0]
        args = params[1] if len(params) > 1 else []
        filename = params[2]
        buffered = bool(params[3]) if len(params) > 3 else False
        entry = self.sim.recording.entry(method)
        if entry is None or not entry["downloadable"]:
            raise CallError(f"{method} does not have an output pipe", errno.EINVAL)
        job = await self.sim.invoke(_connection(ctx), method, list(args), want_output=True)
        attrs = {"filename": filename, "job": job.id}
        token = self.sim.auth.tokens.issue(ctx.session, DOWNLOAD_TOKEN_TTL, attrs, True, True)
        self.downloads[job.id] = DownloadTicket(job, token, filename, time.monotonic(), buffered)
        return [job.id, f"/_download/{job.id}?auth_token={token}"]

    async def get_methods(self, ctx: CallContext, params: list[Any]) -> dict[str, Any]:
        service = params[0] if params else None
        session = ctx.session
        if session.full_admin or not session.authenticated:
            listing = self.sim.recording.listing(authenticated=session.authenticated)
        else:
            roles = session.roles

            def allowed(name: str) -> bool:
                entry = self.sim.recording.methods[name]
                return not roles.isdisjoint(entry["roles"])

            listing = self.sim.recording.listing(authenticated=True, allowed=allowed)
        if service:
            listing = {name: entry for name, entry in listing.items() if name.rsplit(".", 1)[0] == service}
        return listing

    async def get_services(self, ctx: CallContext, params: list[Any]) -> dict[str, Any]:
        """``core.get_services``: every public service by namespace with its kind, from the recording.

        The kind follows the methods a service has (``query``+``create`` → crud, ``config``+``update`` →
        config); of each service's configuration only what the recording shows is given.
        """
        methods: dict[str, set[str]] = {}
        for name in self.sim.recording.methods:
            namespace, _, verb = name.rpartition(".")
            methods.setdefault(namespace, set()).add(verb)
        services: dict[str, Any] = {}
        for namespace in sorted(methods):
            verbs = methods[namespace]
            kind = (
                "crud"
                if {"query", "create"} <= verbs
                else "config"
                if {"config", "update"} <= verbs
                else "service"
            )
            services[namespace] = {"config": {"namespace": namespace, "private": False}, "type": kind}
        return services

    async def faults_get(self, ctx: CallContext, params: list[Any]) -> dict[str, Any]:
        return self.sim.faults.to_dict()

    async def faults_set(self, ctx: CallContext, params: list[Any]) -> dict[str, Any]:
        if len(params) != 1 or not isinstance(params[0], dict):
            raise CallError("sim.faults.set takes one object of fault settings", errno.EINVAL)
        try:
            faults = Faults.from_dict(params[0])
        except (TypeError, ValueError) as exc:
            raise CallError(str(exc), errno.EINVAL) from exc
        self.sim.faults.update(faults)
        return self.sim.faults.to_dict()

    async def state_save(self, ctx: CallContext, params: list[Any]) -> str:
        if len(params) != 1 or not isinstance(params[0], str):
            raise CallError("sim.state.save takes the path of the state file", errno.EINVAL)
        path = Path(params[0])
        self.sim.world.save(path)
        return str(path)


def _error_dict(exc: CallError) -> dict[str, Any]:
    return error_data(exc)[2]
