"""Secret fields in results, as ``main.py dump_result`` of 25.04.2 shows them to each session.

A FULL_ADMIN session, or one holding the write role of the method's service (``{role_prefix}_WRITE``:
``ALERT`` for mail, ``DIRECTORY_SERVICE`` for LDAP, ``SYSTEM_GENERAL`` for UPS, ``SHARING_ISCSI_AUTH`` for
iSCSI auth), sees the secrets it wrote; every other session gets ``"********"`` in their place, in query
rows, ``get_instance`` and ``config`` answers alike.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.sim.conftest import RawRpc, open_rpc
from tests.sim.test_legacy import connected, result_of
from truenas_mcp.catalog import CatalogNotFound
from truenas_mcp.sim import secrets
from truenas_mcp.sim.server import RunningSimulator, Simulator
from truenas_mcp.wire import SECRET_VALUE

MAIL_PASS = "mail-pass-4a9c1e"
BINDPW = "ldap-bind-7f2d0b"
MONPWD = "ups-mon-3c8e5a"
ISCSI_SECRET = "iscsi-secret-5b1d"  # iSCSI CHAP secrets are 12 to 16 characters
ISCSI_PEER = "iscsi-peer-9e4a0c"[:16]
WRITER_ROLES = ["ALERT_WRITE", "DIRECTORY_SERVICE_WRITE", "SYSTEM_GENERAL_WRITE", "SHARING_ISCSI_AUTH_WRITE"]
WRITER_PASSWORD = "writer-pass-1d8f"


async def _finished(client: RawRpc, job_id: int) -> dict[str, Any]:
    [job] = await client.call("core.get_jobs", [[["id", "=", job_id]]])
    if job["state"] not in {"SUCCESS", "FAILED", "ABORTED"}:
        await client.call("core.job_wait", [job_id])
        [job] = await client.call("core.get_jobs", [[["id", "=", job_id]]])
    assert job["state"] == "SUCCESS", job
    return job


@pytest.fixture
async def written(admin: RawRpc) -> dict[str, Any]:
    """The four secrets, written by truenas_admin."""
    await admin.call("mail.update", [{"pass": MAIL_PASS, "user": "mailer", "smtp": True}])
    job = await admin.call(
        "ldap.update",
        [
            {
                "hostname": ["ldap.example.com"],
                "basedn": "dc=example,dc=com",
                "binddn": "cn=admin",
                "bindpw": BINDPW,
                "enable": False,
            }
        ],
    )
    await _finished(admin, job)
    await admin.call("ups.update", [{"monpwd": MONPWD}])
    auth = await admin.call(
        "iscsi.auth.create",
        [{"tag": 7, "user": "chap", "secret": ISCSI_SECRET, "peeruser": "peer", "peersecret": ISCSI_PEER}],
    )
    return {"iscsi_id": auth["id"]}


async def _session(sim: RunningSimulator, username: str, secret: str, *, key: bool) -> AsyncIterator[RawRpc]:
    ws, client = await open_rpc(sim.url)
    login = (
        {"mechanism": "API_KEY_PLAIN", "username": username, "api_key": secret}
        if key
        else {"mechanism": "PASSWORD_PLAIN", "username": username, "password": secret}
    )
    try:
        assert (await client.call("auth.login_ex", [login]))["response_type"] == "SUCCESS"
        yield client
    finally:
        await ws.close()


async def _seen(client: RawRpc, iscsi_id: int) -> dict[str, Any]:
    """Each secret field as the session's answers show it."""
    [row] = await client.call("iscsi.auth.query", [[["id", "=", iscsi_id]]])
    one = await client.call("iscsi.auth.get_instance", [iscsi_id])
    got = await client.call("iscsi.auth.query", [[["id", "=", iscsi_id]], {"get": True}])
    return {
        "mail": (await client.call("mail.config"))["pass"],
        "ldap": (await client.call("ldap.config"))["bindpw"],
        "ups": (await client.call("ups.config"))["monpwd"],
        "iscsi query": (row["secret"], row["peersecret"]),
        "iscsi get_instance": (one["secret"], one["peersecret"]),
        "iscsi query get": (got["secret"], got["peersecret"]),
    }


def _all(mail: Any, ldap: Any, ups: Any, iscsi: tuple[Any, Any]) -> dict[str, Any]:
    return {
        "mail": mail,
        "ldap": ldap,
        "ups": ups,
        "iscsi query": iscsi,
        "iscsi get_instance": iscsi,
        "iscsi query get": iscsi,
    }


MASKED = (SECRET_VALUE, SECRET_VALUE)


async def test_a_full_admin_sees_the_secrets_it_wrote(admin: RawRpc, written: dict[str, Any]) -> None:
    assert await _seen(admin, written["iscsi_id"]) == _all(
        MAIL_PASS, BINDPW, MONPWD, (ISCSI_SECRET, ISCSI_PEER)
    )


async def test_a_read_only_admin_sees_every_secret_masked(
    sim: RunningSimulator, written: dict[str, Any]
) -> None:
    alice = next(u for u in sim.users if u.username == "alice")
    assert alice.roles == ("READONLY_ADMIN",) and alice.api_key is not None
    async for client in _session(sim, "alice", alice.api_key, key=True):
        seen = await _seen(client, written["iscsi_id"])
    assert seen == _all(SECRET_VALUE, SECRET_VALUE, SECRET_VALUE, MASKED)


async def test_a_sharing_admin_sees_only_the_iscsi_secrets_its_sharing_write_role_covers(
    sim: RunningSimulator, written: dict[str, Any]
) -> None:
    # role.py: SHARING_ADMIN includes SHARING_WRITE, which includes SHARING_ISCSI_WRITE and with it
    # SHARING_ISCSI_AUTH_WRITE; it includes none of ALERT_WRITE, DIRECTORY_SERVICE_WRITE and
    # SYSTEM_GENERAL_WRITE.
    carol = next(u for u in sim.users if u.username == "carol")
    assert carol.roles == ("SHARING_ADMIN",) and carol.api_key is not None
    async for client in _session(sim, "carol", carol.api_key, key=True):
        seen = await _seen(client, written["iscsi_id"])
    assert seen == _all(SECRET_VALUE, SECRET_VALUE, SECRET_VALUE, (ISCSI_SECRET, ISCSI_PEER))


async def test_a_session_with_each_services_write_role_sees_its_secrets(
    sim: RunningSimulator, admin: RawRpc, written: dict[str, Any]
) -> None:
    group = await admin.call("group.create", [{"name": "writers"}])
    [row] = await admin.call("group.query", [[["id", "=", group]]])
    await admin.call(
        "user.create",
        [{"username": "wendy", "full_name": "Wendy", "group": group, "password": WRITER_PASSWORD}],
    )
    await admin.call(
        "privilege.create",
        [
            {
                "name": "writers",
                "local_groups": [row["gid"]],
                "ds_groups": [],
                "roles": WRITER_ROLES,
                "web_shell": False,
            }
        ],
    )
    async for client in _session(sim, "wendy", WRITER_PASSWORD, key=False):
        seen = await _seen(client, written["iscsi_id"])
    assert seen == _all(MAIL_PASS, BINDPW, MONPWD, (ISCSI_SECRET, ISCSI_PEER))


async def test_a_bulk_call_masks_each_result_for_a_session_without_the_write_role(
    sim: RunningSimulator, admin: RawRpc, written: dict[str, Any]
) -> None:
    alice = next(u for u in sim.users if u.username == "alice")
    assert alice.api_key is not None
    async for client in _session(sim, "alice", alice.api_key, key=True):
        job = await client.call("core.bulk", ["mail.config", [[], []]])
        done = await _finished(client, job)
    assert [status["result"]["pass"] for status in done["result"]] == [SECRET_VALUE, SECRET_VALUE]
    job = await admin.call("core.bulk", ["mail.config", [[]]])
    done = await _finished(admin, job)
    assert [status["result"]["pass"] for status in done["result"]] == [MAIL_PASS]


PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEsecret\n-----END PRIVATE KEY-----\n"


async def test_job_rows_mask_the_result_even_for_a_full_admin_unless_raw_result_is_asked(
    admin: RawRpc,
) -> None:
    # core_service.py get_jobs: an external caller's rows are redacted (expose_secrets=False) by default.
    job = await admin.call(
        "certificate.create",
        [
            {
                "name": "imported",
                "create_type": "CERTIFICATE_CREATE_IMPORTED",
                "certificate": PEM_CERT,
                "privatekey": PEM_KEY,
            }
        ],
    )
    done = await _finished(admin, job)
    assert done["result"]["privatekey"] == SECRET_VALUE
    assert done["result"]["certificate"] == PEM_CERT
    [raw] = await admin.call("core.get_jobs", [[["id", "=", job]], {"extra": {"raw_result": True}}])
    assert raw["result"]["privatekey"] == PEM_KEY


def test_without_the_tool_catalogue_the_simulator_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    # The catalogue's absence is an installation fault no running part can show, so it is stood in for.
    def missing(name: str | None = None) -> None:
        raise CatalogNotFound(f"no tool catalog named {name!r}; installed: ")

    monkeypatch.setattr(secrets, "load_catalog", missing)
    with pytest.raises(RuntimeError, match=r"cannot start without it: no tool catalog named '25\.04\.2'"):
        Simulator(rate_limit_delay=(0.0, 0.0))


async def test_the_legacy_endpoint_masks_the_same_fields(
    sim: RunningSimulator, written: dict[str, Any]
) -> None:
    alice = next(u for u in sim.users if u.username == "alice")
    answers: dict[str, Any] = {}
    for who, key in (("admin", sim.admin_api_key), ("alice", alice.api_key)):
        ws = await connected(sim)
        try:
            await ws.send(json.dumps({"id": "in", "msg": "method", "method": "auth.login_with_api_key",
                                      "params": [key]}))  # fmt: skip
            assert (await result_of(ws, "in"))["result"] is True
            await ws.send(json.dumps({"id": "mail", "msg": "method", "method": "mail.config", "params": []}))
            answers[who] = (await result_of(ws, "mail"))["result"]["pass"]
        finally:
            await ws.close()
    assert answers == {"admin": MAIL_PASS, "alice": SECRET_VALUE}
