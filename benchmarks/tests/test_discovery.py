from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import discovery, report


def test_scores_count_ranks_and_report_misses() -> None:
    requests = [
        discovery.Request("list pools", frozenset({"pool_query"}), held_out=False),
        discovery.Request("add a user", frozenset({"user_create"}), held_out=True),
        discovery.Request("reboot", frozenset({"system_reboot"}), held_out=True),
    ]
    ranked = {
        "list pools": ["pool_query", "pool_create"],
        "add a user": ["group_create", "user_create"],
        "reboot": ["a", "b", "c", "d", "e", "system_reboot"],
    }
    score = discovery.score(lambda text, n: ranked[text][:n], requests)
    assert score.requests == 3
    assert score.recall_at_5 == pytest.approx(2 / 3) and score.recall_at_1 == pytest.approx(1 / 3)
    assert score.mrr == pytest.approx((1 + 1 / 2 + 1 / 6) / 3)
    assert score.misses == (("reboot", ("a", "b", "c", "d", "e")),)
    section = "\n".join(report._discovery({"tuning": score.to_json(), "held_out": score.to_json(),
                                           "all": score.to_json()}))  # fmt: skip
    assert "| held out | 3 | 0.667 | 0.333 | 0.556 |" in section and "- reboot (top: a, b, c)" in section


def test_a_malformed_request_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "requests.txt"
    path.write_text("# comment\nshow pools | pool_query\nno tool given\n")
    with pytest.raises(ValueError, match=r"requests\.txt:3: expected 'request \| tool"):
        discovery.load(path)


def test_the_shipped_request_sets_are_large_enough_and_split() -> None:
    every = discovery.requests()
    assert len(every) >= 100
    held = [r for r in every if r.held_out]
    assert 40 <= len(held) < len(every)
