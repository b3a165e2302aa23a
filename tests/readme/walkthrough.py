"""Follow the README word for word in a fresh copy of the repository: ``python3 -m nox -s readme``.

The README marks the commands a newcomer runs with ``<!-- readme-test: NAME -->`` before their ``sh``
block. This script copies the repository as a clone would have it (tracked files plus new, not ignored
ones, so uncommitted work is checked too, committed once in the copy so that it is a repository as a clone
is; ``--from-head`` clones the last commit instead) into a temporary folder, with the workspace's
``shared/`` beside it when there is one, then:

* ``demo``: runs the block in a shell, waits for the ready line, runs the MCP Inspector command the demo
  printed (as printed, through ``npx``), then presses Ctrl-C (SIGINT to the process group, as a terminal
  does) and expects everything to exit;
* ``tests``: checks the block is the command ``.ci/run`` runs, then runs it (``--skip tests`` leaves that
  out, e.g. when this runs inside the test suite).

Standard library only, so it runs before anything is installed. Exit status 0 when every step passed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Ready. Serving until Ctrl-C."  # truenas_mcp.demo.READY_LINE (not importable before install)
_BLOCK = re.compile(r"<!-- readme-test: (?P<name>[\w-]+) -->\s*```sh\n(?P<body>.*?)```", re.DOTALL)
DEMO_START_TIMEOUT = 900.0  # the first run creates the nox environment from PyPI
STEP_TIMEOUT = 300.0


class WalkthroughError(Exception):
    """A README step did not work as written; the message says which and shows its output."""


def readme_blocks(text: str) -> dict[str, str]:
    """The marked ``sh`` blocks of the README by name, their text stripped."""
    return {m["name"]: m["body"].strip() for m in _BLOCK.finditer(text)}


def ci_command(ci_script: str) -> str:
    """The test command ``.ci/run`` ends with (its last non-comment line)."""
    lines = [line.strip() for line in ci_script.splitlines() if line.strip() and not line.startswith("#")]
    return lines[-1]


# A fixed identity for the copy's one commit: the machine may have no git identity configured.
_GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "readme walkthrough",
    "GIT_AUTHOR_EMAIL": "readme@localhost",
    "GIT_COMMITTER_NAME": "readme walkthrough",
    "GIT_COMMITTER_EMAIL": "readme@localhost",
}


def _git(*args: str | Path, cwd: Path) -> bytes:
    env = {**os.environ, **_GIT_IDENTITY}
    return subprocess.run(["git", *map(str, args)], cwd=cwd, env=env, check=True, capture_output=True).stdout


def copy_checkout(source: Path, dest: Path, *, from_head: bool) -> None:
    """``dest`` as a fresh clone of ``source`` (with uncommitted work unless ``from_head``).

    Either way ``dest`` is a git repository, as a clone is: the test suite it runs lists files with git.
    """
    if from_head:
        _git("clone", "-q", source, dest, cwd=source)
        return
    listed = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=source).decode()
    for name in filter(None, listed.split("\0")):
        src = source / name
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the working tree: a clone of the next commit will not have it
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target, follow_symlinks=False)
    _git("init", "-q", cwd=dest)
    _git("add", "-A", cwd=dest)
    _git("commit", "-q", "--no-verify", "--no-gpg-sign", "-m", "the checkout as it was copied", cwd=dest)


@contextmanager
def workspace(from_head: bool) -> Iterator[Path]:
    """A temporary ``<tmp>/truenas-mcp`` checkout, with ``<tmp>/shared`` beside it when this checkout has one
    (the workspace's recordings and reference source); removed afterwards."""
    shared = ROOT.parent / "shared"
    with tempfile.TemporaryDirectory(prefix="readme-") as tmp:
        if shared.is_dir():
            (Path(tmp) / "shared").symlink_to(shared.resolve())
        checkout = Path(tmp) / "truenas-mcp"
        copy_checkout(ROOT, checkout, from_head=from_head)
        yield checkout


def _environment() -> dict[str, str]:
    # A newcomer's shell: nothing from the test run that could point the demo elsewhere, and no virtual
    # environment's bin on PATH (`python3` is the machine's, as for someone who just cloned).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRUENAS_", "VIRTUAL_ENV", "NOX_"))}
    active = {Path(p).resolve() for p in (os.environ.get("VIRTUAL_ENV"), sys.prefix) if p}
    active.discard(Path(sys.base_prefix).resolve())
    kept = [d for d in env.get("PATH", "").split(os.pathsep) if d and Path(d).resolve().parent not in active]
    env["PATH"] = os.pathsep.join(kept)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_demo(checkout: Path, command: str) -> str:
    """Run the demo block until ready, use what it printed, press Ctrl-C; returns the Inspector's output."""
    process = subprocess.Popen(
        ["bash", "-c", command],
        cwd=checkout,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=_environment(),
        start_new_session=True,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.rstrip("\n") == READY_LINE:
                ready.set()
        ready.set()  # end of output: stop waiting either way

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(DEMO_START_TIMEOUT) or process.poll() is not None:
            raise WalkthroughError(f"`{command}` never became ready:\n{''.join(lines)[-4000:]}")
        printed = "".join(lines)
        section = printed.split("== MCP Inspector ==", 1)[1].splitlines()
        inspector = section[1]
        done = subprocess.run(
            ["bash", "-c", inspector],
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            env=_environment(),
            check=False,
        )
        if done.returncode != 0 or "system_info" not in done.stdout:
            raise WalkthroughError(
                f"the printed Inspector command failed:\n{inspector}\n{done.stderr[-3000:]}"
            )
        return done.stdout
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise WalkthroughError("the demo did not stop within 60 s of Ctrl-C") from None
        reader.join(timeout=10)


def run_tests(checkout: Path, command: str) -> None:
    expected = ci_command((checkout / ".ci" / "run").read_text(encoding="utf-8"))
    if command != expected:
        raise WalkthroughError(f"the README's test command {command!r} is not .ci/run's {expected!r}")
    done = subprocess.run(["bash", "-c", command], cwd=checkout, env=_environment(), check=False)
    if done.returncode != 0:
        raise WalkthroughError(f"`{command}` failed with exit status {done.returncode}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-head", action="store_true", help="git clone the last commit instead")
    parser.add_argument("--skip", action="append", default=[], choices=["demo", "tests"], help="leave out")
    args = parser.parse_args(argv)
    blocks = readme_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    missing = {"demo", "tests"} - set(blocks)
    if missing:
        print(f"README.md: no readme-test block named {', '.join(sorted(missing))}", file=sys.stderr)
        return 1
    try:
        with workspace(args.from_head) as checkout:
            for name, step in (("demo", run_demo), ("tests", run_tests)):
                if name in args.skip:
                    continue
                started = time.monotonic()
                print(f"readme: {name}: {blocks[name]}", flush=True)
                step(checkout, blocks[name])
                print(f"readme: {name}: ok ({time.monotonic() - started:.0f} s)", flush=True)
    except WalkthroughError as exc:
        print(f"readme: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
