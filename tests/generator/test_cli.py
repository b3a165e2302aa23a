"""The command line on bad input: a one-line error, a non-zero exit, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from truenas_mcp_gen.cli import main

from tests.generator.test_spec import ENTRY


def test_generate_refuses_a_broken_recording_and_leaves_the_output_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / ".truenas-mcp-gen").write_text("marker")
    (out / "keep.txt").write_text("previous output")
    bad = tmp_path / "truenas-9.9.methods.json"
    bad.write_text("{broken")
    args = ["generate", "--spec", str(bad), "--release", "9.9", "--out", str(out), "-q"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.output.strip().startswith(f"Error: {bad}: not JSON")
    assert len(result.output.strip().splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == [".truenas-mcp-gen", "keep.txt"]


def test_generate_refuses_a_second_recording_claiming_the_shipped_release(tmp_path: Path) -> None:
    path = tmp_path / "truenas-25.04.2.methods.json"
    path.write_text(json.dumps({"core.ping": ENTRY}))
    result = CliRunner().invoke(
        main,
        ["generate", "--project", str(tmp_path), "--spec", str(path), "--release", "25.04.2", "-q"],
    )
    assert result.exit_code == 1
    assert "are different recordings claiming release 25.04.2" in result.output
    assert str(path) in result.output and "truenas-25.04.2.methods.json.xz" in result.output
    assert not (tmp_path / "generated").exists() and not (tmp_path / "spec").exists()


def test_generate_reports_an_override_for_an_unknown_method(tmp_path: Path) -> None:
    overrides = tmp_path / "overrides"
    (overrides / "methods").mkdir(parents=True)
    policy = Path(__file__).resolve().parents[2] / "overrides" / "policy.toml"
    (overrides / "policy.toml").write_text(policy.read_text())
    (overrides / "methods" / "x.toml").write_text('["no.such.method"]\ntitle = "x"\n')
    result = CliRunner().invoke(main, ["generate", "--project", str(tmp_path), "-q"])
    assert result.exit_code == 1
    assert f"{overrides / 'methods' / 'x.toml'}:1: unknown method 'no.such.method'" in result.output
