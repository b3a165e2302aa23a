"""The README's commands, as a newcomer types them (see ``walkthrough.py``; ``nox -s readme`` runs all)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ..node import require_node
from .walkthrough import ROOT, ci_command, copy_checkout, readme_blocks, run_demo, workspace

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_marks_its_two_commands_and_the_test_one_is_what_ci_runs() -> None:
    blocks = readme_blocks(README)
    assert set(blocks) >= {"demo", "tests"}
    assert blocks["tests"] == ci_command((ROOT / ".ci" / "run").read_text(encoding="utf-8"))
    assert blocks["demo"] == "python3 tools/nox.py -s demo"


def test_block_and_ci_parsing() -> None:
    text = "x\n<!-- readme-test: one -->\n```sh\necho 1\n```\n```sh\nnot marked\n```\n"
    assert readme_blocks(text) == {"one": "echo 1"}
    assert ci_command("#!/bin/sh\n# comment\nset -e\nmake test\n") == "make test"


def test_every_relative_link_resolves() -> None:
    import re

    for document in (ROOT / "README.md", ROOT / "docs" / "clients.md"):
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", document.read_text(encoding="utf-8")):
            assert (document.parent / target).exists(), f"{document.name}: broken link {target}"


@pytest.mark.slow
def test_the_demo_command_works_word_for_word_in_a_fresh_copy(tmp_path: Path) -> None:
    require_node()  # the walkthrough runs the Inspector command the demo prints, through npx
    with workspace(from_head=False) as checkout:
        listing = run_demo(checkout, readme_blocks(README)["demo"])
    assert "system_info" in listing and "zfs_snapshot_query" in listing


def test_the_copy_is_a_repository_so_a_copy_of_the_copy_works(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "a.py").write_text("x = 1\n", encoding="utf-8")
    (source / ".gitignore").write_text("ignored/\n", encoding="utf-8")
    (source / "ignored").mkdir()
    (source / "ignored" / "big").write_text("cache", encoding="utf-8")
    first, second = tmp_path / "first", tmp_path / "second"
    copy_checkout_from(source, first)  # a folder that is not a repository, as the copy itself once was
    copy_checkout(first, second, from_head=False)
    listed = subprocess.run(
        ["git", "-C", str(second), "ls-files"], capture_output=True, text=True, check=True
    )
    assert sorted(listed.stdout.split()) == [".gitignore", "pkg/a.py"]
    assert not (second / "ignored").exists()


def copy_checkout_from(folder: Path, dest: Path) -> None:
    """``folder`` made a repository first (as a clone is), then copied the walkthrough's way."""
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    copy_checkout(folder, dest, from_head=False)
