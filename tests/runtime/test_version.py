"""``truenas_mcp.version``: the version line names the runtime, the tool package and its TrueNAS release."""

from __future__ import annotations

import re
from importlib import metadata

import pytest

from truenas_mcp import catalog as catalog_module
from truenas_mcp import version
from truenas_mcp.catalog import Catalog, CatalogNotFound, load_catalog


@pytest.fixture(scope="module")
def installed() -> Catalog:
    try:
        return load_catalog()
    except CatalogNotFound:
        pytest.skip("the generated tool package is not installed (pip install -e generated)")


def test_describe_names_runtime_tools_truenas_release_and_spec_hash(installed: Catalog) -> None:
    line = version.describe()
    tools_dist = next(
        ep.dist
        for ep in metadata.entry_points(group=catalog_module.ENTRY_POINT_GROUP)
        if ep.dist is not None and ep.module.split(".")[0] == installed.package
    )
    assert tools_dist is not None
    tools = f"{tools_dist.metadata['Name']} {tools_dist.version}"
    expected = (
        f"truenas-mcp {metadata.version('truenas-mcp')} "
        f"(tools: {tools} for TrueNAS {installed.truenas_version}, "
        f"spec sha256 {installed.spec_sha256[: version.SHA_PREFIX]}…)"
    )
    assert line == expected
    assert re.fullmatch(r"[0-9a-f]{64}", installed.spec_sha256)


def test_describe_says_when_no_catalogue_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str | None = None) -> Catalog:
        raise CatalogNotFound("no generated tool package is installed")

    monkeypatch.setattr(version, "load_catalog", missing)
    line = version.describe()
    assert line.startswith(f"truenas-mcp {metadata.version('truenas-mcp')} (no tool catalogue: ")
    assert "no generated tool package is installed" in line


def test_a_catalogue_no_distribution_claims_is_named_by_its_package(installed: Catalog) -> None:
    orphan = Catalog(
        package="not_an_installed_package",
        truenas_version="99.10.1",
        spec_sha256="ab" * 32,
        tools=(),
    )
    assert version.describe_catalog(orphan) == (
        "tools: not_an_installed_package unknown for TrueNAS 99.10.1, spec sha256 abababababab…"
    )


def test_distribution_version_falls_back_when_not_installed() -> None:
    assert version.distribution_version("no-such-distribution-xyz") == "unknown"
    assert version.distribution_version("no-such-distribution-xyz", fallback="1.2.3") == "1.2.3"
    assert version.distribution_version("truenas-mcp") == metadata.version("truenas-mcp")
