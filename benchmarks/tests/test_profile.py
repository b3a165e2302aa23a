from __future__ import annotations

from benchmarks.profile import summarize

COLLAPSED = """\
<module> (<string>:1);run (uvicorn/main.py:580);encode (/work/src/truenas_mcp/server/shaping.py:55) 30
<module> (<string>:1);run (uvicorn/main.py:580);encode (/work/src/truenas_mcp/server/shaping.py:56) 10
<module> (<string>:1);run (uvicorn/main.py:580);verify (/x/site-packages/jwt/api_jws.py:341) 60
not a sample line
"""


def test_self_and_inclusive_shares_merge_lines_of_one_function() -> None:
    summary = summarize(COLLAPSED)
    own = dict(summary["self"])
    assert own["verify (jwt/api_jws.py)"] == 60.0
    assert own["encode (truenas_mcp/server/shaping.py)"] == 40.0  # two lines, one function
    inclusive = dict(summary["inclusive"])
    assert inclusive["run (uvicorn/main.py)"] == 100.0


def test_empty_profile_gives_empty_tables() -> None:
    assert summarize("") == {"self": [], "inclusive": []}
