"""Exceptions a simulated method raises, mirroring the middleware's own classes.

The protocol layer turns each into the exact JSON-RPC error the real server sends
(``api/base/server/ws_handler/rpc.py``): ``CallError`` → -32001, ``ValidationErrors`` → -32602.
"""

from __future__ import annotations

import errno as _errno
from typing import Any

from truenas_mcp import wire


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


def instance_not_found(verbose_name: str, id: Any) -> ValidationErrors:
    """``InstanceNotFound``: what ``get_instance`` raises on a miss (-32602, errno ENOENT)."""
    return ValidationErrors([(None, f"{verbose_name} {id} does not exist", _errno.ENOENT)])


class MatchNotFound(Exception):
    """Raised by ``query`` with ``get: true`` and no match; the wire reason is ``MatchNotFound()``."""

    def __repr__(self) -> str:
        return "MatchNotFound()"

    def __str__(self) -> str:
        return ""
