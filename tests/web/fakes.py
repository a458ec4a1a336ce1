"""In-memory outbox and status map of our own, implementing the ``web.extensions`` protocols, so the
outbox and status-map pages are tested before the real ones (issues 5 and 6) are wired in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace

from exchange_server.web.extensions import DIRECTIONS, JobNotFound, OutboxJob, StatusRow

KNOWN_STAGES = ("DT31_1:N", "DT31_1:P", "DT31_1:S", "DT31_1:F")


class MemoryOutbox:
    def __init__(self, jobs: Sequence[OutboxJob]) -> None:
        self.jobs_by_id = {j.id: j for j in jobs}
        self.actions: list[tuple[str, str]] = []

    async def counts(self) -> Mapping[str, int]:
        out = {"pending": 0, "failed": 0}
        for job in self.jobs_by_id.values():
            if job.state in out:
                out[job.state] += 1
        return out

    async def jobs(self, state: str, *, limit: int, offset: int) -> tuple[int, Sequence[OutboxJob]]:
        chosen = [j for j in self.jobs_by_id.values() if j.state == state]
        return len(chosen), chosen[offset : offset + limit]

    def _failed(self, job_id: str) -> OutboxJob:
        job = self.jobs_by_id.get(job_id)
        if job is None or job.state != "failed":
            raise JobNotFound(job_id)
        return job

    async def retry(self, job_id: str) -> None:
        job = self._failed(job_id)
        self.jobs_by_id[job_id] = replace(
            job, state="pending", error=None, next_attempt_at=dt.datetime.now(dt.UTC)
        )
        self.actions.append(("retry", job_id))

    async def skip(self, job_id: str) -> None:
        job = self._failed(job_id)
        self.jobs_by_id[job_id] = replace(job, state="skipped")
        self.actions.append(("skip", job_id))


class MemoryStatusMap:
    def __init__(self, rows: Sequence[StatusRow]) -> None:
        self.saved = list(rows)

    async def rows(self) -> Sequence[StatusRow]:
        return list(self.saved)

    async def save(self, rows: Sequence[StatusRow]) -> Mapping[int, str]:
        errors: dict[int, str] = {}
        seen: set[str] = set()
        for index, row in enumerate(rows):
            if not row.status_1c:
                errors[index] = "the 1C status is empty"
            elif row.stage_b24 not in KNOWN_STAGES:
                errors[index] = f"unknown Bitrix24 stage {row.stage_b24!r}; known: {', '.join(KNOWN_STAGES)}"
            elif row.direction not in DIRECTIONS:
                errors[index] = f"unknown direction {row.direction!r}"
            elif row.status_1c in seen:
                errors[index] = f"the 1C status {row.status_1c!r} is mapped twice"
            seen.add(row.status_1c)
        if not errors:
            self.saved = list(rows)
        return errors
