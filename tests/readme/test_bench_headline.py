"""The README's performance paragraph says what docs/benchmarks.json says (benchmarks.report.headline)."""

from __future__ import annotations

import json

from benchmarks import report

from .walkthrough import ROOT


def test_the_performance_paragraph_is_the_published_run() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    results = json.loads((ROOT / "docs" / "benchmarks.json").read_text(encoding="utf-8"))
    assert report.README_START in readme and report.README_END in readme
    assert readme == report.with_headline(readme, results), (
        "the README headline differs from docs/benchmarks.json: run `python -m benchmarks.run --report-only`"
    )
    assert not results.get("quick"), "the published run is a quick run (a harness smoke test)"
