"""What ``truenas-mcp --version`` prints: the runtime's version and the tool catalogue it serves.

A deployment is only reproducible if one can tell, from the running binary, which TrueNAS release its tools
were generated from: the runtime and the generated package are separate distributions with separate
versions, so both are named, with the TrueNAS version and the sha256 of the recording behind the tools.
"""

from __future__ import annotations

from importlib import metadata
from importlib.metadata import entry_points

from truenas_mcp import __version__
from truenas_mcp.catalog import ENTRY_POINT_GROUP, Catalog, CatalogNotFound, load_catalog

DISTRIBUTION = "truenas-mcp"
SHA_PREFIX = 12  # enough to tell recordings apart at a glance; `truenas-mcp-gen` pins the full hash


def distribution_version(distribution: str, fallback: str | None = None) -> str:
    """The installed version of ``distribution``; ``fallback`` (or ``"unknown"``) when it is not installed
    as a distribution, e.g. when run from a source tree without ``pip install``."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return fallback or "unknown"


def catalog_distribution(catalog: Catalog) -> tuple[str, str]:
    """Name and version of the distribution that registered ``catalog``'s entry point (for example
    ``("truenas-mcp-tools", "0.1.0")``); the package name and ``"unknown"`` when none claims it."""
    top = catalog.package.split(".")[0]
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.module.split(".")[0] == top and entry.dist is not None:
            return entry.dist.metadata["Name"], entry.dist.version
    return catalog.package, "unknown"


def describe_catalog(catalog: Catalog) -> str:
    """``tools: truenas-mcp-tools 0.1.0 for TrueNAS 25.04.2, spec sha256 0231124e4359…``"""
    name, version = catalog_distribution(catalog)
    return (
        f"tools: {name} {version} for TrueNAS {catalog.truenas_version}, "
        f"spec sha256 {catalog.spec_sha256[:SHA_PREFIX]}…"
    )


def describe(catalog_name: str | None = None) -> str:
    """One line naming the runtime and the installed tool catalogue, e.g.
    ``truenas-mcp 0.1.0 (tools: truenas-mcp-tools 0.1.0 for TrueNAS 25.04.2, spec sha256 0231124e4359…)``.

    Without an installed catalogue (or with several and none named) the line says so instead of failing:
    ``--version`` must answer on a half-installed system, that is when it is needed most.
    """
    runtime = f"{DISTRIBUTION} {distribution_version(DISTRIBUTION, fallback=__version__)}"
    try:
        catalog = load_catalog(catalog_name)
    except CatalogNotFound as exc:
        return f"{runtime} (no tool catalogue: {exc})"
    return f"{runtime} ({describe_catalog(catalog)})"
