"""Typed exceptions of the TrueNAS client.

Every failure a caller can act on has its own class. Server errors keep what the middleware sent
(``errno``, ``errname``, ``reason``, ``extra``, validation pairs) so the MCP layer can show them verbatim.
``retryable`` says whether sending the same request again later is safe to try: true only when the failure
happened before or around the transport (connection lost, server queue full), never for a server verdict.
"""

from __future__ import annotations

import errno as _errno
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from truenas_mcp.client.jobs import Job

from truenas_mcp.wire import (
    CALL_ERROR,
    ENOTAUTHENTICATED,
    INTERNAL_ERROR,
    INVALID_JSON,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    TOO_MANY_CONCURRENT_CALLS,
    errname,
)


def errname_of(errno: int | None) -> str | None:
    return errname(errno)


class TrueNASError(Exception):
    """Base class of everything this client raises."""

    retryable: bool = False


class ClientConfigError(TrueNASError, ValueError):
    """A setting is missing, contradictory or unreadable; the message names the setting."""


class InsecureTransportError(ClientConfigError):
    """A credential would cross the network in clear text; refused before anything is sent."""


class AuthenticationError(TrueNASError):
    """Login was refused. Never retried automatically: TrueNAS rate-limits and locks accounts out."""

    def __init__(self, message: str, response_type: str | None = None) -> None:
        super().__init__(message)
        self.response_type = response_type


class ConnectionLostError(TrueNASError):
    """The connection dropped while the call was in flight; it may or may not have run on the server."""

    retryable = True


class NotConnectedError(ConnectionLostError):
    """No usable connection appeared within the call's timeout (the client is reconnecting)."""


class ClientClosedError(TrueNASError):
    """The client was closed, or stopped for good after a refused login."""


class CallTimeoutError(TrueNASError, TimeoutError):
    """No answer within the call's timeout. The call may still complete on the server."""

    def __init__(self, method: str, timeout: float) -> None:
        super().__init__(f"{method}: no answer from TrueNAS within {timeout:g} s")
        self.method = method
        self.timeout = timeout


class ProtocolError(TrueNASError):
    """TrueNAS answered something this client cannot use (e.g. no job id from a job method)."""


class MessageTooLargeError(TrueNASError, ValueError):
    """The request exceeds the server's frame limit; sending it would make TrueNAS close the socket."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One entry of a middleware ``ValidationErrors``: the attribute path may be empty or ``None``."""

    field: str | None
    message: str
    errno: int | None = _errno.EINVAL


def parse_validation_extra(extra: Any) -> list[FieldError]:
    """``[[attribute, errmsg, errno], ...]`` → field errors; anything else → no pairs."""
    errors: list[FieldError] = []
    if not isinstance(extra, list):
        return errors
    for item in extra:
        if isinstance(item, list | tuple) and len(item) >= 2:
            code = item[2] if len(item) > 2 and isinstance(item[2], int) else None
            errors.append(FieldError(item[0], str(item[1]), code))
    return errors


class RPCError(TrueNASError):
    """A JSON-RPC error answer. ``data`` fields are flattened into attributes."""

    def __init__(self, method: str, code: int, message: str, data: Any = None) -> None:
        self.method = method
        self.code = code
        self.message = message
        self.data = data
        info = data if isinstance(data, dict) else {}
        errno = info.get("error")
        self.errno: int | None = errno if isinstance(errno, int) else None
        self.errname: str | None = info.get("errname") or errname_of(self.errno)
        self.reason: str = info.get("reason") or message
        self.extra: Any = info.get("extra")
        self.trace: Any = info.get("trace")
        super().__init__(f"{method}: {self.reason}")


class MethodNotFoundError(RPCError):
    """``-32601``: the method does not exist on this TrueNAS version."""


class InvalidRequestError(RPCError):
    """``-32600``/``-32700``: the server could not parse the request (a client bug)."""


class ValidationError(RPCError):
    """``-32602``: the server rejected the arguments. ``errors`` lists (field, message, errno)."""

    def __init__(self, method: str, code: int, message: str, data: Any = None) -> None:
        super().__init__(method, code, message, data)
        self.errors = parse_validation_extra(self.extra)


class CallError(RPCError):
    """``-32001``: the method ran and failed (``CallError`` or any other exception on the server)."""


class NotAuthenticatedError(CallError):
    """errno ``ENOTAUTHENTICATED``: the session is not logged in."""


class NotAuthorizedError(CallError):
    """errno ``EACCES``: the credential's roles do not allow this method (or the session expired)."""


class TooManyCallsError(RPCError):
    """``-32000``: the server's per-connection queue is full. Safe to retry later."""

    retryable = True


_BY_CODE: dict[int, type[RPCError]] = {
    METHOD_NOT_FOUND: MethodNotFoundError,
    INVALID_REQUEST: InvalidRequestError,
    INVALID_JSON: InvalidRequestError,
    INVALID_PARAMS: ValidationError,
    CALL_ERROR: CallError,
    TOO_MANY_CONCURRENT_CALLS: TooManyCallsError,
}


def rpc_error(method: str, error: Any) -> RPCError:
    """Map a JSON-RPC ``error`` member to the most specific exception class."""
    if not isinstance(error, dict):
        return RPCError(method, INTERNAL_ERROR, f"malformed error answer: {error!r}")
    code = error.get("code")
    code = code if isinstance(code, int) else INTERNAL_ERROR
    message = str(error.get("message") or "")
    data = error.get("data")
    cls = _BY_CODE.get(code, RPCError)
    if cls is CallError and isinstance(data, dict):
        if data.get("error") == ENOTAUTHENTICATED:
            cls = NotAuthenticatedError
        elif data.get("error") == _errno.EACCES:
            cls = NotAuthorizedError
    return cls(method, code, message, data)


class JobError(TrueNASError):
    """Base for job outcomes that are not a result."""

    def __init__(self, message: str, job_id: int, job: Job | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.job = job


class JobNotFoundError(JobError):
    """``core.get_jobs`` does not know the id (never existed, or aged out of the server's 1000 kept)."""


class JobFailedError(JobError):
    """The job ended ``FAILED``. Carries the job's error text and ``exc_info`` (errno, type, extra)."""

    def __init__(self, job: Job) -> None:
        exc_info = job.exc_info or {}
        self.error: str = job.error or "job failed without an error message"
        self.errno: int | None = exc_info.get("errno") if isinstance(exc_info.get("errno"), int) else None
        self.errname: str | None = errname_of(self.errno)
        self.error_type: str | None = exc_info.get("type")
        self.extra: Any = exc_info.get("extra")
        self.errors = parse_validation_extra(self.extra) if self.error_type == "VALIDATION" else []
        super().__init__(f"job {job.id} ({job.method}) failed: {self.error}", job.id, job)


class JobAbortedError(JobError):
    """The job ended ``ABORTED``."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"job {job.id} ({job.method}) was aborted", job.id, job)


class JobWaitTimeoutError(JobError, TimeoutError):
    """The wait bound expired; the job keeps running and can be waited on again by id."""

    def __init__(self, job_id: int, timeout: float, job: Job | None) -> None:
        state = job.state if job is not None else "unknown"
        super().__init__(f"job {job_id} still {state} after {timeout:g} s", job_id, job)
        self.timeout = timeout


class SubscriptionError(TrueNASError):
    """The server ended a subscription (``notify_unsubscribed`` with an error) or refused it."""

    def __init__(self, name: str, message: str, error: Any = None) -> None:
        super().__init__(f"subscription {name!r}: {message}")
        self.name = name
        self.error = error


class TransferError(TrueNASError):
    """An ``/_upload`` or ``/_download`` HTTP request failed."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = status is None or status >= 500
