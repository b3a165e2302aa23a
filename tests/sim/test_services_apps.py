"""App upgrades change the app: after ``app.upgrade`` the query shows the new version, as on the box."""

from __future__ import annotations

from tests.sim.conftest import RawRpc


async def _run_job(admin: RawRpc, method: str, params: list[object]) -> dict[str, object]:
    await admin.call("core.subscribe", ["core.get_jobs"])
    job_id = await admin.call(method, params)
    return (await admin.job_event(job_id, {"SUCCESS", "FAILED"}))["fields"]


async def test_upgrade_to_latest_moves_the_app_and_clears_its_update_alert(admin: RawRpc) -> None:
    before = await admin.call("app.get_instance", ["nextcloud"])
    summary = await admin.call("app.upgrade_summary", ["nextcloud"])
    assert before["upgrade_available"] is True
    assert summary["upgrade_version"] == before["latest_version"] != before["version"]
    job = await _run_job(admin, "app.upgrade", ["nextcloud"])
    assert job["state"] == "SUCCESS", job
    after = await admin.call("app.get_instance", ["nextcloud"])
    assert after["version"] == summary["upgrade_version"]
    assert after["human_version"] == summary["upgrade_human_version"]
    assert after["upgrade_available"] is False and after["state"] == "RUNNING"
    assert all(
        summary["upgrade_human_version"].split("_")[0] in image
        for image in after["active_workloads"]["images"]
    )
    alerts = await admin.call("alert.list")
    assert not [a for a in alerts if a["klass"] == "AppUpdate" and a["args"]["name"] == "nextcloud"]


async def test_upgrade_without_an_update_fails_as_truenas_does(admin: RawRpc) -> None:
    job = await _run_job(admin, "app.upgrade", ["plex"])
    assert job["state"] == "FAILED"
    assert job["error"] == "[EFAULT] No upgrade available for 'plex'"
    assert (await admin.call("app.get_instance", ["plex"]))["version"] == "1.2.8"


async def test_upgrade_of_a_stopped_app_is_refused(admin: RawRpc) -> None:
    assert (await _run_job(admin, "app.stop", ["nextcloud"]))["state"] == "SUCCESS"
    job = await _run_job(admin, "app.upgrade", ["nextcloud"])
    assert job["error"] == "[EFAULT] In order to upgrade an app, it must not be in stopped state"
