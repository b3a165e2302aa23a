"""Which roles a role includes, derived from the recording (``role.py roles_for_role`` on the box).

Each recorded method lists every role that may call it, closure included (``SHARING_ADMIN`` appears
wherever ``READONLY_ADMIN`` does, because it includes it). So role A includes role B exactly when A is
listed on every method B is listed on; ``FULL_ADMIN`` includes every role. A session's privilege names
its roles unexpanded (``user.query`` shows those); ``auth.me`` and ``has_role`` see the expanded set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

FULL_ADMIN = "FULL_ADMIN"
READONLY_ADMIN = "READONLY_ADMIN"
# READONLY_ADMIN is listed directly on a few write methods (``api_key.create``: a read-only administrator
# may make keys for itself), which the recording cannot tell apart from inclusion; ``role.py`` gives it
# exactly the ``*_READ`` roles, so only those count as included.
_READ_SUFFIX = "_READ"

_CLOSURES: dict[int, tuple[Mapping[str, Any], dict[str, frozenset[str]]]] = {}


def _closure(methods: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    cached = _CLOSURES.get(id(methods))
    if cached is not None and cached[0] is methods:
        return cached[1]
    grants: dict[str, set[str]] = {}
    for name, entry in methods.items():
        for role in entry.get("roles") or ():
            grants.setdefault(role, set()).add(name)
    closure = {
        role: frozenset(other for other, granted in grants.items() if granted <= mine)
        for role, mine in grants.items()
    }
    if READONLY_ADMIN in closure:
        closure[READONLY_ADMIN] = frozenset(
            r for r in closure[READONLY_ADMIN] if r == READONLY_ADMIN or r.endswith(_READ_SUFFIX)
        )
        # A write role granted only on methods that also list READONLY_ADMIN directly (API_KEY_WRITE)
        # looks included in every role that includes READONLY_ADMIN; role.py gives it to no compound role.
        read_only = grants[READONLY_ADMIN]
        shadowed = {
            r for r, granted in grants.items() if not r.endswith(_READ_SUFFIX) and granted <= read_only
        } - {READONLY_ADMIN}
        closure = {
            role: frozenset(r for r in included if r == role or r not in shadowed)
            for role, included in closure.items()
        }
    closure[FULL_ADMIN] = frozenset([*grants, FULL_ADMIN])
    _CLOSURES[id(methods)] = (methods, closure)
    return closure


def expand(methods: Mapping[str, Any], roles: Iterable[str]) -> frozenset[str]:
    """Every role that ``roles`` grant, themselves included (unknown names stay as they are)."""
    closure = _closure(methods)
    found: set[str] = set()
    for role in roles:
        found |= closure.get(role, frozenset({role}))
    return frozenset(found)
