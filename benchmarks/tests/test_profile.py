from __future__ import annotations

import sysconfig
from pathlib import Path

from benchmarks.profile import summarize

# py-spy names files by absolute path: these are the ones of this checkout and of this environment.
SRC = Path(__file__).resolve().parents[2] / "src"
SITE = Path(sysconfig.get_paths()["purelib"])
COLLAPSED = f"""\
<module> (<string>:1);run (uvicorn/main.py:580);encode ({SRC}/truenas_mcp/server/shaping.py:55) 30
<module> (<string>:1);run (uvicorn/main.py:580);encode ({SRC}/truenas_mcp/server/shaping.py:56) 10
<module> (<string>:1);run (uvicorn/main.py:580);verify ({SITE}/jwt/api_jws.py:341) 60
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
