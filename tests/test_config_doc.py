"""The configuration reference is generated from the settings models and must match the committed file."""

from __future__ import annotations

import re
from pathlib import Path

from truenas_mcp import config_doc
from truenas_mcp.client.config import ENV_VARS
from truenas_mcp.server.settings import ENV_PREFIX, ServerSettings

DOC = Path(__file__).resolve().parents[1] / config_doc.DEFAULT_PATH


def test_committed_reference_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == config_doc.render(), (
        "docs/configuration.md is stale: run `python -m truenas_mcp.config_doc`"
    )


def test_every_variable_is_documented_with_a_meaning() -> None:
    text = config_doc.render()
    expected = {ENV_PREFIX + name.upper() for name in ServerSettings.model_fields} | set(ENV_VARS.values())
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \|.*\| ([^|]*) \|$", text, flags=re.MULTILINE))
    assert expected <= set(rows)
    assert not [var for var in expected if not rows[var].strip()], "a variable without a meaning"


def test_check_mode_fails_on_a_stale_file_and_passes_on_a_fresh_one(tmp_path: Path) -> None:
    target = tmp_path / "configuration.md"
    target.write_text("old\n", encoding="utf-8")
    assert config_doc.main(["--check", "--out", str(target)]) == 1
    assert config_doc.main(["--out", str(target)]) == 0
    assert config_doc.main(["--check", "--out", str(target)]) == 0
    assert config_doc.main(["--check", "--out", str(tmp_path / "missing.md")]) == 1


def test_types_and_defaults_read_from_the_model() -> None:
    text = config_doc.render()
    assert "| `TRUENAS_MCP_PORT` | `port` | int (>= 0, <= 65535) | `8080` |" in text
    assert "`confirm` \\| `allow` \\| `disable`" in text
    assert "| `TRUENAS_API_KEY` | secret | unset |" in text
