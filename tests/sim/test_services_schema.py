"""Every stateful handler answers, on the demo world, with values valid against the recorded ``returns``."""

from __future__ import annotations

import datetime as dt
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from truenas_mcp.sim.services import HANDLERS
from truenas_mcp.sim.services.local import LocalSimulator
from truenas_mcp.sim.world_seed import demo_world

SPEC = Path(
    os.environ.get("TRUENAS_SPEC", Path(__file__).parents[3] / "shared/spec/truenas-25.04.2.methods.json")
)

# Read-only calls whose answer must validate, with arguments that hit real rows of the demo world.
READ_CALLS: list[tuple[str, list[Any]]] = [
    ("system.info", []),
    ("system.version", []),
    ("system.version_short", []),
    ("system.host_id", []),
    ("system.boot_id", []),
    ("system.ready", []),
    ("system.state", []),
    ("system.product_type", []),
    ("system.general.config", []),
    ("pool.query", []),
    ("pool.query", [[["name", "=", "tank"]], {"get": True}]),
    ("pool.query", [[], {"count": True}]),
    ("pool.get_instance", [2]),
    ("pool.get_disks", []),
    ("disk.query", [[], {"extra": {"pools": True}}]),
    ("disk.get_instance", ["{serial_lunid}"]),
    ("pool.dataset.query", []),
    ("pool.dataset.get_instance", ["tank/vms/homeassistant"]),
    ("pool.dataset.get_instance", ["tank/vault"]),
    ("zfs.snapshot.query", []),
    ("zfs.snapshot.get_instance", ["tank/vms/homeassistant@before-upgrade-2025.8"]),
    ("pool.snapshottask.query", []),
    ("pool.snapshottask.get_instance", [1]),
    ("sharing.smb.query", []),
    ("sharing.smb.get_instance", [4]),
    ("sharing.nfs.query", []),
    ("sharing.nfs.get_instance", [1]),
    ("user.query", []),
    ("user.get_instance", [70]),
    ("user.get_next_uid", []),
    ("group.query", []),
    ("group.get_instance", [40]),
    ("group.get_next_gid", []),
    ("api_key.query", []),
    ("api_key.my_keys", []),
    ("user.has_local_administrator_set_up", []),
    ("pool.dataset.snapshot_count", ["tank/documents"]),
    ("service.query", []),
    ("service.get_instance", [1]),
    ("service.started", ["cifs"]),
    ("service.started_or_enabled", ["ftp"]),
    ("alert.list", []),
    ("app.query", []),
    ("app.query", [[], {"extra": {"retrieve_config": True}}]),
    ("app.get_instance", ["plex"]),
    ("vm.query", []),
    ("vm.get_instance", [1]),
    ("vm.status", [1]),
    ("replication.query", []),
    ("replication.get_instance", [1]),
    ("cloudsync.query", []),
    ("cloudsync.get_instance", [1]),
]

# Calls that change the world, in an order that works on the demo world.
WRITE_CALLS: list[tuple[str, list[Any]]] = [
    ("system.general.update", [{"ui_httpsredirect": True}]),
    ("pool.dataset.create", [{"name": "tank/projects", "comments": "Work", "compression": "ZSTD"}]),
    ("pool.dataset.create", [{"name": "tank/vms/win11", "type": "VOLUME", "volsize": 64 * 1024**3}]),
    ("pool.dataset.update", ["tank/projects", {"quota": 100 * 1024**3, "atime": "INHERIT"}]),
    ("zfs.snapshot.create", [{"dataset": "tank/projects", "name": "manual-1"}]),
    (
        "zfs.snapshot.update",
        ["tank/projects@manual-1", {"user_properties_update": [{"key": "a:b", "value": "c"}]}],
    ),
    ("zfs.snapshot.clone", [{"snapshot": "tank/projects@manual-1", "dataset_dst": "tank/projects-clone"}]),
    ("zfs.snapshot.hold", ["tank/projects@manual-1"]),
    ("zfs.snapshot.release", ["tank/projects@manual-1"]),
    ("zfs.snapshot.rollback", ["tank/documents@auto-2025-08-13_00-00", {"recursive": True}]),
    ("pool.snapshottask.create", [{"dataset": "tank/projects"}]),
    ("pool.snapshottask.update", [4, {"lifetime_value": 4}]),
    ("pool.snapshottask.run", [4]),
    ("pool.snapshottask.delete", [4]),
    ("sharing.smb.create", [{"name": "projects", "path": "/mnt/tank/projects"}]),
    ("sharing.smb.update", [6, {"name": "projects", "path": "/mnt/tank/projects", "ro": True}]),
    ("sharing.nfs.create", [{"path": "/mnt/tank/projects", "networks": ["10.0.0.0/8"]}]),
    ("sharing.nfs.update", [3, {"ro": True}]),
    ("group.create", [{"name": "staff"}]),
    ("group.update", [52, {"users": [72]}]),
    (
        "user.create",
        [{"username": "dave", "full_name": "Dave", "group_create": True, "random_password": True}],
    ),
    ("user.update", [74, {"full_name": "Dave Smit", "password": "s3cret!"}]),
    ("api_key.create", [{"name": "ha-integration", "username": "truenas_admin"}]),
    ("api_key.update", [1, {"reset": True}]),
    ("api_key.update", [1, {"name": "ha"}]),
    ("service.start", ["ftp"]),
    ("service.stop", ["ftp"]),
    ("service.restart", ["cifs"]),
    ("service.reload", ["nfs"]),
    ("service.update", ["ftp", {"enable": True}]),
    ("alert.dismiss", [None]),
    ("alert.restore", [None]),
    ("app.stop", ["plex"]),
    ("app.start", ["plex"]),
    ("vm.stop", [1]),
    ("vm.start", [1]),
    ("vm.poweroff", [1]),
    ("pool.scrub.scrub", ["backup"]),
    ("pool.scrub", [1, "START"]),
    ("pool.scrub.run", ["tank", 0]),
    ("sharing.smb.delete", [6]),
    ("sharing.nfs.delete", [3]),
    ("api_key.delete", [1]),
    ("user.delete", [74, {"delete_group": True}]),
    ("group.delete", [52]),
    ("zfs.snapshot.delete", ["tank/documents@auto-2025-08-12_00-00"]),
    ("pool.dataset.delete", ["tank/projects-clone"]),
    ("pool.dataset.delete", ["tank/projects", {"recursive": True}]),
]


EVENTS = (
    frozenset(json.loads(SPEC.with_name("truenas-25.04.2.events.json").read_text())) if SPEC.exists() else ()
)


@cache
def recording() -> dict[str, Any]:
    if not SPEC.exists():
        pytest.skip(f"recording not found at {SPEC}")
    return json.loads(SPEC.read_text())


def _is_string(checker: Any, value: Any) -> bool:
    # Datetimes travel as ejson ``{"$date": ms}``; the schema describes the decoded value as a string.
    return isinstance(value, str | dt.datetime | dt.date | dt.time)


_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("string", _is_string)
Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=_TYPES)


@cache
def validator(method: str) -> Any:
    normalize = pytest.importorskip("truenas_mcp_gen.normalize")
    returns = recording()[method]["returns"]
    schema = normalize.normalize_schema(returns[0]) if returns else {}
    return Validator(schema)


def assert_valid(method: str, result: Any) -> None:
    errors = sorted(validator(method).iter_errors(result), key=lambda e: list(e.absolute_path))
    deepest = [jsonschema.exceptions.best_match([e]) for e in errors[:10]]
    detail = "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in deepest)
    assert not errors, f"{method}: {len(errors)} schema errors\n{detail}"


def _jobs() -> frozenset[str]:
    return frozenset(name for name, entry in recording().items() if entry["job"])


def test_every_handler_is_a_recorded_method() -> None:
    assert sorted(set(HANDLERS) - set(recording())) == []


def test_query_handlers_name_their_arguments_like_the_recording() -> None:
    from truenas_mcp.sim.errors import ValidationErrors

    for name in sorted(HANDLERS):
        if not name.endswith(".query"):
            continue
        first = recording()[name]["accepts"][0]
        expected = first["_name_"]
        bad_filters = [["x", "bogus", 1]]
        params: list[Any] = [bad_filters]
        if first.get("type") == "object":
            # ``audit.query`` takes one object holding its ``query-filters``.
            params, expected = [{"query-filters": bad_filters}], f"{expected}.query-filters"
        sim = LocalSimulator(demo_world())
        with pytest.raises(ValidationErrors) as info:
            import asyncio

            asyncio.run(sim.call(None, name, params))
        assert info.value.errors[0][0] == expected, name


@pytest.mark.parametrize(
    ("method", "params"), READ_CALLS, ids=[f"{m}-{i}" for i, (m, _) in enumerate(READ_CALLS)]
)
async def test_read_handler_answers_validate_against_returns(method: str, params: list[Any]) -> None:
    world = demo_world()
    sim = LocalSimulator(world, _jobs())
    if method == "disk.get_instance":
        params = [world.table("disk")[0]["identifier"]]
    result = await sim.call(None, method, params)
    assert_valid(method, result)


async def test_write_handlers_answer_validly_in_sequence_and_emit_events() -> None:
    world = demo_world()
    sim = LocalSimulator(world, _jobs())
    alert_uuid = world.table("alert")[0]["uuid"]
    for method, params in WRITE_CALLS:
        params = [alert_uuid] if method.startswith("alert.") else params
        before = len(sim.events)
        result = await sim.call(None, method, params)
        assert_valid(method, result)
        namespace, verb = method.rsplit(".", 1)
        if verb in ("create", "update", "delete") and f"{namespace}.query" in EVENTS:
            assert len(sim.events) > before, f"{method} emitted no event"
    # Everything queryable still validates after the churn.
    for method, params in READ_CALLS:
        if method.endswith(".query") or method == "alert.list":
            assert_valid(method, await sim.call(None, method, params))
