"""Exceptions a simulated method raises, mirroring the middleware's own classes.

The protocol layer turns each into the exact JSON-RPC error the real server sends
(``api/base/server/ws_handler/rpc.py``): ``CallError`` → -32001, ``ValidationErrors`` → -32602.
"""

from __future__ import annotations

import errno as _errno
import traceback
from typing import Any

from truenas_mcp import wire
from truenas_mcp.wire import CALL_ERROR, INVALID_PARAMS


def errname(code: int) -> str:
    return wire.errname(code) or "EUNKNOWN"


class CallError(Exception):
    """``middlewared.service_exception.CallError``: str() is ``[ERRNAME] message``."""

    def __init__(self, errmsg: str, errno: int = _errno.EFAULT, extra: Any = None) -> None:
        super().__init__(errmsg)
        self.errmsg = errmsg
        self.errno = errno
        self.extra = extra

    def __str__(self) -> str:
        return f"[{errname(self.errno)}] {self.errmsg}"


class ValidationErrors(Exception):
    """``ValidationErrors``: a list of (attribute, message, errno); serialized as ``extra``."""

    def __init__(self, errors: list[tuple[str | None, str, int]] | None = None) -> None:
        super().__init__()
        self.errors: list[tuple[str | None, str, int]] = list(errors or [])

    def add(self, attribute: str | None, message: str, errno: int = _errno.EINVAL) -> None:
        self.errors.append((attribute, message, errno))

    def check(self) -> None:
        if self.errors:
            raise self

    def __bool__(self) -> bool:
        return bool(self.errors)

    def __str__(self) -> str:
        return "".join(f"[{errname(e)}] {attr}: {msg}\n" for attr, msg, e in self.errors)


class InstanceNotFound(ValidationErrors):
    """``InstanceNotFound``, a single ``ValidationError``: a failed job reports its errno (ENOENT)."""

    @property
    def errno(self) -> int:
        return self.errors[0][2]


def instance_not_found(verbose_name: str, id: Any) -> ValidationErrors:
    """``InstanceNotFound``: what ``get_instance`` raises on a miss (-32602, errno ENOENT)."""
    return InstanceNotFound([(None, f"{verbose_name} {id} does not exist", _errno.ENOENT)])


class MatchNotFound(Exception):
    """Raised by ``query`` with ``get: true`` and no match; the wire reason is ``MatchNotFound()``."""

    def __repr__(self) -> str:
        return "MatchNotFound()"

    def __str__(self) -> str:
        return ""


def error_trace(exc: BaseException) -> dict[str, Any]:
    """The ``trace`` member of error data (``get_frame_details`` + ``format_exception``)."""
    frames: list[dict[str, Any]] = [
        {
            "filename": f.filename,
            "lineno": f.lineno,
            "method": f.name,
            "line": f.line,
            "argspec": [],
            "locals": {},
        }
        for f in traceback.extract_tb(exc.__traceback__)
    ]
    return {
        "class": type(exc).__name__,
        "frames": frames,
        "formatted": "".join(traceback.format_exception(exc)),
        "repr": repr(exc),
    }


def error_data(exc: BaseException) -> tuple[int, str, dict[str, Any]]:
    """JSON-RPC ``(code, message, data)`` for an exception raised by a method call."""
    if isinstance(exc, ValidationErrors):
        return (
            INVALID_PARAMS,
            "Invalid params",
            {
                "error": _errno.EINVAL,
                "errname": "EINVAL",
                "reason": str(exc),
                "trace": error_trace(exc),
                "extra": [list(e) for e in exc.errors],
            },
        )
    if isinstance(exc, CallError):
        code, extra = exc.errno, exc.extra
    else:
        code, extra = _errno.EINVAL, None
    reason = str(exc) or repr(exc)
    return (
        CALL_ERROR,
        "Method call error",
        {
            "error": code,
            "errname": errname(code),
            "reason": reason,
            "trace": error_trace(exc),
            "extra": extra,
        },
    )
