"""Format generated Python with ruff, pinned settings, isolated from any project configuration."""

from __future__ import annotations

import subprocess
from pathlib import Path

from truenas_mcp_gen.errors import GenerationError

# Pinned so that the output does not depend on whichever pyproject.toml is nearest the output folder.
RUFF_ARGS = (
    "format",
    "--isolated",
    "--no-cache",
    "--line-length",
    "110",
    "--target-version",
    "py311",
    "--quiet",
)


def ruff_binary() -> str:
    try:
        from ruff.__main__ import find_ruff_bin
    except ImportError as exc:  # pragma: no cover - the gen extra installs ruff
        raise GenerationError(
            "ruff is not installed; install the generator with `pip install -e .[gen]`"
        ) from exc
    return str(find_ruff_bin())


def format_tree(root: Path) -> None:
    result = subprocess.run(
        [ruff_binary(), *RUFF_ARGS, str(root)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise GenerationError(
            f"ruff could not format {root}: {result.stderr.strip() or result.stdout.strip()}"
        )
