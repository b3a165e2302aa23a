"""The committed generated package: complete, valid, importable without the generator, deterministic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from truenas_mcp_gen.check import compare
from truenas_mcp_gen.errors import GenerationError
from truenas_mcp_gen.pipeline import MARKER, GenerateConfig, generate

from truenas_mcp.catalog import load_catalog

GENERATED = Path(__file__).resolve().parents[2] / "generated"

BLOCK_GENERATOR_DEPS = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"jinja2", "datamodel_code_generator", "truenas_mcp_gen"}:
            raise ImportError(f"{name} must not be needed at runtime")
sys.meta_path.insert(0, Block())
from truenas_mcp.catalog import load_catalog
catalog = load_catalog()
definitions = [tool.definition() for tool in catalog.tools]
model = catalog.by_name["pool_dataset_delete"].args_model()
print(len(definitions), catalog.truenas_version, model.__name__)
"""


def test_the_package_lists_every_method_once() -> None:
    catalog = load_catalog()
    assert len(catalog) == 771
    assert len({tool.method for tool in catalog}) == 771
    assert [t.name for t in catalog.tools] == sorted(t.name for t in catalog.tools)


def test_the_package_imports_and_builds_all_tools_without_generator_dependencies() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_GENERATOR_DEPS], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["771", "25.04.2", "PoolDatasetDeleteArgs"]


def test_every_input_and_output_schema_is_valid_json_schema_2020_12() -> None:
    invalid = []
    for tool in load_catalog():
        for kind, schema in (("input", tool.input_schema), ("output", tool.output_schema)):
            if schema.get("type") != "object":
                invalid.append(f"{tool.name} {kind}: root is not type object")
            try:
                jsonschema.Draft202012Validator.check_schema(schema)
            except jsonschema.SchemaError as exc:
                invalid.append(f"{tool.name} {kind}: {exc.message}")
    assert invalid == []


def test_every_generated_file_carries_the_generated_header() -> None:
    missing = []
    for path in GENERATED.rglob("*"):
        if (
            not path.is_file()
            or "__pycache__" in path.parts
            or ".egg-info" in str(path)
            or path.name == "py.typed"
        ):
            continue
        content = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            data = json.loads(content)
            header = data.get("$comment") or data.get("info", {}).get("x-generated", "")
        else:
            header = content[:400]
        if "Do not edit" not in header or "regenerate with `truenas-mcp-gen generate`" not in header.replace(
            "\n# ", " "
        ):
            missing.append(str(path.relative_to(GENERATED)))
    assert missing == []


@pytest.mark.slow
def test_generation_is_byte_identical_across_runs_and_hash_seeds(tmp_path: Path) -> None:
    outputs = []
    for seed in ("1", "4242"):
        out = tmp_path / f"seed-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-m", "truenas_mcp_gen.cli", "generate", "--out", str(out), "-q"],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        outputs.append(out)
    drift = compare(outputs[0], outputs[1])
    assert drift.clean, drift.first_diff
    assert compare(outputs[0], GENERATED).clean


def test_generate_replaces_its_own_output_whole_and_refuses_a_foreign_folder(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("someone else's work\n")
    with pytest.raises(GenerationError, match=f"--out {foreign}: refusing to replace a folder"):
        generate(GenerateConfig(project=tmp_path, out=foreign, pin_if_missing=False))
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]

    out = tmp_path / "generated"
    first = generate(GenerateConfig(project=tmp_path, out=out, pin_if_missing=False))
    assert first.written and (out / MARKER).is_file()
    stale = out / "truenas_mcp_tools" / "tools" / "removed_namespace.py"
    stale.write_text("# left over from an older release\n")
    result = generate(GenerateConfig(project=tmp_path, out=out, pin_if_missing=False))
    assert not stale.exists()
    assert len(result.surface.tools) == 771
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign", "generated"]  # no staging left behind
    assert not (tmp_path / "spec").exists()  # the shipped recording is pinned already
