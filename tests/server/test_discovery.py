"""Discovery search: plain-language requests find the tool a person would pick."""

from __future__ import annotations

import pytest

from truenas_mcp.catalog import Catalog
from truenas_mcp.server.discovery import SearchIndex, query_terms, stem


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
