"""``truenas-mcp tools --summary`` counts what the server's own profiles and access policy decide."""

from __future__ import annotations

from truenas_mcp.catalog import load_catalog
from truenas_mcp.server.settings import ServerSettings
from truenas_mcp.server.summary import render, summarize


def test_a_deny_glob_removes_its_tools_from_every_count_and_is_named_as_the_reason() -> None:
    catalog = load_catalog(None)
    before = summarize(catalog, ServerSettings())
    after = summarize(catalog, ServerSettings(tool_deny=["core.bulk", "auth.*", "pool.scrub.*"]))
    scrub = [t for t in catalog if t.method.startswith("pool.scrub.")]
    assert scrub
    assert after.served == before.served - len(scrub)
    reasons = {n.method: n.reason for n in after.not_served}
    assert all(reasons[t.method] == "TRUENAS_MCP_TOOL_DENY matches 'pool.scrub.*'" for t in scrub)
    counts = {p.name: p.tools for p in after.profiles}
    assert counts["all"] == {p.name: p.tools for p in before.profiles}["all"] - len(scrub)
    assert "pool_scrub_run" not in render(after).split("not served:")[0]


def test_disabled_destructive_tools_are_counted_as_not_served() -> None:
    catalog = load_catalog(None)
    counted = summarize(catalog, ServerSettings(destructive="disable"))
    destructive = {t.method for t in catalog if t.policy.safety == "destructive"}
    hidden = {n.method for n in counted.not_served if "TRUENAS_MCP_DESTRUCTIVE=disable" in n.reason}
    assert hidden and hidden <= destructive
    assert destructive <= {n.method for n in counted.not_served}, "a destructive tool still served"
