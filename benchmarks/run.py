"""Run every benchmark section and write docs/benchmarks.md (table) and docs/benchmarks.json (raw numbers)."""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import generator

DOCS = Path(__file__).resolve().parents[1] / "docs"


def machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "truenas_mcp": metadata.version("truenas-mcp"),
        "mcp": metadata.version("mcp"),
        "datamodel_code_generator": metadata.version("datamodel-code-generator"),
    }


def markdown(results: dict[str, Any]) -> str:
    gen, imp = results["generator"]["generation"], results["generator"]["import"]
    lines = [
        "# Benchmarks",
        "",
        "Measured with `nox -s bench` on the machine below; medians of repeated runs (machines are noisy).",
        "",
        "| what | target | measured |",
        "|---|---|---|",
        f"| full generation of 771 methods | < 30 s | {gen['median_s']:.1f} s median of {gen['runs']} |",
        f"| import generated package + build all {imp['tools']} tool definitions | < 1 s | "
        f"{imp['median_s'] * 1000:.0f} ms median of {imp['runs']} |",
        f"| resident memory after building all definitions | < 150 MB | {imp['max_rss_mb']:.0f} MB |",
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in results["machine"].items()),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    results = {"machine": machine(), "generator": generator.run()}
    DOCS.mkdir(exist_ok=True)
    (DOCS / "benchmarks.json").write_text(json.dumps(results, indent=2) + "\n")
    (DOCS / "benchmarks.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
