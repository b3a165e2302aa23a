"""Redaction by reviewed paths: exactly the marked fields, whatever shape the answer takes."""

from __future__ import annotations

import os
from pathlib import Path

from truenas_mcp.server import redact
from truenas_mcp.sim.world_seed import demo_world

M = redact.MASK


def test_paths_mask_marked_fields_in_rows_single_objects_and_nested_lists() -> None:
    paths = ("*.bindpw", "bindpw", "devices.*.attributes.password", "credentials.*.private_key")
    rows = [{"bindpw": "s1", "host": "ldap"}, {"bindpw": None, "host": "ad"}]
    single = {
        "bindpw": "s2",
        "devices": [{"attributes": {"password": "s3", "port": 5900}}, {"attributes": {}}],
        "credentials": {"a": {"private_key": "s4", "public_key": "p"}},
    }
    assert redact.mask_paths(rows, paths) == [{"bindpw": M, "host": "ldap"}, {"bindpw": None, "host": "ad"}]
    assert redact.mask_paths(single, paths) == {
        "bindpw": M,
        "devices": [{"attributes": {"password": M, "port": 5900}}, {"attributes": {}}],
        "credentials": {"a": {"private_key": M, "public_key": "p"}},
    }
    assert single["bindpw"] == "s2"  # a copy: the original answer is untouched


def test_a_whole_object_or_a_whole_result_can_be_the_secret() -> None:
    assert redact.mask_paths({"attributes": {"private_key": "k"}, "id": 1}, ["attributes"]) == {
        "attributes": M,
        "id": 1,
    }
    assert redact.mask_paths("the-dataset-key", ["*"]) == M
    assert redact.mask_paths(None, ["*"]) is None


def test_previews_mask_only_secret_arguments_and_records_add_secret_names() -> None:
    arguments = {"id": 1, "api_key_update": {"reset": True, "name": "backup"}, "user": {"password": "p"}}
    assert redact.for_preview(arguments, ()) == arguments  # nothing secret: shown as sent
    assert redact.for_preview({"bindpw": "pw", "binddn": "cn=x"}, ["bindpw"]) == {
        "bindpw": M,
        "binddn": "cn=x",
    }
    recorded = redact.for_record({"bindpw": "pw1234567", "passwrd_typo": {"password": "x"}}, ["bindpw"])
    assert recorded == {"bindpw": M, "passwrd_typo": {"password": M}}


def test_values_seen_at_secret_paths_are_scrubbed_from_later_log_lines() -> None:
    redact.for_record({"monpwd": "ups-monitor-passphrase-9"}, ["monpwd"])
    assert (
        redact.scrub("upsmon: login failed for ups-monitor-passphrase-9") == f"upsmon: login failed for {M}"
    )


def test_queries_that_read_a_secret_field_are_refused_for_readers() -> None:
    paths = ("*.unixhash", "unixhash", "*.devices.*.attributes.password")
    assert redact.query_refusal({"filters": [["unixhash", "^", "$6$"]]}, paths)
    assert redact.query_refusal(
        {"filters": [["OR", [["username", "=", "a"], ["unixhash", "=", "b"]]]]}, paths
    )
    assert redact.query_refusal({"options": {"select": [["unixhash", "h"]]}}, paths)
    assert redact.query_refusal({"options": {"order_by": ["-unixhash"]}}, paths)
    assert redact.query_refusal({"options": {"select": ["devices.attributes"]}}, paths)
    assert (
        redact.query_refusal(
            {"filters": [["username", "=", "unixhash"]], "options": {"select": ["uid"]}}, paths
        )
        is None
    )


def test_the_simulator_state_file_is_private(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    old = os.umask(0o022)
    try:
        demo_world().save(target)
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o600
