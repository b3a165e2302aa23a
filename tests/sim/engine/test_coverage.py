"""The published coverage is current and true: what it calls not simulated answers ENOTSUP on the wire."""

from __future__ import annotations

import errno
from pathlib import Path

from click.testing import CliRunner

from tests.sim.conftest import RawRpc
from truenas_mcp.cli import main
from truenas_mcp.sim.engine import coverage
from truenas_mcp.sim.recording import load_recording

DOC = Path(__file__).resolve().parents[3] / coverage.DEFAULT_PATH


def test_committed_coverage_doc_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == coverage.render(), (
        "docs/simulator-coverage.md is stale: run `python -m truenas_mcp.sim.engine.coverage`"
    )


def test_check_mode_fails_on_a_stale_file_and_passes_on_a_fresh_one(tmp_path: Path) -> None:
    target = tmp_path / "coverage.md"
    target.write_text("old\n", encoding="utf-8")
    assert coverage.main(["--check", "--out", str(target)]) == 1
    assert coverage.main(["--out", str(target)]) == 0
    assert coverage.main(["--check", "--out", str(target)]) == 0


def test_sim_coverage_prints_the_doc() -> None:
    result = CliRunner().invoke(main, ["sim", "--coverage"])
    assert result.exit_code == 0, result.output
    assert result.output == coverage.render()


def test_every_crud_and_config_namespace_with_writes_is_stateful() -> None:
    table = coverage.classify()
    methods = load_recording().methods
    for name in ("replication", "cloudsync", "cronjob", "interface", "staticroute", "tunable", "privilege"):
        for verb in ("create", "update", "delete", "query", "get_instance"):
            assert table[f"{name}.{verb}"][0] == "stateful", f"{name}.{verb}"
    for name in ("ssh", "smb", "nfs", "ftp", "network.configuration", "system.advanced"):
        assert f"{name}.config" in methods
        assert table[f"{name}.config"][0] == table[f"{name}.update"][0] == "stateful"


async def test_methods_listed_as_not_simulated_answer_enotsup(admin: RawRpc) -> None:
    methods = load_recording().methods
    table = coverage.classify()
    # Those callable without arguments: their answer is decided by the handler, not by validation.
    candidates = [
        m
        for m, (kind, _) in table.items()
        if kind == "not simulated"
        and not methods[m]["job"]
        and not any(a.get("_required_") for a in methods[m]["accepts"])
    ][:25]
    assert len(candidates) == 25
    for method in candidates:
        error = (await admin.request(method))["error"]
        assert (error["code"], error["data"]["error"]) == (-32001, errno.ENOTSUP), method
        assert error["data"]["reason"] == f"[ENOTSUP] simulator: {method} is not simulated"


async def test_methods_listed_as_answered_do_not_answer_enotsup(admin: RawRpc) -> None:
    methods = load_recording().methods
    answered = [
        m
        for m, (kind, by) in coverage.classify().items()
        if kind != "not simulated"
        and m.endswith((".query", ".config"))
        and not methods[m]["job"]
        and not any(a.get("_required_") for a in methods[m]["accepts"])
    ]
    assert len(answered) > 40
    for method in answered:
        frame = await admin.request(method)
        assert frame.get("error", {}).get("data", {}).get("error") != errno.ENOTSUP, (method, frame)
