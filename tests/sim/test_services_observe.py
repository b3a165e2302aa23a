"""The demo answers the first questions people ask with values that agree with the box and each other."""

from __future__ import annotations

import datetime as dt
import ipaddress

from tests.sim.conftest import RawRpc
from truenas_mcp.sim.server import RunningSimulator


async def test_interfaces_have_addresses_macs_and_link_states(admin: RawRpc) -> None:
    interfaces = await admin.call("interface.query")
    by_name = {i["name"]: i for i in interfaces}
    assert {"eno1", "br0"} <= set(by_name)
    bridge = by_name["br0"]
    assert bridge["type"] == "BRIDGE" and bridge["bridge_members"] == ["eno1"]
    address = next(a for a in bridge["aliases"] if a["type"] == "INET")
    gateway = (await admin.call("network.configuration.config"))["ipv4gateway"]
    network = ipaddress.ip_interface(f"{address['address']}/{address['netmask']}").network
    assert ipaddress.ip_address(gateway) in network
    for interface in interfaces:
        assert interface["state"]["link_state"] in {"LINK_STATE_UP", "LINK_STATE_DOWN"}
        mac = interface["state"]["link_address"]
        assert len(mac.split(":")) == 6 and all(len(part) == 2 for part in mac.split(":"))


async def test_a_created_vlan_shows_up_in_the_interface_list(admin: RawRpc) -> None:
    created = await admin.call(
        "interface.create",
        [{"type": "VLAN", "vlan_parent_interface": "eno2", "vlan_tag": 30, "aliases": [], "ipv4_dhcp": True}],
    )
    assert created["name"] == "vlan0" == created["id"]
    shown = await admin.call("interface.get_instance", ["vlan0"])
    assert (shown["vlan_tag"], shown["vlan_parent_interface"]) == (30, "eno2")


async def test_reporting_series_are_plausible_and_inside_their_window(admin: RawRpc) -> None:
    graphs = {g["name"]: g for g in await admin.call("reporting.netdata_graphs")}
    assert {"cpu", "memory", "disk", "interface"} <= set(graphs)
    disk = graphs["disk"]["identifiers"][0]
    wanted = [
        {"name": "cpu"},
        {"name": "memory"},
        {"name": "disk", "identifier": disk},
        {"name": "interface", "identifier": "br0"},
    ]
    answers = await admin.call("reporting.netdata_get_data", [wanted, {"unit": "HOUR"}])
    physmem = (await admin.call("system.info"))["physmem"]
    for answer in answers:
        assert answer["end"] - answer["start"] == 3600
        times = [row[0] for row in answer["data"]]
        assert times == sorted(times) and answer["start"] < times[0] and times[-1] <= answer["end"]
        assert all(len(row) == len(answer["legend"]) for row in answer["data"])
        assert answer["legend"][0] == "time"
    cpu, memory, _, interface = answers
    assert all(0 <= row[1] <= 100 for row in cpu["data"])
    assert all(0 < row[1] < physmem for row in memory["data"])
    assert interface["legend"] == ["time", "received", "sent"]
    values = [row[1] for row in cpu["data"]]
    assert cpu["aggregations"]["max"]["cpu"] == max(values) and cpu["aggregations"]["min"]["cpu"] == min(
        values
    )


async def test_reporting_refuses_a_window_that_ends_before_it_starts(admin: RawRpc) -> None:
    frame = await admin.request("reporting.get_data", [[{"name": "cpu"}], {"start": 2000, "end": 1000}])
    assert "Start time must be less than end time" in frame["error"]["data"]["reason"]


async def test_audit_entries_have_real_timestamps_in_order_with_their_message_time(admin: RawRpc) -> None:
    entries = await admin.call("audit.query", [{"query-options": {"order_by": ["message_timestamp"]}}])
    assert entries
    for entry in entries:
        stamp = dt.datetime.fromtimestamp(entry["timestamp"]["$date"] / 1000, dt.UTC)
        assert int(stamp.timestamp()) == entry["message_timestamp"]
        assert entry["service"] == "MIDDLEWARE" and entry["event"] in {"AUTHENTICATION", "METHOD_CALL"}
    failed = await admin.call("audit.query", [{"query-filters": [["success", "=", False]]}])
    assert [e["username"] for e in failed] == ["alice"]


async def test_sessions_include_the_caller(sim: RunningSimulator, admin: RawRpc, connect_rpc: object) -> None:
    sessions = await admin.call("auth.sessions")
    mine = [s for s in sessions if s["current"]]
    assert len(mine) == 1
    assert mine[0]["credentials"] == "API_KEY"
    assert mine[0]["credentials_data"]["username"] == sim.admin_username


async def test_an_update_newer_than_the_running_version_is_available(admin: RawRpc) -> None:
    update = await admin.call("update.check_available")
    running = await admin.call("system.version_short")
    assert update["status"] == "AVAILABLE"
    assert update["changes"][0]["old"]["version"] == running
    assert tuple(map(int, update["version"].split("."))) > tuple(map(int, running.split(".")))


async def test_disk_temperatures_cover_the_disks(admin: RawRpc) -> None:
    disks = [d["name"] for d in await admin.call("disk.query")]
    temperatures = await admin.call("disk.temperatures")
    assert sorted(temperatures) == sorted(disks)
    assert all(25 <= t <= 60 for t in temperatures.values())
