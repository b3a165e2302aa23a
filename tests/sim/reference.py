"""TrueNAS 25.04.2's own middleware source as a test oracle: extracted at test time, pure parts imported.

The archive beside every checkout (``../shared/reference/``) is unpacked into a temporary directory once per
test session. Its modules import system libraries (libzfs, samba, wbclient, ...) at module level; those
are replaced by inert stand-ins at import time, and package ``__init__`` files that would import every
plugin are skipped. Nothing of the source is copied into the project.
"""

from __future__ import annotations

import errno
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import tarfile
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ARCHIVE_NAME = "truenas-middleware-TS-25.04.2.tar.xz"
# System libraries and services the pure modules import but never use for filtering and validation.
STUBBED = frozenset(
    {"libzfs", "pam", "samba", "ldap", "prctl", "sqlalchemy", "psutil", "pyudev", "systemd", "dbus",
     "netif", "bidict", "zettarepl", "wbclient", "croniter", "lexicon"}
)  # fmt: skip


def archive_path() -> Path | None:
    """``shared/reference/<archive>`` beside the checkout, searched upwards from here."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "reference" / ARCHIVE_NAME
        if candidate.is_file():
            return candidate
    return None


class _Inert(types.ModuleType):
    """A stand-in module: constants are distinct integers, everything else an empty class."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value: Any = 1000 + len(self.__dict__) if name.isupper() else type(name, (), {})
        setattr(self, name, value)
        return value


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name.split(".")[0] not in STUBBED:
            return None
        return importlib.util.spec_from_loader(name, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _Inert(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def _api_client_stub() -> types.ModuleType:
    module = types.ModuleType("truenas_api_client")

    class ErrnoMixin:
        ENOMETHOD = 201
        ESERVICESTARTFAILURE = 202
        EALERTCHECKERUNAVAILABLE = 203
        EREMOTENODEERROR = 204
        EDATASETISLOCKED = 205
        EINVALIDRRDTIMESTAMP = 206
        ENOTAUTHENTICATED = 207
        ESSLCERTVERIFICATIONERROR = 208

        @classmethod
        def _get_errname(cls, code: int) -> str | None:
            return errno.errorcode.get(code)

    module.ErrnoMixin = ErrnoMixin  # type: ignore[attr-defined]
    return module


@dataclass
class Reference:
    """Handles on the source's own functions and classes."""

    root: Path
    filter_list: Any
    validation_errors: type[Exception]
    query_args: Any
    accept_params: Any
    schema: types.ModuleType
    clean_and_validate_arg: Any
    validators: types.ModuleType


def load(tmp: Path) -> Reference:
    archive = archive_path()
    if archive is None:
        raise FileNotFoundError(ARCHIVE_NAME)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp, filter="data")
    base = tmp / "src" / "middlewared"
    if not any(isinstance(f, _StubFinder) for f in sys.meta_path):
        sys.meta_path.append(_StubFinder())
    sys.modules.setdefault("truenas_api_client", _api_client_stub())
    sys.path.insert(0, str(base))
    # Only the pure module of the versioned API package: its __init__ imports every model.
    versioned = types.ModuleType("middlewared.api.v25_04_2")
    versioned.__path__ = [str(base / "middlewared" / "api" / "v25_04_2")]
    import middlewared.api  # noqa: F401  (the parent package must exist first)

    sys.modules["middlewared.api.v25_04_2"] = versioned
    import middlewared.schema as schema
    import middlewared.utils as utils
    import middlewared.validators as validators
    from middlewared.api.base.handler.accept import accept_params
    from middlewared.api.v25_04_2.common import QueryArgs
    from middlewared.schema.processor import clean_and_validate_arg
    from middlewared.service_exception import ValidationErrors

    return Reference(
        root=base,
        filter_list=utils.filter_list,
        validation_errors=ValidationErrors,
        query_args=QueryArgs,
        accept_params=accept_params,
        schema=schema,
        clean_and_validate_arg=clean_and_validate_arg,
        validators=validators,
    )
