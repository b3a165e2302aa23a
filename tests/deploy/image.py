"""Building the project's container image with podman on a machine that can pull no image.

The Dockerfile's base (``docker.io/library/python:3.11-slim-bookworm``) is stood in for by a Debian
bookworm root filesystem made with ``debootstrap`` (bookworm's python3 is 3.11, as in the real image),
``podman import``-ed under a name of its own (never the upstream image's: a later build of the Dockerfile
on the machine would silently use the stand-in) and given to the build as ``PYTHON_IMAGE``, the
Dockerfile's own way to choose a base; the real image is used instead when it is already present. The
root filesystem is cached under ``.cache/deploy/`` keyed by what goes into it. Python packages come from a
wheelhouse built on the host with the host's own pip configuration and mounted into the build, so the
build itself runs with no network at all. :func:`remove_images` removes the stand-in and the built image
afterwards (the build keeps no intermediate layers).
"""

from __future__ import annotations

import hashlib
import os
import re
import resource
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "deploy"
SUITE = "bookworm"
# The least that stands in for python:3.11-slim: an interpreter with venv/ensurepip and the CA store.
PACKAGES = ("python3", "python3-venv", "ca-certificates")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
MIRROR_ENV = "TRUENAS_MCP_TEST_DEBIAN_MIRROR"
BASE_LABEL = "org.truenas-mcp.test-base"
STAND_IN = "localhost/truenas-mcp-test-base"  # + ":<key>"; never an upstream image's name
IMAGE = "localhost/truenas-mcp:pytest"
# `podman build --volume` mounts into every RUN of every stage and leaves the mount point behind: use a
# directory every Debian image already has.
WHEELS_MOUNT = "/mnt"
TOOLS = ("podman", "runc", "debootstrap")
# Trimmed from the root filesystem: nothing the image runs needs them.
TRIM = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info")


class BuildError(AssertionError):
    """A build step failed; the message carries the command and the tail of its output."""


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def base_image_name() -> str:
    """The ``PYTHON_IMAGE`` default that the Dockerfile builds ``FROM``."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    match = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M)
    if match is None:
        raise BuildError("the Dockerfile declares no ARG PYTHON_IMAGE=<default base image>")
    return match.group(1)


def podman_base() -> list[str]:
    """``podman`` with the OCI runtime named (runc, from Debian) and no systemd or journald assumed."""
    return ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file"]


def ulimits() -> list[str]:
    """Explicit limits within this process's own: podman's defaults (nofile and nproc of 1M / 32k) exceed
    what a sandboxed runner may grant, and runc then fails with "error setting rlimits"."""
    nofile = min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 65536)
    return ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", "nproc=4096:4096"]


def run(argv: list[str], *, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise BuildError(f"{' '.join(argv[:6])} … exited {result.returncode}:\n{tail}")
    return result


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (deb822 or one-line sources), unless overridden."""
    if os.environ.get(MIRROR_ENV):
        return os.environ[MIRROR_ENV]
    sources = Path("/etc/apt/sources.list.d")
    for path in sorted(sources.glob("*.sources")) if sources.is_dir() else []:
        for stanza in path.read_text(encoding="utf-8").split("\n\n"):
            fields = dict(
                line.split(":", 1) for line in stanza.splitlines() if ":" in line and not line.startswith("#")
            )
            suites = fields.get("Suites", "").split()
            if SUITE in suites and "main" in fields.get("Components", "").split():
                return fields["URIs"].split()[0]
    legacy = Path("/etc/apt/sources.list")
    if legacy.is_file():
        for line in legacy.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb" and parts[2] == SUITE:
                return parts[1]
    return DEFAULT_MIRROR


@dataclass(frozen=True)
class Base:
    upstream: str  # what the Dockerfile builds FROM by default
    name: str  # the stand-in's own name
    key: str
    tarball: Path


def base_spec() -> Base:
    mirror = debian_mirror()
    key = hashlib.sha256("\n".join([SUITE, mirror, *PACKAGES]).encode()).hexdigest()[:16]
    return Base(base_image_name(), f"{STAND_IN}:{key}", key, CACHE / f"base-{SUITE}-{key}.tar")


def _debootstrap(base: Base) -> None:
    """Make the cached root filesystem tarball (once per package set and mirror)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    rootfs = CACHE / f"rootfs-{base.key}"
    shutil.rmtree(rootfs, ignore_errors=True)
    try:
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                str(rootfs),
                debian_mirror(),
            ],
            timeout=900,
        )
        for relative in TRIM:
            target = rootfs / relative
            if target.is_dir():
                for child in target.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
        partial = base.tarball.with_suffix(".partial")
        with tarfile.open(partial, "w") as tar:
            tar.add(rootfs, arcname=".")
        partial.rename(base.tarball)
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)


def _labels(name: str) -> str | None:
    found = run([*podman_base(), "image", "inspect", "--format", "{{json .Labels}}", name], check=False)
    return found.stdout if found.returncode == 0 else None


def ensure_base() -> tuple[str, bool]:
    """The image to build ``FROM`` and whether it is a stand-in this module made (to remove afterwards)."""
    base = base_spec()
    upstream = _labels(base.upstream)
    if upstream is not None and BASE_LABEL in upstream:
        # A stand-in that earlier versions of these tests tagged with the upstream name: untag it.
        run([*podman_base(), "rmi", base.upstream])
    elif upstream is not None:
        return base.upstream, False  # the real image is here: build exactly what production builds
    if _labels(base.name) is not None:
        return base.name, True
    if not base.tarball.is_file():
        _debootstrap(base)
    run(
        [
            *podman_base(),
            "import",
            "--change",
            f"LABEL {BASE_LABEL}={base.key}",
            "--change",
            'CMD ["python3"]',
            str(base.tarball),
            base.name,
        ]
    )
    return base.name, True


def wheelhouse() -> Path:
    """Wheels of every runtime dependency plus the build backend, made with the host's pip settings."""
    wheels = CACHE / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--wheel-dir",
            str(wheels),
            str(ROOT),
            str(ROOT / "generated"),
            "hatchling",
            # redis needs it below Python 3.11.3: the stand-in's (bookworm's 3.11.2), not the host's.
            "async-timeout>=4.0.3",
        ],
        timeout=600,
    )
    return wheels


def build_image(base: str) -> str:
    """Build the Dockerfile as written ``FROM base``, offline, keeping no intermediate images."""
    wheels = wheelhouse()
    run(
        [
            *podman_base(),
            "build",
            "--format",
            "docker",  # OCI image configs have no HEALTHCHECK
            "--layers=false",  # no cached stage images left behind
            "--network",
            "none",
            *ulimits(),
            "--volume",
            f"{wheels}:{WHEELS_MOUNT}:ro",
            "--build-arg",
            f"PIP_FIND_LINKS={WHEELS_MOUNT}",
            "--build-arg",
            "PIP_NO_INDEX=1",
            "--build-arg",
            f"PYTHON_IMAGE={base}",
            "--tag",
            IMAGE,
            "--file",
            str(ROOT / "Dockerfile"),
            str(ROOT),
        ],
        timeout=900,
    )
    return IMAGE


def remove_images(*names: str) -> None:
    """Remove images these tests made (and the containers of them that outlived a failed test)."""
    for name in names:
        if _labels(name) is not None:
            run([*podman_base(), "rmi", "--force", name])
