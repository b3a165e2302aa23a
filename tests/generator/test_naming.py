"""Tool names: the strictest client rule, uniqueness, stability."""

from __future__ import annotations

import re

from truenas_mcp_gen import naming
from truenas_mcp_gen.pipeline import Surface

# OpenAI: ^[a-zA-Z0-9_-]{1,64}$; Claude Code prefixes mcp__<server>__; we keep 16 characters for that.
STRICTEST = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


def test_every_tool_name_fits_the_strictest_client_rule_and_is_unique(surface: Surface) -> None:
    names = [tool.name for tool in surface.tools]
    assert len(names) == 771
    assert [n for n in names if not STRICTEST.match(n)] == []
    assert len(set(names)) == len(names)


def test_dots_become_underscores() -> None:
    assert naming.tool_name("pool.dataset.delete") == "pool_dataset_delete"


def test_over_long_names_get_a_stable_hash_suffix_within_the_limit() -> None:
    method = "system.advanced.syslog_certificate_authority_choices"
    name = naming.tool_name(method)
    assert len(name) <= naming.MAX_TOOL_NAME and STRICTEST.match(name)
    assert name == naming.tool_name(method)
    assert name != naming.tool_name(method.replace("authority", "authorities"))


def test_titles_are_readable() -> None:
    assert naming.title("sharing.smb.create") == "Sharing SMB: create"
    assert naming.title("pool.dataset.get_instance") == "Pool dataset: get instance"


def test_property_names_of_legacy_query_parameters() -> None:
    assert naming.property_name("query-filters") == "filters"
    assert naming.property_name("query-options") == "options"
    assert naming.property_name("dataset-delete") == "dataset_delete"
