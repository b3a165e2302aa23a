"""Constants of the TrueNAS 25.04.2 wire protocol, shared by the client and the simulator.

JSON-RPC codes from ``api/base/server/ws_handler/rpc.py``; errnos the middleware adds to the OS ones from
``middlewared/service_exception.py``. One copy, so both sides of every test speak the same numbers.
"""

from __future__ import annotations

import errno as _errno

# What TrueNAS sends in place of a value it redacts (``Secret`` fields, legacy ``private`` attributes;
# ``SECRET_VALUE`` in api/base/types/string.py); the server masks with the same text, and tool output
# schemas admit it at every secret field.
SECRET_VALUE = "********"

INVALID_JSON = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
TOO_MANY_CONCURRENT_CALLS = -32000
CALL_ERROR = -32001

ENOMETHOD = 201
ESERVICESTARTFAILURE = 202
EALERTCHECKERUNAVAILABLE = 203
EREMOTENODEERROR = 204
EDATASETISLOCKED = 205
EINVALIDRRDTIMESTAMP = 206
ENOTAUTHENTICATED = 207
ESSLCERTVERIFICATIONERROR = 208

CUSTOM_ERRNAMES = {
    ENOMETHOD: "ENOMETHOD",
    ESERVICESTARTFAILURE: "ESERVICESTARTFAILURE",
    EALERTCHECKERUNAVAILABLE: "EALERTCHECKERUNAVAILABLE",
    EREMOTENODEERROR: "EREMOTENODEERROR",
    EDATASETISLOCKED: "EDATASETISLOCKED",
    EINVALIDRRDTIMESTAMP: "EINVALIDRRDTIMESTAMP",
    ENOTAUTHENTICATED: "ENOTAUTHENTICATED",
    ESSLCERTVERIFICATIONERROR: "ESSLCERTVERIFICATIONERROR",
}


def errname(code: int | None) -> str | None:
    """``EINVAL`` for 22, ``ENOTAUTHENTICATED`` for 207; None for a number neither side knows."""
    if code is None:
        return None
    return CUSTOM_ERRNAMES.get(code) or _errno.errorcode.get(code)
