"""Profiles: what each URL lists and reaches, and what that costs in tokens."""

from __future__ import annotations

import json

import pytest

from truenas_mcp.catalog import Catalog
from truenas_mcp.server import builtin
from truenas_mcp.server.cli import profile_costs
from truenas_mcp.server.profiles import CORE_TOOLS, MAX_CORE_TOOLS, ProfileError, Profiles
from truenas_mcp.server.settings import ServerSettings


@pytest.fixture(scope="module")
def profiles(catalog: Catalog) -> Profiles:
    return Profiles(catalog, job_wait_seconds=30)


def test_every_core_tool_exists_in_the_catalog(catalog: Catalog) -> None:
    assert set(CORE_TOOLS) <= set(catalog.by_name)


def test_default_profile_lists_the_core_and_reaches_every_offered_tool(profiles: Profiles) -> None:
    default = profiles.default
    assert len(default.listed) <= MAX_CORE_TOOLS
    assert set(default.listed) == set(CORE_TOOLS)
    assert {b.name for b in default.builtins} == set(builtin.DISCOVERY_TOOLS) | set(builtin.JOB_TOOLS)
    assert default.reachable == {tool.name for tool in profiles.catalog}


def test_default_profile_definitions_stay_under_15k_tokens(catalog: Catalog) -> None:
    costs = profile_costs(catalog, "default", ServerSettings())
    assert sum(c.tokens for c in costs) < 15_000


def test_readonly_profile_lists_and_reaches_only_read_tools(profiles: Profiles, catalog: Catalog) -> None:
    readonly = profiles.readonly
    assert readonly.listed
    assert all(catalog.by_name[name].policy.safety == "read" for name in readonly.reachable)
    assert "pool_query" in readonly.listed
    assert "service_start" not in readonly.reachable


def test_all_profile_has_the_shape_of_the_whole_catalog(profiles: Profiles, catalog: Catalog) -> None:
    # Which of them a caller is offered is the filter chain's decision (tests/server/test_chain.py).
    assert set(profiles.all.listed) == set(catalog.by_name)
    assert not profiles.all.discovery


def test_upload_tools_are_excluded_by_reviewed_policy_data_with_a_reason(catalog: Catalog) -> None:
    uploads = [tool for tool in catalog if tool.policy.pipe == "upload"]
    assert uploads
    for tool in uploads:
        assert tool.policy.excluded is not None and "upload" in tool.policy.excluded


def test_toolset_profiles_accept_groups_and_namespaces(profiles: Profiles, catalog: Catalog) -> None:
    storage = profiles.toolsets("storage")
    assert "pool_query" in storage.listed
    assert all("storage" in catalog.by_name[n].policy.toolsets for n in storage.listed)
    combined = profiles.toolsets("sharing.smb, pool.dataset")
    assert {catalog.by_name[n].policy.namespace for n in combined.listed} == {"sharing.smb", "pool.dataset"}
    assert profiles.toolsets("pool.dataset,sharing.smb") is combined


def test_unknown_toolsets_are_an_error_listing_the_known_groups(profiles: Profiles) -> None:
    with pytest.raises(ProfileError, match=r"unknown toolset.*nope.*groups: accounts"):
        profiles.toolsets("storage,nope")
    with pytest.raises(ProfileError):
        profiles.named("everything")


def test_listing_is_sorted_and_byte_stable(catalog: Catalog) -> None:
    first = Profiles(catalog, job_wait_seconds=30)
    second = Profiles(catalog, job_wait_seconds=30)
    assert list(first.all.listed) == sorted(first.all.listed)
    dump = [json.dumps(catalog.by_name[n].definition(), sort_keys=False) for n in first.default.listed]
    assert dump == [
        json.dumps(catalog.by_name[n].definition(), sort_keys=False) for n in second.default.listed
    ]
