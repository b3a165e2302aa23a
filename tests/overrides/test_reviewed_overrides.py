"""The hand-written overrides hold the review rule of overrides/README.md on the real 771-method surface."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from truenas_mcp_gen import naming, text
from truenas_mcp_gen.ir import Tool
from truenas_mcp_gen.pipeline import Surface, build_surface

DEFAULT_OVERRIDES = Path(__file__).resolve().parents[2] / "overrides"

# The hand-written part of a description must stay cheap: every client pays for it in every session.
MAX_OWN_WORDS = 150
# Methods that only read, but whose answer unlocks data or the whole system.
SECRET_REVEALING = (
    "config.save",
    "filesystem.get",
    "pool.dataset.export_key",
    "pool.dataset.export_keys",
    "pool.dataset.export_keys_for_replication",
    "system.advanced.sed_global_password",
)
# Methods that run other methods or mint credentials: their descriptions must say they are privileged.
PRIVILEGED = ("core.bulk", "failover.call_remote", "auth.generate_token", "auth.generate_onetime_password")
_EXAMPLE_RE = re.compile(r"`(\{.*?\})`", re.S)
_POLICY_KEYS = ("safety", "confirm", "idempotent", "open_world")


@pytest.fixture(scope="module")
def surface() -> Surface:
    return build_surface(None, pin_if_missing=False)


@pytest.fixture(scope="module")
def tools(surface: Surface) -> dict[str, Tool]:
    return {t.method: t for t in surface.tools}


@pytest.fixture(scope="module")
def entries() -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for path in sorted((DEFAULT_OVERRIDES / "methods").glob("*.toml")):
        merged.update(tomllib.loads(path.read_text(encoding="utf-8")))
    return merged


def _own_text(tool: Tool) -> str:
    """The description without the notes the generator appends to every query, job or pipe tool."""
    own = tool.description
    for note in (text.QUERY_GRAMMAR, text.JOB_NOTE, *text.PIPE_NOTES.values()):
        own = own.replace(note, "")
    return own.strip()


def test_every_method_gets_its_safety_class_from_a_rule_or_a_reviewed_entry(surface: Surface) -> None:
    fallbacks = sorted(t.method for t in surface.tools if t.policy.safety_source == "fallback")
    assert fallbacks == []
    assert not [d for d in surface.diagnostics if "fallback" in str(d)]


def test_every_entry_that_departs_from_the_rules_states_a_reason(entries: Mapping[str, Any]) -> None:
    unexplained = sorted(
        m for m, e in entries.items() if any(k in e for k in _POLICY_KEYS) and not e.get("reason")
    )
    assert unexplained == []


def test_every_entry_file_holds_only_its_own_namespace() -> None:
    misplaced = []
    for path in sorted((DEFAULT_OVERRIDES / "methods").glob("*.toml")):
        for method in tomllib.loads(path.read_text(encoding="utf-8")):
            if method.split(".", 1)[0] != path.stem:
                misplaced.append(f"{path.name}: {method}")
    assert misplaced == []


def test_no_served_tool_name_carries_a_hash_suffix(surface: Surface) -> None:
    hashed = [
        t.method
        for t in surface.tools
        if len(t.method) > naming.MAX_TOOL_NAME and t.name == naming.tool_name(t.method)
    ]
    assert hashed == []
    assert all(naming.TOOL_NAME_RE.match(t.name) for t in surface.tools)
    assert len({t.name for t in surface.tools}) == len(surface.tools)


def test_every_method_without_an_upstream_description_gets_a_written_one(
    tools: Mapping[str, Tool],
    entries: Mapping[str, Any],
    recording_methods: Mapping[str, Any],
) -> None:
    missing = sorted(
        m
        for m, spec in recording_methods.items()
        if not (spec.get("description") or "").strip()
        and not tools[m].policy.excluded
        and not entries.get(m, {}).get("description")
    )
    assert missing == []


def test_hand_written_descriptions_stay_within_the_token_budget(
    tools: Mapping[str, Tool], entries: Mapping[str, Any]
) -> None:
    too_long = {
        m: len(e["description"].split())
        for m, e in entries.items()
        if e.get("description") and len(e["description"].split()) > MAX_OWN_WORDS
    }
    assert too_long == {}
    replaced = {
        m: len(_own_text(tools[m]).split())
        for m, e in entries.items()
        if e.get("description_mode") == "replace"
    }
    assert {m: n for m, n in replaced.items() if n > MAX_OWN_WORDS} == {}


def test_example_argument_objects_in_descriptions_validate_against_the_tool_schema(
    tools: Mapping[str, Tool], entries: Mapping[str, Any]
) -> None:
    checked, failures = 0, []
    for method, entry in sorted(entries.items()):
        for example in _EXAMPLE_RE.findall(entry.get("description") or ""):
            try:
                value = json.loads(example)
            except json.JSONDecodeError:
                continue  # prose such as `{...}` placeholders, not an argument object
            checked += 1
            for error in Draft202012Validator(tools[method].input_schema).iter_errors(value):
                failures.append(f"{method}: {example} -> {error.message}")
    assert checked >= 60  # the most-used tools each show at least one concrete call
    assert failures == []


def test_destructive_tools_always_ask_for_confirmation(surface: Surface) -> None:
    assert [
        t.method for t in surface.tools if t.policy.safety == "destructive" and not t.policy.confirm
    ] == []


@pytest.mark.parametrize("method", SECRET_REVEALING)
def test_methods_that_reveal_secrets_are_never_offered_as_reads(
    tools: Mapping[str, Tool], method: str
) -> None:
    assert tools[method].policy.safety != "read"
    assert tools[method].policy.confirm


@pytest.mark.parametrize("method", PRIVILEGED)
def test_privileged_methods_say_so_and_ask_first(tools: Mapping[str, Tool], method: str) -> None:
    assert "Privileged" in tools[method].description
    assert tools[method].policy.confirm


@pytest.mark.parametrize(
    ("method", "safety"),
    [
        ("pool.create", "destructive"),
        ("disk.resize", "destructive"),
        ("filesystem.put", "destructive"),
        ("update.update", "destructive"),
        ("config.upload", "destructive"),
        ("failover.reboot.other_node", "destructive"),
        ("core.bulk", "destructive"),
        ("core.job_wait", "read"),
        ("alert.restore", "write"),
        ("audit.export", "write"),
        ("smart.test.abort", "write"),
        ("keychaincredential.generate_ssh_key_pair", "read"),
        ("pool.snapshottask.delete_will_change_retention_for", "read"),
    ],
)
def test_verb_rules_are_corrected_where_truenas_semantics_differ(
    tools: Mapping[str, Tool], method: str, safety: str
) -> None:
    assert tools[method].policy.safety == safety
    assert tools[method].policy.safety_source == "override"


def test_the_most_used_tools_have_titles_and_written_docstrings(entries: Mapping[str, Any]) -> None:
    most_used = (
        "pool.query", "pool.scrub.run", "pool.dataset.query", "pool.dataset.create", "pool.dataset.update",
        "pool.dataset.delete", "zfs.snapshot.query", "zfs.snapshot.create", "zfs.snapshot.delete",
        "zfs.snapshot.rollback", "pool.snapshottask.create", "sharing.smb.create", "sharing.nfs.create",
        "service.start", "service.stop", "user.create", "group.create", "alert.list", "alert.dismiss",
        "app.query", "app.upgrade", "disk.query", "disk.temperatures", "system.info", "core.get_jobs",
        "core.job_wait", "reporting.get_data",
    )  # fmt: skip
    bare = [m for m in most_used if not (entries.get(m, {}).get("title") and entries[m].get("description"))]
    assert bare == []
