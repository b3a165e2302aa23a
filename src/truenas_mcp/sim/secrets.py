"""Which result fields a session sees masked: ``main.py dump_result`` of the real middleware.

A user session sees a method's result unredacted only if it is FULL_ADMIN or holds the write role of the
method's service (``{role_prefix}_WRITE``); every other session gets ``"********"`` at each secret field
(pydantic ``Secret[...]``, legacy ``private=True``). That applies to every direct call result: query rows,
``get_instance``, ``config``, create/update answers and each result of ``core.bulk``. A job method answers
with the job id, and its result is redacted only in ``core.get_jobs`` rows asked for without
``raw_result`` (``job.py __encode__``), whoever asks; ``core.job_wait`` and job events carry it raw.

The recording does not mark secret fields, so the reviewed per-method paths of the generated tool
catalogue (``Policy.secret_outputs``) say where they are. The recording does not name a service's
``role_prefix`` either; its write role and every role that includes it are the ``*_WRITE`` roles recorded
on the service's ``update`` (or ``create``) method, which is what the MCP server decides by too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from truenas_mcp.catalog import Catalog, CatalogNotFound, load_catalog
from truenas_mcp.secrets import mask_paths
from truenas_mcp.sim.api import Session

CATALOG = "25.04.2"  # the entry point name of the ``truenas_mcp_tools`` package
_WRITE_SUFFIX = "_WRITE"
_WRITER_VERBS = ("update", "create")


@dataclass(frozen=True, slots=True)
class _Secrets:
    paths: tuple[str, ...]
    write_roles: frozenset[str]  # empty: only FULL_ADMIN sees them


class SecretFields:
    """The secret result paths of every method and the roles that see them unmasked."""

    def __init__(self, catalog: Catalog) -> None:
        by_method = catalog.by_method
        found: dict[str, _Secrets] = {}
        for tool in catalog:
            if not tool.policy.secret_outputs:
                continue
            writers = [by_method.get(f"{tool.policy.namespace}.{verb}") for verb in _WRITER_VERBS]
            writer = next((w for w in writers if w is not None), None)
            roles = writer.policy.roles if writer is not None else ()
            found[tool.method] = _Secrets(
                tool.policy.secret_outputs, frozenset(r for r in roles if r.endswith(_WRITE_SUFFIX))
            )
        self._by_method: Mapping[str, _Secrets] = found

    def paths(self, method: str) -> tuple[str, ...]:
        entry = self._by_method.get(method)
        return entry.paths if entry is not None else ()

    def sees(self, session: Session, method: str) -> bool:
        """Whether ``session`` gets ``method``'s secret fields unmasked."""
        entry = self._by_method.get(method)
        if entry is None or session.full_admin:
            return True
        return any(session.has_role(role) for role in entry.write_roles)

    def for_session(self, session: Session, method: str, result: Any) -> Any:
        """``result`` of ``method`` as ``session`` receives it."""
        if self.sees(session, method):
            return result
        return mask_paths(result, self._by_method[method].paths)

    def masked(self, method: str, result: Any) -> Any:
        """``result`` of ``method`` with every secret field masked, whoever asks."""
        return mask_paths(result, self.paths(method))


def load_secret_fields() -> SecretFields:
    """The secret fields of the installed tool catalogue; without it the simulator would leak secrets."""
    try:
        catalog = load_catalog(CATALOG)
    except CatalogNotFound as exc:
        raise RuntimeError(
            "the simulator masks secret fields by the generated tool catalogue's reviewed paths and "
            f"cannot start without it: {exc}"
        ) from exc
    return SecretFields(catalog)
