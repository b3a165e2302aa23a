"""Secret fields and identity rules in the overrides are reviewed data with checkable provenance.

The secret paths of ``overrides/methods/*.toml`` must be exactly what ``truenas_mcp_gen.secret_fields``
extracts from the 25.04.2 middleware source (beside every checkout as ``../shared/reference/``); whatever a
review adds beyond the source sits in ``secret_review`` with its reason. The extractor itself is checked on
small hand-written sources, so a regression in how it reads ``private=True`` or ``Secret[...]`` is caught
without the archive.
"""

from __future__ import annotations

import tarfile
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from truenas_mcp_gen import secret_fields
from truenas_mcp_gen.overrides import load_method_overrides

ARCHIVE = Path("../shared/reference/truenas-middleware-TS-25.04.2.tar.xz")
DEFAULT_OVERRIDES = Path(__file__).resolve().parents[2] / "overrides"


@pytest.fixture(scope="module")
def middleware_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not ARCHIVE.is_file():
        pytest.skip(f"{ARCHIVE} is not beside this checkout")
    root = tmp_path_factory.mktemp("middleware")
    wanted = ("src/middlewared/middlewared/plugins/", "src/middlewared/middlewared/api/")
    with tarfile.open(ARCHIVE) as archive:
        members = [m for m in archive.getmembers() if m.name.startswith(wanted) and m.name.endswith(".py")]
        archive.extractall(root, members=members, filter="data")
    return root


@pytest.fixture(scope="module")
def reviewed(recording_methods: Mapping[str, Any]) -> dict[str, Any]:
    methods, _ = load_method_overrides(DEFAULT_OVERRIDES / "methods", recording_methods)
    return methods


def test_secret_paths_in_the_overrides_are_exactly_what_the_middleware_source_marks(
    middleware_source: Path, recording_methods: Mapping[str, Any], reviewed: Mapping[str, Any]
) -> None:
    extracted = secret_fields.extract(middleware_source, recording_methods)
    in_overrides = {
        method: {"secret_inputs": list(e.secret_inputs), "secret_outputs": list(e.secret_outputs)}
        for method, e in reviewed.items()
        if e.secret_inputs or e.secret_outputs
    }
    assert in_overrides == extracted


def test_the_fields_known_to_leak_are_secret_in_the_generated_policy(
    recording_methods: Mapping[str, Any],
) -> None:
    from truenas_mcp.catalog import load_catalog

    catalog = load_catalog()
    expected = {
        "mail.config": "pass",
        "ldap.config": "bindpw",
        "activedirectory.config": "bindpw",
        "ups.config": "monpwd",
        "iscsi.auth.query": "*.peersecret",
        "snmp.config": "v3_privpassphrase",
        "keychaincredential.query": "*.attributes",
        "cloudsync.credentials.query": "*.provider.secret_access_key",
        "api_key.create": "key",
    }
    missing = {m: p for m, p in expected.items() if p not in catalog.by_method[m].policy.secret_outputs}
    assert missing == {}


def test_every_reviewed_addition_and_identity_rule_says_why(reviewed: Mapping[str, Any]) -> None:
    unexplained = [
        m
        for m, e in reviewed.items()
        if (e.secret_review is not None and not e.secret_review.reason.strip())
        or (e.admin_only is not None and not e.admin_only.strip())
    ]
    assert unexplained == []


def test_credential_and_identity_writes_are_full_admin_only(reviewed: Mapping[str, Any]) -> None:
    must = [
        "api_key.create",
        "api_key.update",
        "api_key.delete",
        "auth.generate_token",
        "user.create",
        "user.update",
        "user.set_password",
        "user.renew_2fa_secret",
        "privilege.create",
        "privilege.update",
        "privilege.delete",
        "group.update",
        "keychaincredential.create",
        "keychaincredential.update",
        "auth.twofactor.update",
    ]
    assert [m for m in must if m not in reviewed or reviewed[m].admin_only is None] == []


def _write(root: Path, relative: str, source: str) -> None:
    path = root / secret_fields.PACKAGE / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")


def test_the_extractor_follows_patches_password_attributes_and_secret_models(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "plugins/demo.py",
        """
        class DemoService:
            ENTRY = Dict('demo_entry', Str('user'), Password('pass'), Str('token', private=True), Int('id'))

            @accepts(Patch('demo_entry', 'demo_update', ('rm', {'name': 'id'})))
            def do_update(self, data):
                pass
        """,
    )
    _write(
        tmp_path,
        "api/v25_04_2/demo.py",
        """
        class KeyEntry(BaseModel):
            id: int
            private: Secret[str]
            public: str

        class KeyCreate(KeyEntry):
            id: Excluded = excluded_field()
        """,
    )
    (tmp_path / secret_fields.PACKAGE / "api" / "base").mkdir(parents=True)
    obj: dict[str, Any] = {"type": "object"}
    recording = {
        "demo.update": {
            "accepts": [
                {**obj, "_name_": "demo_update", "properties": {"user": {}, "pass": {}, "token": {}}}
            ],
            "returns": [
                {**obj, "_name_": "demo_entry", "properties": {"user": {}, "pass": {}, "token": {}, "id": {}}}
            ],
        },
        "key.create": {
            "accepts": [{**obj, "_name_": "key_create", "properties": {"private": {}, "public": {}}}],
            "returns": [{**obj, "_name_": "result", "properties": {"id": {}, "private": {}, "public": {}}}],
        },
        "other.update": {
            "accepts": [{**obj, "_name_": "other_update", "properties": {"pass": {}, "token": {}}}],
            "returns": [],
        },
    }
    assert secret_fields.extract(tmp_path, recording) == {
        "demo.update": {"secret_inputs": ["pass", "token"], "secret_outputs": ["pass", "token"]},
        "key.create": {"secret_inputs": ["private"], "secret_outputs": ["private"]},
    }


def test_a_malformed_or_misplaced_secret_path_stops_generation_naming_the_file(tmp_path: Path) -> None:
    from truenas_mcp_gen.errors import GenerationError

    (tmp_path / "mail.toml").write_text('["mail.config"]\nsecret_outputs = ["pass..x"]\n', encoding="utf-8")
    with pytest.raises(GenerationError, match=r"mail\.toml:2: mail\.config\.secret_outputs"):
        load_method_overrides(tmp_path, ["mail.config"])
    (tmp_path / "mail.toml").write_text(
        '["mail.config"]\n["mail.config".secret_review]\noutputs = ["pass"]\n', encoding="utf-8"
    )
    with pytest.raises(GenerationError, match="reason"):
        load_method_overrides(tmp_path, ["mail.config"])


def test_secret_paths_must_exist_and_secret_results_admit_the_mask() -> None:
    from jsonschema import Draft202012Validator
    from truenas_mcp_gen.compose import admit_masks, resolves

    row = {"type": "object", "properties": {"port": {"type": "integer"}, "key": {"$ref": "#/$defs/Key"}}}
    schema = {"type": "array", "items": row, "$defs": {"Key": {"type": "object", "properties": {}}}}
    assert resolves(schema, "*.port") and resolves(schema, "*.key.anything") and resolves(schema, "*")
    assert not resolves(schema, "*.prot") and not resolves(schema, "port")
    root = {"type": "object", "properties": {"result": schema}, "$defs": schema.pop("$defs")}
    masked = [{"port": "********", "key": "********"}]
    assert not Draft202012Validator(root).is_valid({"result": masked})
    assert Draft202012Validator(admit_masks(root, ["*.port", "*.key"])).is_valid({"result": masked})
