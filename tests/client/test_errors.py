"""JSON-RPC error answers map to typed exceptions carrying errno, errname, reason and field errors."""

from __future__ import annotations

import errno

from truenas_mcp.client import errors


def test_validation_error_carries_field_pairs() -> None:
    exc = errors.rpc_error(
        "user.create",
        {
            "code": -32602,
            "message": "Invalid params",
            "data": {
                "error": 22,
                "errname": "EINVAL",
                "reason": "[EINVAL] user_create.username: Field required\n",
                "trace": None,
                "extra": [["user_create.username", "Field required", 22], [None, "user 5 does not exist", 2]],
            },
        },
    )
    assert isinstance(exc, errors.ValidationError)
    assert (exc.errno, exc.errname) == (errno.EINVAL, "EINVAL")
    assert exc.errors == [
        errors.FieldError("user_create.username", "Field required", 22),
        errors.FieldError(None, "user 5 does not exist", 2),
    ]
    assert "user_create.username: Field required" in str(exc)


def test_call_error_subclasses_by_errno() -> None:
    def call_error(code: int, reason: str) -> errors.RPCError:
        data = {"error": code, "errname": None, "reason": reason, "trace": None, "extra": None}
        return errors.rpc_error("m", {"code": -32001, "message": "Method call error", "data": data})

    assert isinstance(call_error(207, "Not authenticated"), errors.NotAuthenticatedError)
    denied = call_error(errno.EACCES, "Not authorized")
    assert isinstance(denied, errors.NotAuthorizedError) and denied.errname == "EACCES"
    busy = call_error(errno.EBUSY, "[EBUSY] in use")
    assert type(busy) is errors.CallError and busy.reason == "[EBUSY] in use" and not busy.retryable


def test_codes_without_data_keep_the_message() -> None:
    missing = errors.rpc_error("nope.nothing", {"code": -32601, "message": "Method does not exist"})
    assert isinstance(missing, errors.MethodNotFoundError)
    assert missing.reason == "Method does not exist" and missing.errno is None
    queue_full = errors.rpc_error("m", {"code": -32000, "message": "Maximum number of concurrent calls (20)"})
    assert isinstance(queue_full, errors.TooManyCallsError) and queue_full.retryable


def test_custom_errnames_are_known() -> None:
    assert errors.errname_of(205) == "EDATASETISLOCKED"
    assert errors.errname_of(errno.ENOENT) == "ENOENT"
