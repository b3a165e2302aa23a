"""Read one ``core.get_methods`` entry whatever release wrote it.

Each release adds and drops entry keys (25.10 dropped ``extra_methods``; later releases drop more), so an
entry is read key by key: a key that is present is taken as recorded, a missing one is inferred from what
the entry still says (mostly ``accepts``) or given the safe default, and every absence or unknown key is
reported once per key for the whole recording, naming how many methods it concerns and what was assumed.
Only ``accepts`` is indispensable: without parameters there is no tool.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from truenas_mcp_gen.errors import Diagnostic, Severity

Raw = Mapping[str, Any]


def _param_names(entry: Raw) -> list[str | None]:
    return [p.get("_name_") if isinstance(p, dict) else None for p in entry["accepts"]]


def _infer_filterable(name: str, entry: Raw) -> bool:
    """Query methods take ``(filters, options)``; ``*.query`` is filterable in every recorded release."""
    return name.endswith(".query") or _param_names(entry)[:2] == ["filters", "options"]


def _infer_item_method(name: str, entry: Raw) -> bool:
    """Whether the first argument is the item id: what CRUD services declare as the ``id`` parameter."""
    return _param_names(entry)[:1] == ["id"]


def _infer_job(name: str, entry: Raw) -> bool:
    return False


# key → (inference when missing, what the report says was assumed)
_INFERRED: dict[str, tuple[Callable[[str, Raw], Any], str]] = {
    "filterable": (_infer_filterable, "filterable when named *.query or taking (filters, options)"),
    "item_method": (_infer_item_method, "first argument is the item id when it is named 'id'"),
    "job": (_infer_job, "not a job"),
}
_DEFAULTS: dict[str, tuple[Any, str]] = {
    "returns": (None, "result typed as any value"),
    "description": ("", "no description"),
    "roles": ([], "FULL_ADMIN only (the safe reading of no roles)"),
    "no_auth_required": (False, "authentication required"),
    "downloadable": (False, "no download pipe"),
    "uploadable": (False, "no upload pipe"),
    "require_websocket": (False, "callable over any transport"),
    "check_pipes": (True, "pipes checked"),
    "examples": ({}, "no examples"),
}
# Keys some release recorded that nothing downstream reads; their absence is not worth a report.
_IGNORED = frozenset({"cli_description", "extra_methods", "filterable_schema", "pass_application"})
KNOWN_KEYS = frozenset({"accepts", *_INFERRED, *_DEFAULTS, *_IGNORED})


@dataclass(frozen=True)
class Entry:
    """One method entry with every key the generator reads, recorded or inferred."""

    accepts: list[Any]
    returns: list[Any] | None
    description: str
    job: bool
    filterable: bool
    item_method: bool
    no_auth: bool
    roles: tuple[str, ...]
    downloadable: bool
    uploadable: bool
    require_websocket: bool
    examples: Mapping[str, Any]


class EntryReader:
    """Reads entries and collects, per key, which methods lacked it or carried something unknown."""

    def __init__(self) -> None:
        self.missing: dict[str, list[str]] = defaultdict(list)
        self.unknown: dict[str, list[str]] = defaultdict(list)
        self.malformed: list[Diagnostic] = []

    def read(self, name: str, entry: Raw) -> Entry:
        for key in entry.keys() - KNOWN_KEYS:
            self.unknown[key].append(name)
        values: dict[str, Any] = {}
        for key, (infer, _why) in _INFERRED.items():
            if key in entry:
                values[key] = entry[key]
            else:
                self.missing[key].append(name)
                values[key] = infer(name, entry)
        for key, (default, _why) in _DEFAULTS.items():
            if key in entry:
                values[key] = entry[key]
            else:
                self.missing[key].append(name)
                values[key] = default
        returns = values["returns"]
        if returns is not None and not isinstance(returns, list):
            self.malformed.append(
                Diagnostic(
                    Severity.WARNING,
                    name,
                    "/returns",
                    f"'returns' is a {type(returns).__name__}, not a list; result typed as any value",
                )
            )
            returns = None
        roles = values["roles"]
        return Entry(
            accepts=list(entry["accepts"]),
            returns=returns,
            description=values["description"] if isinstance(values["description"], str) else "",
            job=bool(values["job"]),
            filterable=bool(values["filterable"]),
            item_method=bool(values["item_method"]),
            no_auth=bool(values["no_auth_required"]),
            roles=tuple(str(r) for r in roles) if isinstance(roles, list) else (),
            downloadable=bool(values["downloadable"]),
            uploadable=bool(values["uploadable"]),
            require_websocket=bool(values["require_websocket"]),
            examples=values["examples"] if isinstance(values["examples"], dict) else {},
        )

    def diagnostics(self) -> list[Diagnostic]:
        """One finding per missing or unknown key, for the whole recording."""
        found = list(self.malformed)
        assumed = {key: why for key, (_v, why) in (*_INFERRED.items(), *_DEFAULTS.items())}
        for key, names in sorted(self.missing.items()):
            found.append(
                Diagnostic(
                    Severity.WARNING,
                    names[0],
                    "",
                    f"entry key {key!r} missing in {len(names)} method(s); assumed: {assumed[key]}",
                )
            )
        for key, names in sorted(self.unknown.items()):
            found.append(
                Diagnostic(
                    Severity.INFO,
                    names[0],
                    "",
                    f"unknown entry key {key!r} in {len(names)} method(s); ignored",
                )
            )
        return found
