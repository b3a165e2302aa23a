"""Write or check a generated document: the one command-line shape every ``python -m ...`` doc module has."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def main(
    prog: str, description: str | None, default: Path, render: Callable[[], str], argv: list[str] | None
) -> int:
    """``--check``: exit 1, saying how to refresh it, when ``--out`` differs from ``render()``; else write."""
    parser = argparse.ArgumentParser(prog=f"python -m {prog}", description=description)
    parser.add_argument("--out", type=Path, default=default, help=f"file to write (default {default})")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is not up to date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        try:
            current = args.out.read_text(encoding="utf-8")
        except OSError as exc:
            print(f"{args.out}: cannot read ({exc.strerror})", file=sys.stderr)
            return 1
        if current != text:
            print(f"{args.out} is stale: run `python -m {prog}`", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    return 0
