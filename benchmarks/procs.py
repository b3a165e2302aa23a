"""Child processes of the benchmark: start, wait for readiness (bounded), read memory, stop.

Every process the benchmark starts is a ``Service`` and is stopped by its own pid in a ``finally``; output
goes to log files (a full pipe nobody reads would stall the child and the numbers with it).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class ServiceError(RuntimeError):
    """A child process failed to start or stopped early; the message quotes the end of its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_mb(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of ``pid`` in MiB, from ``/proc/PID/status`` (Linux)."""
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    started_at: float  # time.perf_counter() just before the process was created

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise ServiceError(
                f"{self.name} exited with status {self.process.returncode}; its log ends:\n{self.tail()}"
            )

    def rss_mb(self) -> tuple[float, float]:
        self.check_alive()
        return rss_mb(self.process.pid)

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # graceful: uvicorn and the simulator handle it
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()


def spawn(
    name: str,
    argv: list[str],
    logdir: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    *,
    announces: bool = False,
) -> Service:
    """Start ``argv`` with its output in ``logdir/name.log``; with ``announces`` stdout is a pipe instead,
    for ``read_announcement`` (only for children that print a few lines and no more, like the simulator:
    a server logging to a pipe nobody drains would block once the pipe buffer is full)."""
    log = logdir / f"{name}.log"
    with open(log, "wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if announces else output,
            stderr=output,
            env={**os.environ, **(env or {})},
            cwd=cwd,
        )
    return Service(name, process, log, started)


def read_announcement(service: Service, keys: tuple[str, ...], timeout: float) -> dict[str, str]:
    """``key: value`` lines from the service's stdout until every key in ``keys`` was seen."""
    assert service.process.stdout is not None
    found: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(service.process.stdout, selectors.EVENT_READ)
        while not all(key in found for key in keys):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ServiceError(f"{service.name}: no {keys} within {timeout:g} s; log:\n{service.tail()}")
            if not selector.select(remaining):
                continue
            chunk = os.read(service.process.stdout.fileno(), 65536)
            if not chunk:
                service.check_alive()
                raise ServiceError(f"{service.name} closed its output early; log:\n{service.tail()}")
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                key, sep, value = line.decode(errors="replace").partition(": ")
                if sep:
                    found[key.strip()] = value.strip()
    return found


@contextlib.contextmanager
def running(services: list[Service]) -> Iterator[list[Service]]:
    """Stop every service in ``services`` (appended to while inside) on exit, newest first."""
    try:
        yield services
    finally:
        for service in reversed(services):
            with contextlib.suppress(Exception):
                service.stop()


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time ``pid`` has used so far, from ``/proc/PID/stat`` (Linux; 1/CLK_TCK steps)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        # The command name (field 2) may hold spaces and parentheses: the fields after it follow the last ')'.
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
