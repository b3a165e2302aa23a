"""Plain HTTP routes of the box: ``GET /api/versions``, ``POST /_upload``, ``GET /_download/{job_id}``.

Status codes follow ``apps/file_app.py`` and ``restful.py``: uploads answer 401 (no/bad credentials),
403 (not authorized), 405 (missing or misordered parts), 400 (bad JSON), 422 (no or unknown method),
412 (other CallError), 500; downloads 401 (bad/missing token), 404 (unknown job), 410 (expired/taken).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Protocol

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from truenas_mcp.sim.auth import AuthMethods, authorize
from truenas_mcp.sim.core_methods import CoreMethods
from truenas_mcp.sim.errors import CallError
from truenas_mcp.sim.jobs import Job
from truenas_mcp.sim.protocol import Connection, Host, MethodNotFoundError
from truenas_mcp.sim.recording import Recording
from truenas_mcp.sim.roles import expand
from truenas_mcp.sim.state import World

# ``main.py``: every ``middlewared/api/v*`` folder is routed at ``/api/<version>``, ``/api/current`` is the
# newest, and ``GET /api/versions`` lists them all except ``v24.10`` (routed, but no longer advertised).
API_VERSIONS = ["v25.04.0", "v25.04.1", "v25.04.2"]
RPC_PATHS = frozenset({"/api/current", "/api/v24.10", *(f"/api/{version}" for version in API_VERSIONS)})


async def refuse_websocket(scope: dict[str, Any], send: Any) -> None:
    """An unknown WebSocket path gets what aiohttp answers for a route it lacks: HTTP 404 ``404: Not Found``.

    Without the ASGI ``websocket.http.response`` extension the server can only close the handshake (403).
    """
    if "websocket.http.response" in scope.get("extensions", {}):
        await send(
            {
                "type": "websocket.http.response.start",
                "status": 404,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")],
            }
        )
        await send({"type": "websocket.http.response.body", "body": b"404: Not Found"})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": "Not found"})


class HttpHost(Host, Protocol):
    """What the HTTP routes need of the running simulator (``server.Simulator`` is one)."""

    world: World
    recording: Recording
    auth: AuthMethods
    core: CoreMethods

    async def invoke(
        self,
        conn: Connection,
        method: str,
        params: list[Any],
        *,
        pipe_in: bytes | None = None,
        want_output: bool = False,
    ) -> Any: ...


async def handle_http(sim: HttpHost, scope: dict[str, Any], receive: Any, send: Any) -> None:
    request = Request(scope, receive)
    path = request.url.path
    if path == "/api/versions" and request.method == "GET":
        response: Response = JSONResponse(API_VERSIONS)
    elif path == "/_upload":
        response = (
            await _upload(sim, request)
            if request.method == "POST"
            else PlainTextResponse("", status_code=405)
        )
    elif path.startswith("/_download/") and request.method == "GET":
        response = await _download(sim, request, path.removeprefix("/_download/"))
    else:
        response = PlainTextResponse("Not Found", status_code=404)
    await response(scope, receive, send)


def _authenticate(sim: HttpHost, request: Request, caller: Connection) -> bool:
    """``restful.py parse_credentials``: Basic, Bearer <API key>, Token <token> or ``?auth_token=``.

    Unlike a WebSocket login, a Bearer API key over plain HTTP is not revoked (the real server does not).
    """
    session = caller.session
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    token = request.query_params.get("auth_token")
    world = sim.world
    if scheme.lower() == "basic":
        try:
            username, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        if not world.check_password(username, password):
            return False
        session.username, session.credential_type = username, "LOGIN_PASSWORD"
    elif scheme.lower() == "bearer":
        record = world.find_api_key(value, None)
        if record is None or record.revoked:
            return False
        session.username, session.credential_type, session.api_key_id = record.username, "API_KEY", record.id
    elif scheme.lower() == "token" or token:
        found = sim.auth.tokens.take(value if scheme.lower() == "token" else str(token), session.remote_addr)
        if found is None:
            return False
        session.username, session.credential_type = found.username, "TOKEN"
        session.roles = found.roles
    else:
        return False
    if session.credential_type != "TOKEN":  # a token carries the roles it was issued with
        session.roles = world.roles_for(session.username)
    session.expanded_roles = expand(sim.recording.methods, session.roles)
    return True


async def _upload(sim: HttpHost, request: Request) -> Response:
    caller = Connection(sim, request.scope, None)
    if not _authenticate(sim, request, caller):
        return PlainTextResponse("Unauthorized", status_code=401)
    try:
        form = await request.form()
    except Exception:
        return PlainTextResponse("Invalid multipart body", status_code=405)
    keys = list(form.keys())
    if keys[:2] != ["data", "file"] or not isinstance(form["file"], UploadFile):
        return PlainTextResponse("Expected two parts: 'data' followed by 'file'", status_code=405)
    try:
        data = json.loads(str(form["data"]))
    except ValueError:
        return PlainTextResponse("'data' part is not valid JSON", status_code=400)
    method = data.get("method") if isinstance(data, dict) else None
    params = data.get("params", []) if isinstance(data, dict) else []
    if not isinstance(method, str) or not sim.method_exists(method):
        return PlainTextResponse("Method not found" if method else "Method not specified", status_code=422)
    if not isinstance(params, list):
        return PlainTextResponse("'params' must be a list", status_code=400)
    entry = sim.recording.entry(method)
    try:
        authorize(caller.session, method, entry["roles"] if entry else [])
    except CallError:
        return PlainTextResponse("Forbidden", status_code=403)
    payload = await form["file"].read()
    try:
        if entry is None or not entry["uploadable"]:
            raise CallError(f"{method} does not accept an input pipe", 22)
        job = await sim.invoke(caller, method, params, pipe_in=payload)
    except MethodNotFoundError:
        return PlainTextResponse("Method not found", status_code=422)
    except CallError as exc:
        return PlainTextResponse(str(exc), status_code=412)
    except Exception as exc:
        return PlainTextResponse(str(exc) or repr(exc), status_code=500)
    assert isinstance(job, Job)
    return JSONResponse({"job_id": job.id})


async def _download(sim: HttpHost, request: Request, job_part: str) -> Response:
    token = request.query_params.get("auth_token")
    if not token:
        return PlainTextResponse("Unauthorized", status_code=401)
    try:
        job_id = int(job_part)
    except ValueError:
        return PlainTextResponse("Not Found", status_code=404)
    ticket = sim.core.downloads.get(job_id)
    if ticket is None:
        return PlainTextResponse("Not Found", status_code=404)
    if token != ticket.token:
        return PlainTextResponse("Unauthorized", status_code=401)
    if ticket.taken or ticket.expired():
        return PlainTextResponse("Gone", status_code=410)
    origin = str((request.client or ("", 0))[0])
    if sim.auth.tokens.take(token, origin) is None:  # origin-bound, single use
        return PlainTextResponse("Unauthorized", status_code=401)
    ticket.taken = True
    await ticket.job.wait()
    body = bytes(ticket.job.output or b"")
    headers = {"Content-Disposition": f'attachment; filename="{ticket.filename}"'}
    return Response(body, media_type="application/octet-stream", headers=headers)
