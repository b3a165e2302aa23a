"""Discovery search: plain-language requests find the tool a person would pick."""

from __future__ import annotations

import pytest

from truenas_mcp.catalog import Catalog
from truenas_mcp.server.discovery import SearchIndex, Vocabulary, VocabularyError, query_terms, stem


@pytest.fixture(scope="module")
def index(catalog: Catalog) -> SearchIndex:
    return SearchIndex(catalog)


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("create an NFS share", "sharing_nfs_create"),
        ("list the snapshots", "zfs_snapshot_query"),
        ("take a snapshot of a dataset", "zfs_snapshot_create"),
        ("create a new dataset", "pool_dataset_create"),
        ("delete a user account", "user_delete"),
        ("start a scrub of the pool", "pool_scrub_run"),
        ("show disk temperatures", "disk_temperatures|disk_temperature"),
        ("restart a service", "service_restart"),
        ("dismiss an alert", "alert_dismiss"),
        ("list virtual machines", "vm_query"),
    ],
)
def test_search_finds_the_right_tool_in_the_top_three(
    index: SearchIndex, request_text: str, expected: str
) -> None:
    hits = [hit.name for hit in index.search(request_text, 3, lambda _: True)]
    assert set(expected.split("|")) & set(hits), hits


def test_search_respects_the_allowed_filter(index: SearchIndex, catalog: Catalog) -> None:
    reads = {tool.name for tool in catalog if tool.policy.safety == "read"}
    hits = index.search("delete a snapshot", 10, reads.__contains__)
    assert hits
    assert all(hit.name in reads for hit in hits)


def test_ranking_is_deterministic_and_empty_queries_find_nothing(index: SearchIndex) -> None:
    first = index.search("pool", 20, lambda _: True)
    assert first == index.search("pool", 20, lambda _: True)
    assert index.search("the of and", 5, lambda _: True) == []


def test_stemming_and_synonyms_map_plain_words_onto_truenas_terms() -> None:
    assert stem("snapshots") == "snapshot"
    assert stem("shares") == "share"
    assert "disk" in query_terms("my drives")
    assert "dataset" in query_terms("a folder")


# Held-out requests (never tuned on) must keep finding their tool in the top 5 this often.
HELD_OUT_RECALL_FLOOR = 0.9


def test_held_out_plain_language_requests_find_their_tool(index: SearchIndex, catalog: Catalog) -> None:
    from benchmarks import discovery

    requests = discovery.requests()
    held = [r for r in requests if r.held_out]
    assert len(requests) >= 100 and len(held) >= 40
    assert all(name in catalog.by_name for r in requests for name in r.tools)
    score = discovery.score(lambda text, n: [h.name for h in index.search(text, n, lambda _: True)], held)
    assert score.recall_at_5 >= HELD_OUT_RECALL_FLOOR, score.misses


def test_show_and_list_requests_surface_read_tools_first(index: SearchIndex, catalog: Catalog) -> None:
    for request in ("show the network interfaces", "list the groups", "which apps are installed"):
        top = index.search(request, 1, lambda _: True)[0].name
        assert catalog.by_name[top].policy.safety == "read", (request, top)
    assert index.search("add a group", 1, lambda _: True)[0].name == "group_create"


def test_a_malformed_vocabulary_is_refused_naming_the_table() -> None:
    with pytest.raises(VocabularyError, match=r"\[synonyms\] drive must be a list of strings"):
        Vocabulary.parse({"synonyms": {"drive": "disk"}}, "v.toml")
    with pytest.raises(VocabularyError, match=r"'add' is in create and update"):
        Vocabulary.parse({"actions": {"create": ["add"], "update": ["add"]}}, "v.toml")
    with pytest.raises(VocabularyError, match=r"\[ranking\] read_boost"):
        Vocabulary.parse({"ranking": {"read_boost": 0.5}}, "v.toml")
