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
    (out / "keep.txt").write_text("previous output")
    bad = tmp_path / "truenas-9.9.methods.json"
    bad.write_text("{broken")
    result = CliRunner().invoke(main, ["generate", "--spec", str(bad), "--out", str(out), "-q"])
    assert result.exit_code == 1
    assert result.output.strip().startswith(f"Error: {bad}: not JSON")
    assert len(result.output.strip().splitlines()) == 1
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_generate_refuses_a_recording_whose_hash_differs_from_its_pin(tmp_path: Path) -> None:
    path = tmp_path / "truenas-25.04.2.methods.json"
    path.write_text(json.dumps({"core.ping": ENTRY}))
    result = CliRunner().invoke(main, ["generate", "--spec", str(path), "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 1
    assert "does not match its pin" in result.output
    assert not (tmp_path / "out").exists()


def test_generate_reports_an_override_for_an_unknown_method(tmp_path: Path) -> None:
    overrides = tmp_path / "overrides"
    (overrides / "methods").mkdir(parents=True)
    policy = Path(__file__).resolve().parents[2] / "overrides" / "policy.toml"
    (overrides / "policy.toml").write_text(policy.read_text())
    (overrides / "methods" / "x.toml").write_text('["no.such.method"]\ntitle = "x"\n')
    result = CliRunner().invoke(
        main, ["generate", "--overrides", str(overrides), "--out", str(tmp_path / "out"), "-q"]
    )
    assert result.exit_code == 1
    assert f"{overrides / 'methods' / 'x.toml'}:1: unknown method 'no.such.method'" in result.output
