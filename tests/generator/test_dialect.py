"""Recordings of other releases: entry keys dropped or added and unknown schema keywords still generate."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from truenas_mcp_gen.cli import main
from truenas_mcp_gen.dialect import EntryReader
from truenas_mcp_gen.errors import Severity
from truenas_mcp_gen.pipeline import GenerateConfig, build_surface, generate

from truenas_mcp.recordings import resolve_methods

PROJECT_OVERRIDES = Path(__file__).resolve().parents[2] / "overrides"
SAMPLE = (
    "pool.dataset.create", "pool.dataset.query", "pool.dataset.delete", "user.update", "core.ping",
    "filesystem.put", "system.info", "zfs.snapshot.create",
)  # fmt: skip


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resolve_methods(env={}).data)
    return data


def future_release(shipped: dict[str, Any]) -> dict[str, Any]:
    """What a later release might record: fewer entry keys, new ones, keywords nobody knows yet."""
    methods = {name: copy.deepcopy(shipped[name]) for name in SAMPLE}
    for entry in methods.values():
        for key in ("extra_methods", "item_method", "filterable", "filterable_schema", "cli_description"):
            entry.pop(key, None)
        entry["streaming"] = {"kind": "none"}  # an entry key this generator has never seen
    methods["system.info"].pop("returns")
    methods["core.ping"].pop("roles")
    props = methods["pool.dataset.create"]["accepts"][0]["properties"]
    props["name"]["x-future-hint"] = {"ui": "wide"}
    props["comments"]["type"] = "decimal128"
    props["quota_warning"]["dependentRequired"] = {"a": ["b"]}
    methods["pool.snapshot.clone_to"] = copy.deepcopy(shipped["zfs.snapshot.clone"])
    return methods


def test_missing_entry_keys_are_inferred_and_reported_once_per_key(shipped: dict[str, Any]) -> None:
    methods = future_release(shipped)
    reader = EntryReader()
    entries = {name: reader.read(name, entry) for name, entry in methods.items()}
    assert entries["pool.dataset.query"].filterable  # from its (filters, options) parameters
    assert not entries["pool.dataset.create"].filterable
    assert entries["pool.dataset.delete"].item_method  # its first argument is the id
    assert entries["core.ping"].roles == ()  # no roles: FULL_ADMIN only, never "everyone"
    assert entries["system.info"].returns is None
    found = {d.message.split(";")[0]: d.severity for d in reader.diagnostics()}
    assert found == {
        "entry key 'filterable' missing in 8 method(s)": Severity.WARNING,
        "entry key 'item_method' missing in 8 method(s)": Severity.WARNING,
        "entry key 'returns' missing in 1 method(s)": Severity.WARNING,
        "entry key 'roles' missing in 1 method(s)": Severity.WARNING,
        "unknown entry key 'streaming' in 8 method(s)": Severity.INFO,
    }


def test_a_release_under_a_name_without_a_version_generates_completely(
    tmp_path: Path, shipped: dict[str, Any]
) -> None:
    recording = tmp_path / "box-export.json"
    recording.write_text(json.dumps(future_release(shipped), sort_keys=True, indent=1))
    config = GenerateConfig(
        project=tmp_path, spec=recording, release="99.1", overrides=PROJECT_OVERRIDES, pin_if_missing=True
    )
    result = generate(config)
    assert result.written and len(result.surface.tools) == len(SAMPLE) + 1
    by_method = {t.method: t for t in result.surface.tools}
    comments = by_method["pool.dataset.create"].input_schema["properties"]["comments"]
    assert "type" not in comments  # an unknown type accepts any value rather than inventing one
    for tool in result.surface.tools:
        jsonschema.Draft202012Validator.check_schema(tool.input_schema)
        jsonschema.Draft202012Validator.check_schema(tool.output_schema)
    warnings = {
        (d.method, d.pointer, d.message) for d in result.diagnostics if d.severity == Severity.WARNING
    }
    assert (
        "pool.dataset.create", "/accepts/0/properties/name", "unknown schema keyword 'x-future-hint' dropped"
    ) in warnings  # fmt: skip
    assert (
        "pool.dataset.create", "/accepts/0/properties/comments",
        "unknown type 'decimal128' dropped; accepts any value",
    ) in warnings  # fmt: skip
    # Reviewed policy carries over by method name; the new method got the rules' policy, marked unreviewed.
    assert [t.method for t in result.surface.tools if not t.policy.reviewed] == ["pool.snapshot.clone_to"]
    assert by_method["pool.dataset.delete"].policy.confirm  # the reviewed entry still applies
    assert (tmp_path / "spec" / "truenas-99.1.pin.json").is_file()
    package = tmp_path / "generated" / "truenas_mcp_tools"
    assert "TRUENAS_VERSION = '99.1'" in (package / "__init__.py").read_text().replace('"', "'")
    assert (package / "tools" / "pool_snapshot.py").is_file()


def test_generate_lists_unreviewed_methods_and_strict_makes_warnings_fatal(
    tmp_path: Path, shipped: dict[str, Any]
) -> None:
    recording = tmp_path / "export.json"
    recording.write_text(json.dumps(future_release(shipped)))
    args = ["generate", "--project", str(tmp_path), "--spec", str(recording), "--release", "99.2"]
    args += ["--overrides", str(PROJECT_OVERRIDES), "-q"]
    strict = CliRunner().invoke(main, [*args, "--strict"])
    assert strict.exit_code == 1
    assert "nothing written" in strict.output and not (tmp_path / "generated").exists()
    lenient = CliRunner().invoke(main, args)
    assert lenient.exit_code == 0, lenient.output
    assert "unreviewed policy (verb rules applied): pool.snapshot.clone_to" in lenient.output
    assert "1 method(s) with unreviewed policy" in lenient.output


def test_a_schema_that_is_not_json_schema_is_an_error_naming_method_and_path(
    tmp_path: Path, shipped: dict[str, Any]
) -> None:
    methods = {"core.ping": copy.deepcopy(shipped["core.ping"])}
    methods["core.ping"]["returns"] = [{"type": "string", "minLength": "three"}]
    recording = tmp_path / "bad.json"
    recording.write_text(json.dumps(methods))
    surface = build_surface(recording, PROJECT_OVERRIDES, project=tmp_path, release="1", pin_if_missing=None)
    errors = [d for d in surface.diagnostics if d.severity == Severity.ERROR]
    assert [(d.method, d.pointer) for d in errors] == [
        ("core.ping", "/outputSchema/properties/result/minLength")
    ]
    result = CliRunner().invoke(
        main, ["generate", "--project", str(tmp_path), "--spec", str(recording), "--release", "1", "-q",
               "--overrides", str(PROJECT_OVERRIDES)],
    )  # fmt: skip
    assert (
        result.exit_code == 1
        and "error: core.ping#/outputSchema/properties/result/minLength" in result.output
    )
    assert not (tmp_path / "generated").exists() and not (tmp_path / "spec").exists()
