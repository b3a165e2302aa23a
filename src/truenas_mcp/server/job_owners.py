"""Who started which TrueNAS job, on which boot of TrueNAS, over which credential.

TrueNAS numbers jobs from 1 again after every restart, so a job id alone names a different job after a
reboot. A :class:`JobRecord` binds the id to the boot it ran on (``system.boot_id``), the method, the
principal that started it and the credential tier it runs under; the follow-up tools (``job_status``,
``job_wait``) let only that principal or a FULL_ADMIN principal see or abort it, and refuse to report the
outcome of a job from an earlier boot as if it were the job that now has that id.

:class:`JobOwnership` is the storage interface (async, so a shared store can back it across replicas);
:class:`MemoryJobOwnership` keeps records in this process, bounded like the middleware's own job list.
"""

from __future__ import annotations

import collections
import itertools
from dataclasses import dataclass
from typing import Protocol

_MAX_RECORDS = 10_000


@dataclass(frozen=True, slots=True)
class JobRecord:
    job_id: int
    boot_id: str
    method: str
    tool: str
    owner: str  # Principal.key of the caller that started it
    tier: str  # the credential tier whose TrueNAS session owns the job
    seq: int = 0  # order of recording, newest highest (set by the store)


class JobOwnership(Protocol):
    """Storage of job records; the server holds exactly one."""

    async def record(self, record: JobRecord) -> JobRecord:
        """Store ``record`` (the store assigns ``seq``) and return what was stored."""
        ...

    async def records(self, job_id: int) -> list[JobRecord]:
        """Every record of ``job_id``, from any boot, newest first."""
        ...


class MemoryJobOwnership:
    """Job records of one server process (lost on restart: a job then counts as nobody's)."""

    def __init__(self, max_records: int = _MAX_RECORDS) -> None:
        self._records: collections.OrderedDict[tuple[str, int], JobRecord] = collections.OrderedDict()
        self._max = max_records
        self._seq = itertools.count(1)

    async def record(self, record: JobRecord) -> JobRecord:
        stored = JobRecord(
            record.job_id,
            record.boot_id,
            record.method,
            record.tool,
            record.owner,
            record.tier,
            next(self._seq),
        )
        key = (stored.boot_id, stored.job_id)
        self._records[key] = stored
        self._records.move_to_end(key)
        while len(self._records) > self._max:
            self._records.popitem(last=False)
        return stored

    async def records(self, job_id: int) -> list[JobRecord]:
        found = [r for (_, jid), r in self._records.items() if jid == job_id]
        return sorted(found, key=lambda r: r.seq, reverse=True)
