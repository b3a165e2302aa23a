"""Run nox from a private environment: ``python3 tools/nox.py -s demo`` (any arguments go to nox).

A stock Debian or Ubuntu Python refuses ``pip install`` outside a virtual environment (PEP 668) and ships
without ``ensurepip``, so ``python3 -m venv`` cannot put pip into one either. This script needs only the
standard library: it creates ``.cache/bootstrap/<python>`` in the checkout (without pip when ensurepip is
missing, then installs the pinned pip wheel downloaded from PyPI after checking its sha256), installs the
pinned nox and uv into it and runs nox there. nox builds each session's environment with uv, so no
session needs ensurepip either. Later runs reuse the environment.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
BOOTSTRAP = CHECKOUT / ".cache" / "bootstrap" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
REQUIREMENTS = ["nox==2026.10.20", "uv==0.13.9"]
# Only fetched when this Python cannot put pip into a venv (Debian's and Ubuntu's system Python).
PIP_WHEEL = (
    "https://files.pythonhosted.org/packages/07/25/ee8c38ae72d66b844ce8eb9711ba905dba21ca1a8a0c960057c41cd23337/"
    "pip-26.3-py3-none-any.whl",
    "f3b60b20ffaadd4415ed7957212a38ac63fa4c5fa375bd0f4a797777940fad13",
)
OLDEST = (3, 11)


class BootstrapError(Exception):
    """Setting up the environment failed; the message says which step and why."""


def _bin(name: str) -> Path:
    return BOOTSTRAP / ("Scripts" if os.name == "nt" else "bin") / name


def _download_pip(target: Path) -> Path:
    url, sha256 = PIP_WHEEL
    wheel = target / url.rsplit("/", 1)[1]
    try:
        with urllib.request.urlopen(url, timeout=120) as answer:
            data = answer.read()
    except OSError as exc:
        raise BootstrapError(f"cannot download pip from {url}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise BootstrapError(f"{url} has sha256 {digest}, expected {sha256}: refusing to run it")
    wheel.write_bytes(data)
    return wheel


def _run(step: str, *command: str | Path) -> None:
    done = subprocess.run([str(c) for c in command], check=False)
    if done.returncode != 0:
        raise BootstrapError(f"{step} failed (exit status {done.returncode}): {' '.join(map(str, command))}")


def ensure_environment() -> Path:
    """The nox executable of the bootstrap environment, creating or completing the environment first."""
    marker = BOOTSTRAP / "requirements.txt"
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if _bin("nox").exists() and marker.is_file() and marker.read_text(encoding="utf-8") == wanted:
        return _bin("nox")
    print(f"tools/nox.py: setting up nox in {BOOTSTRAP.relative_to(CHECKOUT)}", file=sys.stderr, flush=True)
    # In a child process: Debian's venv reports a missing ensurepip by exiting, not by raising.
    with_pip = subprocess.run(
        [sys.executable, "-m", "venv", "--clear", str(BOOTSTRAP)], capture_output=True, check=False
    )
    python = _bin("python")
    if with_pip.returncode != 0:
        _run("creating the environment", sys.executable, "-m", "venv", "--clear", "--without-pip", BOOTSTRAP)
        wheel = _download_pip(BOOTSTRAP)
        # A pip wheel runs from its own file: it installs pip into the environment.
        _run("installing pip", python, f"{wheel}/pip", "install", "-q", "--no-warn-script-location", wheel)
    _run("installing nox and uv", python, "-m", "pip", "install", "-q", *REQUIREMENTS)
    marker.write_text(wanted, encoding="utf-8")
    return _bin("nox")


def main(argv: list[str]) -> int:
    if sys.version_info < OLDEST:
        oldest, this = ".".join(map(str, OLDEST)), sys.version.split()[0]
        print(f"tools/nox.py: Python {oldest} or newer is needed, this is {this}", file=sys.stderr)
        return 2
    try:
        nox = ensure_environment()
    except BootstrapError as exc:
        print(f"tools/nox.py: {exc}", file=sys.stderr)
        return 1
    # nox finds the uv installed beside it; PATH stays the caller's, so sessions pick this machine's Pythons.
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}  # an interpreter of this machine, or a clear error
    env.pop("VIRTUAL_ENV", None)
    command = [str(nox), "-f", str(CHECKOUT / "noxfile.py"), *argv]
    return subprocess.run(command, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
