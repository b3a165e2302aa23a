"""The README's tool numbers are the product's: they must equal ``truenas-mcp tools --summary``."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from truenas_mcp.server.cli import TOKENIZER, tools

from .walkthrough import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
_ROW = re.compile(r"^\| `(?P<path>/mcp[^`]*)` \|.*\| (?P<tools>[\d,]+) \| (?P<tokens>[\d,]+) \|$")


@pytest.fixture(scope="module")
def summary() -> dict:
    result = CliRunner().invoke(tools, ["--summary", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc: dict = json.loads(result.output)
    return doc


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _table() -> dict[str, dict[str, int]]:
    section = README.split("<!-- tools-summary -->", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = _ROW.match(line)
        if match:
            rows[match["path"]] = {"tools": _number(match["tools"]), "tokens": _number(match["tokens"])}
    return rows


def test_the_profile_table_has_the_served_tool_counts(summary: dict) -> None:
    table = _table()
    assert set(table) == {p["path"] for p in summary["profiles"]}, "one README row per summarised profile"
    assert {path: row["tools"] for path, row in table.items()} == {
        p["path"]: p["tools"] for p in summary["profiles"]
    }


@pytest.mark.skipif(TOKENIZER != "anthropic-tokenizer", reason="the README's tokens are Claude tokens")
def test_the_profile_table_has_the_token_costs(summary: dict) -> None:
    assert {path: row["tokens"] for path, row in _table().items()} == {
        p["path"]: p["tokens"] for p in summary["profiles"]
    }


def test_the_prose_counts_methods_served_and_not_served_tools_as_the_summary_does(summary: dict) -> None:
    head = re.search(r"TrueNAS (\S+) \((\d+) methods in (\d+) namespaces\)", README)
    assert head is not None
    assert (head[1], int(head[2]), int(head[3])) == (
        summary["truenas_version"],
        summary["methods"],
        summary["namespaces"],
    )
    not_served = summary["not_served"]
    prose = re.search(r"Of the (\d+) generated tools, (\d+) are served on no URL", README)
    assert prose is not None
    assert (int(prose[1]), int(prose[2])) == (summary["methods"], len(not_served))
    denied = sum("TRUENAS_MCP_TOOL_DENY" in n["reason"] for n in not_served)
    uploads = sum("upload pipe" in n["reason"] for n in not_served)
    assert re.search(rf"\b{len(not_served) - denied} are\s+excluded by the reviewed policy", README)
    assert re.search(rf"\b{uploads} methods read a file from an upload pipe", README)
    assert re.search(rf"\b{denied} match the default `TRUENAS_MCP_TOOL_DENY`", README)
    every = re.search(r"every served tool \((\d+) generated", README)
    assert every is not None and int(every[1]) == summary["served"]


def test_every_tool_not_served_has_a_reason(summary: dict) -> None:
    assert summary["served"] + len(summary["not_served"]) == summary["methods"]
    assert all(n["reason"].strip() for n in summary["not_served"])


def _portable_tokens(profile: str, family: str) -> int:
    result = CliRunner().invoke(
        tools, ["--profile", profile, "--schema", family, "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    total: int = json.loads(result.output)["total_tokens"]
    return total


@pytest.mark.skipif(TOKENIZER != "anthropic-tokenizer", reason="the README's tokens are Claude tokens")
def test_the_portable_schema_costs_are_the_counted_ones() -> None:
    prose = re.search(
        r"`/mcp` costs ([\d,]+) tokens with `gemini` and ([\d,]+) with\s+`openai`, "
        r"`/mcp/readonly` ([\d,]+) and ([\d,]+)",
        README,
    )
    assert prose is not None
    assert [_number(n) for n in prose.groups()] == [
        _portable_tokens(profile, family)
        for profile in ("default", "readonly")
        for family in ("gemini", "openai")
    ]
