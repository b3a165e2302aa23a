"""Demo settings of the config namespaces and the credential rows other tasks point at.

Values are a fresh 25.04.2 install's (the column defaults of each plugin's database model) changed where
the demo box is set up: SMB and NFS serve the shares, SSH is on, mail goes through the home provider,
the network has a static gateway and DNS. Fields not listed read as the install leaves them.
"""

from __future__ import annotations

from typing import Any, Final

from truenas_mcp.sim.state import World

CONFIGS: Final[dict[str, dict[str, Any]]] = {
    "ftp": {
        "id": 1,
        "port": 21,
        "clients": 5,
        "ipconnections": 2,
        "loginattempt": 3,
        "timeout": 600,
        "timeout_notransfer": 300,
        "onlyanonymous": False,
        "anonpath": None,
        "onlylocal": False,
        "banner": "",
        "filemask": "077",
        "dirmask": "022",
        "fxp": False,
        "resume": False,
        "defaultroot": True,
        "ident": False,
        "reversedns": False,
        "masqaddress": "",
        "passiveportsmin": 0,
        "passiveportsmax": 0,
        "localuserbw": 0,
        "localuserdlbw": 0,
        "anonuserbw": 0,
        "anonuserdlbw": 0,
        "tls": False,
        "tls_policy": "on",
        "ssltls_certificate": None,
        "options": "",
    },
    "ssh": {
        "id": 1,
        "bindiface": [],
        "tcpport": 22,
        "password_login_groups": [],
        "passwordauth": False,
        "kerberosauth": False,
        "tcpfwd": False,
        "compression": False,
        "sftp_log_level": "",
        "sftp_log_facility": "",
        "weak_ciphers": ["AES128-CBC"],
        "options": "",
        "privatekey": "********",
        "host_ed25519_key_pub": (
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq6f0c8r2mS1n7kYw0v9QbZ3dXo4tE5uJ6pL7aB8cD9 root@truenas\n"
        ),
    },
    "smb": {
        "id": 1,
        "netbiosname": "TRUENAS",
        "netbiosalias": [],
        "workgroup": "WORKGROUP",
        "description": "TrueNAS Server",
        "enable_smb1": False,
        "unixcharset": "UTF-8",
        "localmaster": False,
        "syslog": False,
        "aapl_extensions": True,
        "admin_group": None,
        "guest": "nobody",
        "filemask": "DEFAULT",
        "dirmask": "DEFAULT",
        "ntlmv1_auth": False,
        "multichannel": False,
        "encryption": "DEFAULT",
        "bindip": [],
        "server_sid": "S-1-5-21-3623811015-3361044348-30300820",
        "smb_options": "",
        "debug": False,
    },
    "nfs": {
        "id": 1,
        "servers": 4,
        "managed_nfsd": True,
        "allow_nonroot": False,
        "protocols": ["NFSV3", "NFSV4"],
        "v4_krb": False,
        "v4_domain": "",
        "bindip": [],
        "mountd_port": None,
        "rpcstatd_port": None,
        "rpclockd_port": None,
        "mountd_log": False,
        "statd_lockd_log": False,
        "v4_krb_enabled": False,
        "userd_manage_gids": False,
        "keytab_has_nfs_spn": False,
        "rdma": False,
    },
    "snmp": {
        "id": 1,
        "location": "",
        "contact": "",
        "traps": False,
        "v3": False,
        "community": "public",
        "v3_username": "",
        "v3_authtype": "SHA",
        "v3_password": "",
        "v3_privproto": None,
        "v3_privpassphrase": None,
        "loglevel": 3,
        "options": "",
        "zilstat": False,
    },
    "ups": {
        "id": 1,
        "mode": "MASTER",
        "identifier": "ups",
        "remotehost": "",
        "remoteport": 3493,
        "driver": "",
        "port": "",
        "options": "",
        "optionsupsd": "",
        "description": "",
        "shutdown": "BATT",
        "shutdowntimer": 30,
        "monuser": "upsmon",
        "monpwd": "fixmepass",
        "extrausers": "",
        "rmonitor": False,
        "powerdown": True,
        "nocommwarntime": None,
        "hostsync": 15,
        "shutdowncmd": None,
        "complete_identifier": "ups@localhost:3493",
    },
    "mail": {
        "id": 1,
        "fromemail": "truenas@example.home",
        "fromname": "TrueNAS",
        "outgoingserver": "smtp.example.home",
        "port": 587,
        "security": "TLS",
        "smtp": True,
        "user": "truenas@example.home",
        "pass": "********",
        "oauth": None,
    },
    "network.configuration": {
        "id": 1,
        "hostname": "truenas",
        "domain": "home.arpa",
        "ipv4gateway": "192.168.10.1",
        "ipv6gateway": "",
        "nameserver1": "192.168.10.1",
        "nameserver2": "9.9.9.9",
        "nameserver3": "",
        "httpproxy": "",
        "hosts": [],
        "domains": [],
        "service_announcement": {"netbios": False, "mdns": True, "wsd": True},
        "activity": {"type": "DENY", "activities": []},
        "hostname_local": "truenas",
        "state": {
            "ipv4gateway": "192.168.10.1",
            "ipv6gateway": "",
            "nameserver1": "192.168.10.1",
            "nameserver2": "9.9.9.9",
            "nameserver3": "",
            "hosts": [],
        },
    },
    "system.advanced": {
        "id": 1,
        "consolemenu": True,
        "serialconsole": False,
        "serialport": "ttyS0",
        "serialspeed": "9600",
        "powerdaemon": False,
        "overprovision": None,
        "traceback": True,
        "advancedmode": False,
        "autotune": False,
        "debugkernel": False,
        "uploadcrash": True,
        "anonstats": True,
        "anonstats_token": "",
        "motd": "Welcome to TrueNAS",
        "login_banner": "",
        "boot_scrub": 7,
        "fqdn_syslog": False,
        "sed_user": "USER",
        "sysloglevel": "F_INFO",
        "syslogserver": "",
        "syslog_transport": "UDP",
        "syslog_tls_certificate": None,
        "syslog_tls_certificate_authority": None,
        "syslog_audit": False,
        "isolated_gpu_pci_ids": [],
        "kernel_extra_options": "",
        "kdump_enabled": False,
        "consolemsg": False,
    },
    "docker": {
        "id": 1,
        "pool": "tank",
        "dataset": "tank/ix-apps",
        "enable_image_updates": True,
        "nvidia": False,
        "address_pools": [{"base": "172.17.0.0/12", "size": 24}],
        "cidr_v6": "fdd0::/64",
    },
    "reporting": {"id": 1, "tier0_days": 7, "tier1_days": 730, "tier1_update_interval": 300},
    "audit": {
        "retention": 7,
        "reservation": 0,
        "quota": 0,
        "quota_fill_warning": 75,
        "quota_fill_critical": 95,
        "remote_logging_enabled": False,
        "enabled_services": {"MIDDLEWARE": [], "SMB": [], "SUDO": []},
        "space": {"used": 48_627_712, "used_by_snapshots": 0, "available": 21_474_836_480},
        "available": 21_474_836_480,
    },
    "smart": {
        "id": 1,
        "interval": 30,
        "powermode": "NEVER",
        "difference": 0,
        "informational": 0,
        "critical": 0,
    },
    "alertclasses": {"id": 1, "classes": {}},
    "auth.twofactor": {"id": 1, "enabled": False, "services": {"ssh": False}, "window": 0},
    "catalog": {
        "id": "TRUENAS",
        "label": "TRUENAS",
        "preferred_trains": ["stable"],
        "location": "/mnt/.ix-apps/truenas_catalog",
    },
    "iscsi.global": {
        "id": 1,
        "basename": "iqn.2005-10.org.freenas.ctl",
        "isns_servers": [],
        "listen_port": 3260,
        "pool_avail_threshold": None,
        "alua": False,
        "iser": False,
    },
    "kerberos": {"id": 1, "appdefaults_aux": "", "libdefaults_aux": ""},
    "kmip": {
        "id": 1,
        "enabled": False,
        "manage_sed_disks": False,
        "manage_zfs_keys": False,
        "certificate": None,
        "certificate_authority": None,
        "port": 5696,
        "server": None,
        "ssl_version": "PROTOCOL_TLSv1_2",
    },
    "pool.resilver": {
        "id": 1,
        "begin": "18:00",
        "end": "9:00",
        "enabled": True,
        "weekday": [1, 2, 3, 4, 5, 6, 7],
    },
    "replication.config": {"id": 1, "max_parallel_replication_tasks": 5},
    "support": {"id": 1},
    "system.security": {"id": 1},
    "systemdataset": {
        "id": 1,
        "pool": "tank",
        "pool_set": True,
        "uuid": "5c7b6f0e3a9d4c21b8e2f41d7a6c9b03",
        "basename": "tank/.system",
        "path": "/var/db/system",
    },
    "tn_connect": {
        "id": 1,
        "enabled": False,
        "status": "DISABLED",
        "status_reason": "TrueNAS Connect is disabled",
    },
    "truecommand": {
        "id": 1,
        "api_key": None,
        "status": "DISABLED",
        "status_reason": "Truecommand service is disabled.",
        "remote_url": None,
        "remote_ip_address": None,
        "enabled": False,
    },
    "virt.global": {"id": 1, "pool": None, "dataset": None, "storage_pools": [], "state": "NO_POOL"},
    "failover": {"id": 1},
}

CLOUD_CREDENTIALS: Final = [
    {
        "id": 1,
        "name": "Backblaze B2",
        "provider": {"type": "B2", "account": "0041f2c8a7e9", "key": "********"},
    },
]

KEYCHAIN: Final = [
    {
        "id": 1,
        "name": "offsite-nas key",
        "type": "SSH_KEY_PAIR",
        "attributes": {
            "private_key": "********",
            "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMx0fQ9kR3b2nVt7yZ1wL5cH8sP4jE6uA2oN9dG3hK1m "
            "replication@truenas",
        },
    },
]

CRONJOBS: Final = [
    {
        "id": 1,
        "user": "root",
        "command": "/mnt/tank/documents/scripts/prune-downloads.sh",
        "description": "Prune old downloads",
        "enabled": True,
        "stdout": True,
        "stderr": False,
        "schedule": {"minute": "0", "hour": "4", "dom": "*", "month": "*", "dow": "0"},
    },
]


def seed_configs(world: World) -> None:
    import copy

    world.system["config"] = copy.deepcopy(CONFIGS)
    world.tables["cloudsync.credentials"] = copy.deepcopy(CLOUD_CREDENTIALS)
    world.tables["keychaincredential"] = copy.deepcopy(KEYCHAIN)
    world.tables["cronjob"] = copy.deepcopy(CRONJOBS)


def _link(
    name: str, mac: str, mtu: int, up: bool, cloned: bool, aliases: list[dict[str, Any]]
) -> dict[str, Any]:
    """The kernel's view of a link (``state``), as ``interface.query`` reports it."""
    return {
        "name": name,
        "orig_name": name,
        "description": name,
        "mtu": mtu,
        "cloned": cloned,
        "flags": ["RUNNING", "UP", "BROADCAST", "MULTICAST"] if up else ["BROADCAST", "MULTICAST"],
        "nd6_flags": [],
        "capabilities": [],
        "link_state": "LINK_STATE_UP" if up else "LINK_STATE_DOWN",
        "media_type": "Ethernet",
        "media_subtype": "1000Mb/s Twisted Pair" if up else "autoselect",
        "active_media_type": "Ethernet",
        "active_media_subtype": "1000Mb/s Twisted Pair" if up else "autoselect",
        "supported_media": [
            "10baseT/Half",
            "10baseT/Full",
            "100baseT/Half",
            "100baseT/Full",
            "1000baseT/Full",
        ],
        "media_options": None,
        "link_address": mac,
        "permanent_link_address": None if cloned else mac,
        "hardware_link_address": mac,
        "rx_queues": 4,
        "tx_queues": 4,
        "aliases": [{"type": "LINK", "address": mac}, *aliases],
        "vrrp_config": [],
    }


def _interface(
    name: str, kind: str, mac: str, up: bool, aliases: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    state_aliases = [{"type": a["type"], "address": a["address"], "netmask": a["netmask"]} for a in aliases]
    cloned = kind != "PHYSICAL"
    state = _link(name, mac, 1500, up, cloned, state_aliases)
    if kind == "BRIDGE":
        state["members"] = extra.get("bridge_members", [])
    return {
        "id": name,
        "name": name,
        "fake": False,
        "type": kind,
        "state": state,
        "aliases": [dict(a) for a in aliases],
        "ipv4_dhcp": False,
        "ipv6_auto": False,
        "description": extra.get("description", ""),
        "mtu": None,
        "vlan_parent_interface": None,
        "vlan_tag": None,
        "vlan_pcp": None,
        "lag_protocol": "",
        "lag_ports": [],
        "bridge_members": extra.get("bridge_members", []),
        "enable_learning": kind == "BRIDGE",
    }


INTERFACES: Final = [
    _interface("eno1", "PHYSICAL", "a8:a1:59:3c:7e:10", True, [], description="Onboard 1GbE (bridged)"),
    _interface("eno2", "PHYSICAL", "a8:a1:59:3c:7e:11", False, [], description="Onboard 1GbE (unused)"),
    _interface(
        "br0",
        "BRIDGE",
        "a8:a1:59:3c:7e:10",
        True,
        [
            {"type": "INET", "address": "192.168.10.20", "netmask": 24},
            {"type": "INET6", "address": "fd42:10::20", "netmask": 64},
        ],
        bridge_members=["eno1"],
        description="LAN (apps and the Home Assistant VM)",
    ),
]


def seed_network(world: World) -> None:
    import copy

    world.tables["interface"] = copy.deepcopy(INTERFACES)
