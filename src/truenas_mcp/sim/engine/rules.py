"""What the real service code decides per namespace, as data: names, keys, uniqueness and references.

Everything here was read from the 25.04.2 middleware (``plugins/``): ``verbose_name`` is the service class
name without ``Service`` (``service/base.py``) and appears in ``InstanceNotFound`` messages; uniqueness is
``CRUDService._ensure_unique`` ("Object with this name already exists"); references are the lookups a
plugin's ``validate`` makes before saving, with the attribute and message it reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

VERBOSE_NAMES: Final[dict[str, str]] = {
    "acme.dns.authenticator": "DNSAuthenticator",
    "alertservice": "AlertService",
    "api_key": "ApiKey",
    "app": "App",
    "app.image": "AppImage",
    "app.registry": "AppRegistry",
    "boot.environment": "BootEnvironment",
    "certificate": "Certificate",
    "certificateauthority": "CertificateAuthority",
    "cloud_backup": "CloudBackup",
    "cloudsync": "CloudSync",
    "cloudsync.credentials": "Credentials",
    "cronjob": "CronJob",
    "disk": "Disk",
    "docker.network": "DockerNetwork",
    "filesystem.acltemplate": "ACLTemplate",
    "group": "Group",
    "idmap": "IdmapDomain",
    "initshutdownscript": "InitShutdownScript",
    "interface": "Interface",
    "ipmi.lan": "IPMILan",
    "iscsi.auth": "iSCSITargetAuthCredential",
    "iscsi.extent": "iSCSITargetExtent",
    "iscsi.initiator": "iSCSITargetAuthorizedInitiator",
    "iscsi.portal": "ISCSIPortal",
    "iscsi.target": "iSCSITarget",
    "iscsi.targetextent": "iSCSITargetToExtent",
    "jbof": "JBOF",
    "kerberos.keytab": "KerberosKeytab",
    "kerberos.realm": "KerberosRealm",
    "keychaincredential": "KeychainCredential",
    "pool": "Pool",
    "pool.scrub": "PoolScrub",
    "pool.snapshottask": "PeriodicSnapshotTask",
    "privilege": "Privilege",
    "replication": "Replication",
    "reporting.exporters": "ReportingExports",
    "rsynctask": "RsyncTask",
    "smart.test": "SMARTTest",
    "staticroute": "StaticRoute",
    "system.ntpserver": "NTPServer",
    "tunable": "Tunable",
    "virt.volume": "VirtVolume",
    "vm.device": "VMDevice",
    "vmware": "VMWare",
}

# Namespaces whose rows are keyed by a field of the write rather than a database id.
KEY_FIELDS: Final[dict[str, str]] = {"interface": "name", "virt.volume": "name"}

# Interface names the middleware picks when ``interface.create`` is not given one (``plugins/network.py``).
INTERFACE_PREFIXES: Final[dict[str, str]] = {"BRIDGE": "br", "LINK_AGGREGATION": "bond", "VLAN": "vlan"}

# Writes the engine must not answer: creating these needs behaviour (deploying an app, building a pool or
# VM, pulling an instance image) a stored row would only pretend to have. Hand-written handlers answer
# their reads; their other writes are not simulated.
HAND_WRITTEN_ONLY: Final = frozenset({"app", "app.image", "disk", "pool", "service", "virt.instance", "vm"})


# The attribute prefix a plugin's ``validate`` reports under, where it is not the write's ``_name_``.
SCHEMA_NAMES: Final[dict[str, str]] = {
    "cronjob.create": "cron_job_create",
    "cronjob.update": "cron_job_update",
}


@dataclass(frozen=True)
class Unique:
    """``_ensure_unique(verrors, prefix, field, ...)``: ``prefixed`` says whether the attribute carries the
    write's schema name (``privilege_create.name``) or stands alone (replication says just ``name``)."""

    field: str
    prefixed: bool = True
    message: str = "Object with this {field} already exists"


UNIQUE: Final[dict[str, tuple[Unique, ...]]] = {
    "replication": (Unique("name", prefixed=False),),
    "privilege": (Unique("name"),),
    "filesystem.acltemplate": (Unique("name"),),
    "kerberos.keytab": (Unique("name"),),
    "keychaincredential": (Unique("name"),),
    "cloudsync.credentials": (Unique("name"),),
    "iscsi.targetextent": (Unique("extent", message="Extent is already in use."),),
}


@dataclass(frozen=True)
class Reference:
    """A field naming a row of another namespace; a miss is ``message`` at ``<schema>.<field>``.

    ``many`` fields hold a list (each miss reported at ``<field>.<index>``); ``expand`` stores the referenced
    row in place of its id, as the service's ``extend`` does on read.
    """

    field: str
    target: str
    message: str
    key: str = "id"
    many: bool = False
    expand: bool = False
    prefixed: bool = True


REFERENCES: Final[dict[str, tuple[Reference, ...]]] = {
    "cloudsync": (Reference("credentials", "cloudsync.credentials", "Invalid credentials", expand=True),),
    "cloud_backup": (Reference("credentials", "cloudsync.credentials", "Invalid credentials", expand=True),),
    "cronjob": (Reference("user", "user", "Specified user does not exist", key="username"),),
    "rsynctask": (Reference("user", "user", 'Provided user "{value}" does not exist', key="username"),),
    "replication": (
        Reference(
            "periodic_snapshot_tasks",
            "pool.snapshottask",
            "This snapshot task does not exist",
            many=True,
            prefixed=False,
        ),
        Reference("ssh_credentials", "keychaincredential", "Invalid credentials", prefixed=False),
    ),
}


@dataclass(frozen=True)
class Dependent:
    """Deleting a row that ``namespace.field`` still names is refused with ``message`` (a CallError)."""

    namespace: str
    field: str
    label: str
    message: str


DEPENDENTS: Final[dict[str, tuple[Dependent, ...]]] = {
    "cloudsync.credentials": (
        Dependent(
            "cloudsync", "credentials.id", "description", "This credential is used by cloud sync task {}"
        ),
        Dependent(
            "cloud_backup", "credentials.id", "description", "This credential is used by cloud backup task {}"
        ),
    ),
}
