"""App upgrades and the catalog they come from (``plugins/apps/upgrade.py``, ``plugins/catalog/sync.py``).

The catalog holds, per app, the chart versions the demo box can move between and the upstream version
each one ships. ``app.upgrade`` checks what the middleware checks (not stopped, an upgrade available, the
version exists and is newer), then moves the app to that version: ``app.query`` shows it, the
``AppUpdate`` alert clears when the app is on the latest version, and ``app.query`` subscribers hear it.
"""

from __future__ import annotations

import copy
import errno
from typing import Any, Final

from truenas_mcp.sim.api import CallContext, Handler
from truenas_mcp.sim.errors import CallError, ValidationErrors, instance_not_found
from truenas_mcp.sim.services.common import arg, checkpoint, progress, world

# app name -> chart version -> (upstream app version, changelog)
CATALOG: Final[dict[str, dict[str, tuple[str, str | None]]]] = {
    "nextcloud": {
        "1.6.21": ("31.0.6", None),
        "1.6.22": ("31.0.7", "Bump nextcloud to 31.0.7"),
        "1.6.24": ("31.0.8", "Bump nextcloud to 31.0.8; fix the cron container's healthcheck"),
    },
    "plex": {"1.2.8": ("1.41.9.9961", None)},
}


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _app(ctx: CallContext, name: Any) -> dict[str, Any]:
    app = world(ctx).find("app", "name", name)
    if app is None:
        raise instance_not_found("App", name)
    return app


def _versions(app: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return CATALOG.get(app["metadata"]["name"], {app["version"]: (app["metadata"]["app_version"], None)})


def _target(app: dict[str, Any], wanted: str) -> str:
    versions = _versions(app)
    version = max(versions, key=_key) if wanted == "latest" else wanted
    if version not in versions:
        raise CallError(f"Unable to locate {version!r} version for {app['metadata']['name']!r} app")
    if _key(version) <= _key(app["version"]):
        raise ValidationErrors(
            [("options.app_version", "Upgrade version must be greater than current version", errno.EINVAL)]
        )
    return version


async def app_upgrade(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    name = arg(params, 0)
    options = {"app_version": "latest", **(arg(params, 1, {}) or {})}
    app = _app(ctx, name)
    if app["state"] == "STOPPED":
        raise CallError("In order to upgrade an app, it must not be in stopped state")
    if app["upgrade_available"] is False:
        raise CallError(f"No upgrade available for {name!r}")
    progress(ctx, 0, f"Retrieving versions for {name!r} app")
    version = _target(app, str(options["app_version"]))
    progress(ctx, 20, f"Validating {name!r} app upgrade to {version!r} version")
    await checkpoint(ctx)
    upstream = _versions(app)[version][0]
    latest = max(_versions(app), key=_key)
    old_upstream = app["metadata"]["app_version"]
    app["version"] = version
    app["metadata"]["version"] = version
    app["metadata"]["app_version"] = upstream
    app["human_version"] = f"{upstream}_{version}"
    app["latest_version"] = latest
    app["upgrade_available"] = _key(latest) > _key(version)
    for container in app["active_workloads"]["container_details"]:
        container["image"] = container["image"].replace(old_upstream, upstream)
    app["active_workloads"]["images"] = [c["image"] for c in app["active_workloads"]["container_details"]]
    progress(ctx, 40, f"Configuration updated for {name!r}, upgrading app")
    await checkpoint(ctx)
    w = world(ctx)
    if not app["upgrade_available"]:
        w.tables["alert"] = [
            a for a in w.table("alert") if not (a["klass"] == "AppUpdate" and a["args"].get("name") == name)
        ]
    ctx.sim.emit("app.query", "changed", name, copy.deepcopy(app))
    progress(ctx, 100, "Upgraded app successfully")
    return copy.deepcopy(app)


async def app_upgrade_summary(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    name = arg(params, 0)
    options = {"app_version": "latest", **(arg(params, 1, {}) or {})}
    app = _app(ctx, name)
    if app["upgrade_available"] is False:
        raise CallError(f"No upgrade available for {name!r}")
    versions = _versions(app)
    version = _target(app, str(options["app_version"]))
    latest = max(versions, key=_key)
    return {
        "latest_version": latest,
        "latest_human_version": f"{versions[latest][0]}_{latest}",
        "upgrade_version": version,
        "upgrade_human_version": f"{versions[version][0]}_{version}",
        "changelog": versions[version][1],
        "available_versions_for_upgrade": [
            {"version": v, "human_version": f"{up}_{v}"}
            for v, (up, _) in sorted(versions.items(), key=lambda item: _key(item[0]))
            if _key(v) > _key(app["version"])
        ],
    }


async def catalog_sync(ctx: CallContext, params: list[Any]) -> None:
    progress(ctx, 5, "Updating catalog repository")
    await checkpoint(ctx)
    progress(ctx, 15, "Reading catalog information")
    world(ctx).system["catalog_synced"] = True
    progress(ctx, 100, "Synced catalog")
    return None


HANDLERS: dict[str, Handler] = {
    "app.upgrade": app_upgrade,
    "app.upgrade_summary": app_upgrade_summary,
    "catalog.sync": catalog_sync,
}
