"""No file written by hand names a folder of the machine it was written on.

Paths come from the working directory or from the file's own location (``Path(__file__)``), so a clone
anywhere behaves the same. Generated files and tool snapshots are left out: they quote TrueNAS's own
documentation, which speaks of the NAS's folders (``/root/.ssh``).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HAND_WRITTEN = ["src", "generator", "benchmarks", "tests", "docs", "templates", "deploy", ".ci"]
TOP_LEVEL = ["README.md", "noxfile.py", "pyproject.toml", "Dockerfile", "docker-compose.yml"]
SKIPPED_PARTS = {"__snapshots__", "__pycache__"}
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|root|home/[\w.-]+|Users/[\w.-]+)/")


def _machine_paths(text: str) -> list[str]:
    return [m[0] for m in MACHINE_PATH.finditer(text)]


def test_hand_written_files_carry_no_absolute_path_of_a_developer_machine() -> None:
    files = [ROOT / name for name in TOP_LEVEL if (ROOT / name).is_file()]
    for folder in HAND_WRITTEN:
        files += [
            p
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and not SKIPPED_PARTS & set(p.relative_to(ROOT).parts)
        ]
    files.remove(Path(__file__).resolve())  # its examples are the paths it looks for
    found = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary files hold no paths we wrote
        found += [f"{path.relative_to(ROOT)}: {hit}" for hit in _machine_paths(text)]
    assert found == []


def test_the_pattern_tells_a_machine_path_from_a_relative_or_nas_one() -> None:
    assert _machine_paths("run /home/alice/.venv/bin/python and /work/src/x.py") == ["/home/alice/", "/work/"]
    assert _machine_paths("benchmarks/client.py, ./work/x, /mnt/tank/work/") == []
