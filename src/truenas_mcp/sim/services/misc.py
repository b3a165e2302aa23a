"""Services, alerts, apps, VMs and data-protection tasks: the rest of what a dashboard shows."""

from __future__ import annotations

import copy
import errno
from typing import Any, Final

from truenas_mcp.sim.api import CallContext, Handler
from truenas_mcp.sim.errors import CallError, instance_not_found
from truenas_mcp.sim.services.common import (
    arg,
    checkpoint,
    emit,
    fresh,
    get_instance_handler,
    progress,
    query_handler,
    require,
    world,
)

_SERVICE_PIDS: Final = {
    "cifs": [2144, 2146],
    "nfs": [2210],
    "ssh": [1532],
    "smartd": [1488],
    "ftp": [2301],
    "snmp": [2302],
    "ups": [2303],
    "iscsitarget": [2304],
}


def service_rows(ctx: CallContext, options: dict[str, Any]) -> list[dict[str, Any]]:
    return fresh(world(ctx).table("service"))


def _service(ctx: CallContext, name: Any) -> dict[str, Any]:
    w = world(ctx)
    row = w.find("service", "service", name) or (
        w.find("service", "id", name) if isinstance(name, int) else None
    )
    if row is None:
        raise CallError(f"Service {name!r} not found", errno.ENOENT)
    return row


def _control(target: str | None, verb: str) -> Handler:
    """start/stop/restart/reload: flip the state (a job with progress when the recording says so)."""

    async def handler(ctx: CallContext, params: list[Any]) -> bool:
        row = _service(ctx, arg(params, 0))
        progress(ctx, 0, f"{verb} {row['service']}")
        await checkpoint(ctx)
        if verb == "reload" and row["state"] != "RUNNING":
            return False
        if target is not None:
            row["state"] = target
            row["pids"] = list(_SERVICE_PIDS.get(row["service"], [])) if target == "RUNNING" else []
        progress(ctx, 100, f"{verb} {row['service']}: done")
        emit(ctx, "service.query", "changed", row["id"])
        return True

    return handler


async def service_update(ctx: CallContext, params: list[Any]) -> int:
    row = _service(ctx, arg(params, 0))
    data = arg(params, 1, {})
    if "enable" in data:
        row["enable"] = bool(data["enable"])
    emit(ctx, "service.query", "changed", row["id"])
    return int(row["id"])


async def service_started(ctx: CallContext, params: list[Any]) -> bool:
    return bool(_service(ctx, arg(params, 0))["state"] == "RUNNING")


async def service_started_or_enabled(ctx: CallContext, params: list[Any]) -> bool:
    row = _service(ctx, arg(params, 0))
    return bool(row["state"] == "RUNNING" or row["enable"])


# -- alerts -------------------------------------------------------------------------------------------


async def alert_list(ctx: CallContext, params: list[Any]) -> list[dict[str, Any]]:
    return sorted(fresh(world(ctx).table("alert")), key=lambda a: (a["datetime"], a["uuid"]))


def _set_dismissed(value: bool) -> Handler:
    async def handler(ctx: CallContext, params: list[Any]) -> None:
        uuid = arg(params, 0)
        alert = world(ctx).find("alert", "uuid", uuid)
        if alert is None:
            raise CallError(f"Alert {uuid} not found", errno.ENOENT)
        if alert["dismissed"] != value:
            alert["dismissed"] = value
            ctx.sim.emit("alert.list", "changed", uuid, copy.deepcopy(alert))
        return None

    return handler


# -- apps and VMs -------------------------------------------------------------------------------------


def app_rows(ctx: CallContext, options: dict[str, Any]) -> list[dict[str, Any]]:
    retrieve_config = bool((options.get("extra") or {}).get("retrieve_config"))
    rows = fresh(world(ctx).table("app"))
    for row in rows:
        row["config"] = {"TZ": world(ctx).system["general"]["timezone"]} if retrieve_config else None
    return rows


def _app_state(target: str, transient: str) -> Handler:
    async def handler(ctx: CallContext, params: list[Any]) -> None:
        name = arg(params, 0)
        app = world(ctx).find("app", "name", name)
        if app is None:  # app.get_instance first, as plugins/apps/app_scale.py does
            raise instance_not_found("App", name)
        app["state"] = transient
        emit(ctx, "app.query", "changed", name)
        for step in range(1, 4):
            progress(ctx, step * 25, f"{transient.capitalize()} {name}")
            await checkpoint(ctx)
        app["state"] = target
        emit(ctx, "app.query", "changed", name)
        return None

    return handler


def vm_rows(ctx: CallContext, options: dict[str, Any]) -> list[dict[str, Any]]:
    return fresh(world(ctx).table("vm"))


def _vm(ctx: CallContext, ident: Any) -> dict[str, Any]:
    return require(world(ctx).find("vm", "id", ident), "VM", ident)


def _vm_state(target: str) -> Handler:
    async def handler(ctx: CallContext, params: list[Any]) -> None:
        vm = _vm(ctx, arg(params, 0))
        if target == "RUNNING" and vm["status"]["state"] == "RUNNING":
            raise CallError(f"VM {vm['name']} is already running", errno.EEXIST)
        progress(ctx, 50, f"{vm['name']}: {target.lower()}")
        await checkpoint(ctx)
        pid = 4242 + vm["id"] if target == "RUNNING" else None
        vm["status"] = {"state": target, "pid": pid, "domain_state": target}
        emit(ctx, "vm.query", "changed", vm["id"])
        return None

    return handler


async def vm_status(ctx: CallContext, params: list[Any]) -> dict[str, Any]:
    return copy.deepcopy(_vm(ctx, arg(params, 0))["status"])


HANDLERS: dict[str, Handler] = {
    "service.query": query_handler(service_rows, legacy=True),
    "service.get_instance": get_instance_handler(service_rows, "Service"),
    "service.start": _control("RUNNING", "start"),
    "service.stop": _control("STOPPED", "stop"),
    "service.restart": _control("RUNNING", "restart"),
    "service.reload": _control(None, "reload"),
    "service.update": service_update,
    "service.started": service_started,
    "service.started_or_enabled": service_started_or_enabled,
    "alert.list": alert_list,
    "alert.dismiss": _set_dismissed(True),
    "alert.restore": _set_dismissed(False),
    "app.query": query_handler(app_rows),
    "app.get_instance": get_instance_handler(app_rows, "App"),
    "app.start": _app_state("RUNNING", "DEPLOYING"),
    "app.stop": _app_state("STOPPED", "STOPPING"),
    "vm.query": query_handler(vm_rows),
    "vm.get_instance": get_instance_handler(vm_rows, "VM"),
    "vm.start": _vm_state("RUNNING"),
    "vm.stop": _vm_state("STOPPED"),
    "vm.poweroff": _vm_state("STOPPED"),
    "vm.status": vm_status,
}
