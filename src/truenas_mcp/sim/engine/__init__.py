"""The state engine: every CRUD and config namespace of the recording, stateful without per-namespace code.

``schema`` fills defaults and shapes rows from the recorded schemas, ``rules`` holds what the real service
code decides per namespace (primary keys, uniqueness, references), ``crud`` and ``config`` turn both into
handlers, and ``coverage`` says, for every recorded method, how the simulator answers it.
"""

from __future__ import annotations

import errno

from truenas_mcp.sim.errors import CallError


def not_simulated(method: str) -> CallError:
    """The answer of a method the simulator has neither state nor true data for (never a made-up success)."""
    return CallError(f"simulator: {method} is not simulated", errno.ENOTSUP)
