"""The naming authority: every name the generator invents is made here and nowhere else.

Tool names must satisfy the strictest client rule in the field, ``^[a-z][a-z0-9_]{0,47}$`` (OpenAI's 64
minus room for client prefixes such as Claude Code's ``mcp__<server>__``), and be unique.
"""

from __future__ import annotations

import hashlib
import keyword
import re

TOOL_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
MAX_TOOL_NAME = 48
# Parameter names upstream spells for the wire, renamed to what a model would naturally write.
PROPERTY_RENAMES = {"query-filters": "filters", "query-options": "options"}
# Words rendered in a fixed case in titles.
WORD_CASE = {
    "acl": "ACL", "acme": "ACME", "ad": "AD", "api": "API", "ca": "CA", "cpu": "CPU", "csr": "CSR",
    "dns": "DNS", "ds": "DS", "fc": "FC", "ftp": "FTP", "gpu": "GPU", "id": "ID", "idmap": "ID map",
    "ip": "IP", "ipmi": "IPMI", "iscsi": "iSCSI", "iso": "ISO", "kmip": "KMIP", "ldap": "LDAP",
    "lun": "LUN", "mac": "MAC", "nfs": "NFS", "ntp": "NTP", "nvme": "NVMe", "pci": "PCI", "rsync": "rsync",
    "sed": "SED", "smart": "SMART", "smb": "SMB", "snmp": "SNMP", "ssh": "SSH", "ssl": "SSL",
    "tcp": "TCP", "tls": "TLS", "tn": "TN", "truecommand": "TrueCommand", "truenas": "TrueNAS",
    "ui": "UI", "ups": "UPS", "url": "URL", "usb": "USB", "uuid": "UUID", "vm": "VM", "vmware": "VMware",
    "zfs": "ZFS", "zvol": "zvol", "nvmet": "NVMe-oF",
}  # fmt: skip


class NamingError(ValueError):
    pass


def tool_name(method: str) -> str:
    """``pool.dataset.delete`` → ``pool_dataset_delete``; over-long names get a stable hash suffix.

    Overrides give the long ones readable names; the hash rule only guarantees that a new release with a
    long method name still generates valid, stable output before anyone has written an override.
    """
    base = re.sub(r"[^a-z0-9_]", "_", method.lower())
    if not base[:1].isalpha():
        base = f"m_{base}"
    if len(base) <= MAX_TOOL_NAME:
        return base
    digest = hashlib.sha256(method.encode()).hexdigest()[:6]
    return f"{base[: MAX_TOOL_NAME - 7].rstrip('_')}_{digest}"


def check_tool_name(name: str, origin: str) -> str:
    if not TOOL_NAME_RE.match(name):
        raise NamingError(f"{origin}: tool name {name!r} does not match {TOOL_NAME_RE.pattern}")
    return name


def property_name(wire_name: str) -> str:
    """A tool-argument name for a positional parameter: identifier-safe and friendly."""
    if wire_name in PROPERTY_RENAMES:
        return PROPERTY_RENAMES[wire_name]
    name = re.sub(r"[^A-Za-z0-9_]", "_", wire_name)
    return name if name[:1].isalpha() or name[:1] == "_" else f"p_{name}"


def module_name(namespace: str) -> str:
    """Python module for a namespace: ``pool.dataset`` → ``pool_dataset``."""
    name = re.sub(r"[^a-z0-9_]", "_", namespace.lower())
    return f"{name}_" if keyword.iskeyword(name) else name


def class_prefix(tool: str) -> str:
    """``pool_dataset_delete`` → ``PoolDatasetDelete``."""
    return "".join(part[:1].upper() + part[1:] for part in tool.split("_") if part)


def _words(text: str) -> list[str]:
    return [WORD_CASE.get(w, w) for w in re.split(r"[._\-]+", text) if w]


def title(method: str) -> str:
    """A human title: ``sharing.smb.create`` → ``Sharing SMB: create``."""
    namespace, _, verb = method.rpartition(".")
    head = " ".join(_words(namespace)) or method
    head = head[:1].upper() + head[1:]
    return f"{head}: {' '.join(_words(verb))}" if namespace else head
