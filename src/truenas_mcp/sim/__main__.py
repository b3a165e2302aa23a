"""``python -m truenas_mcp.sim``: the same as ``truenas-mcp sim``."""

from truenas_mcp.cli import sim

if __name__ == "__main__":
    sim(prog_name="python -m truenas_mcp.sim")
