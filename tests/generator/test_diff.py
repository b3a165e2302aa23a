"""``diff`` on two small hand-made recordings: additions, removals, renames and breaking changes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from truenas_mcp_gen.cli import main
from truenas_mcp_gen.diff import diff_surfaces, format_text
from truenas_mcp_gen.pipeline import build_surface

from tests.generator.test_spec import ENTRY


def entry(accepts: list[Any], **extra: Any) -> dict[str, Any]:
    return {**copy.deepcopy(ENTRY), "accepts": accepts, **extra}


OBJ = {
    "_name_": "opts", "type": "object", "_attrs_order_": ["name", "size"], "additionalProperties": False,
    "properties": {
        "name": {"_name_": "name", "_required_": True, "type": "string"},
        "size": {"_name_": "size", "_required_": False, "type": ["integer", "null"]},
        "mode": {"_name_": "mode", "_required_": False, "type": "string", "enum": ["A", "B", "C"]},
    },
}  # fmt: skip
OLD = {
    "thing.create": entry([OBJ]),
    "thing.gone": entry([]),
    "zfs.snapshot.clone": entry([{"_name_": "id", "_required_": True, "type": "string"}]),
    "thing.stable": entry([]),
}


def new_recording() -> dict[str, Any]:
    new = copy.deepcopy(OLD)
    props = new["thing.create"]["accepts"][0]["properties"]
    props["owner"] = {"_name_": "owner", "_required_": True, "type": "string"}  # new required argument
    props["size"]["type"] = "integer"  # null no longer accepted
    props["mode"]["enum"] = ["A", "B"]  # an accepted value disappears
    del new["thing.gone"]
    new["pool.snapshot.clone"] = new.pop("zfs.snapshot.clone")
    new["thing.added"] = entry([])
    return new


def write(folder: Path, version: str, methods: dict[str, Any]) -> Path:
    """A recording under a name that carries no release: the release is passed to the diff."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"recording-{version}.json"
    path.write_text(json.dumps(methods, sort_keys=True, indent=1))
    return path


def surfaces(tmp_path: Path) -> tuple[Path, Path]:
    return write(tmp_path / "a", "1.0", OLD), write(tmp_path / "b", "2.0", new_recording())


def test_diff_reports_additions_removals_renames_and_breaking_changes(tmp_path: Path) -> None:
    old_path, new_path = surfaces(tmp_path)
    old, new = (build_surface(p, project=tmp_path, release=r, pin_if_missing=None,
                              ignore_unknown_overrides=True)
                for p, r in ((old_path, "1.0"), (new_path, "2.0")))  # fmt: skip
    result = diff_surfaces(old, new)
    assert result.added == ("thing_added",)
    assert result.removed == ("thing_gone",)
    assert result.renamed == (("zfs_snapshot_clone", "pool_snapshot_clone"),)
    kinds = {(c.tool, c.kind, c.breaking) for c in result.changes}
    assert ("thing_create", "required-added", True) in kinds
    assert ("thing_create", "type-narrowed", True) in kinds
    assert ("thing_create", "enum-narrowed", True) in kinds
    assert result.breaking
    assert "owner" in format_text(result)
    assert not list(tmp_path.rglob("*.pin.json"))  # comparing never pins


def test_diff_cli_exit_status_and_json(tmp_path: Path) -> None:
    old_path, new_path = surfaces(tmp_path)
    runner = CliRunner()
    releases = ["--old-release", "1.0", "--new-release", "2.0", "--project", str(tmp_path)]
    same = runner.invoke(main, ["diff", str(old_path), str(old_path), *releases])
    assert same.exit_code == 0, same.output
    assert "no tool-surface changes" in same.output
    changed = runner.invoke(main, ["diff", "--format", "json", str(old_path), str(new_path), *releases])
    assert changed.exit_code == 1, changed.output
    data = json.loads(changed.output)
    assert data["breaking"] is True and data["removed"] == ["thing_gone"]


def test_widening_is_not_breaking(tmp_path: Path) -> None:
    widened = copy.deepcopy(OLD)
    widened["thing.create"]["accepts"][0]["properties"]["name"]["type"] = ["string", "null"]
    widened["thing.create"]["accepts"][0]["properties"]["extra"] = {"_name_": "extra", "type": "string"}
    result = CliRunner().invoke(
        main,
        [
            "diff", str(write(tmp_path / "a", "1.0", OLD)), str(write(tmp_path / "b", "1.1", widened)),
            "--old-release", "1.0", "--new-release", "1.1", "--project", str(tmp_path),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "type-widened" in result.output and "property-added" in result.output
