"""truenas-mcp-gen: turns a recorded TrueNAS ``core.get_methods`` answer into an MCP tool package.

Stages, one module each: ``spec`` (locate, load and verify the pinned recording) → ``normalize`` (legacy
schema flavour → JSON Schema 2020-12) → ``ir`` (frozen dataclasses) → ``naming`` (the only place that invents
names) → ``overrides`` (validated policy/docs data merged onto the IR) → ``render`` + ``models`` (templates,
datamodel-code-generator) → ``fmt`` (ruff) → ``check`` (regenerate and diff). ``pipeline.generate`` runs them.
"""

__version__ = "0.1.0"
