"""Background import jobs of one server process, keyed by (package, file). No HTTP here.

A ``mode=import`` request starts the job for its file (or finds it running), waits at most
``step_seconds`` and answers ``progress`` with the job's latest status text, ``success`` once it is
done, or ``failure`` with its error (protocol.md §3.4, §10.2 items 12, 13). The journal holds the
durable outcome; this registry only holds what runs now. After a crash the registry is empty, the
journal says "not done", and the repeated exchange simply starts the job again (imports are idempotent).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from exchange_server.errors import ExchangeError
from exchange_server.protocol import ImportState

__all__ = ["ImportJob", "ImportJobs", "JobOutcome"]

log = logging.getLogger(__name__)

JobKey = tuple[str, str]  # (package id, file name)


@dataclass(slots=True)
class JobOutcome:
    """What a finished job leaves: the remarks for 1C (orders) and a summary for the journal."""

    remarks: tuple[str, ...] = ()
    summary: str = ""


@dataclass(slots=True)
class ImportJob:
    key: JobKey
    task: asyncio.Task[JobOutcome]
    status: str = ""
    started: float = field(default=0.0)

    def report(self, status: str) -> None:
        """The progress callback handed to the importer (called from the event loop)."""
        self.status = status

    def state(self) -> ImportState:
        """The job as the protocol sees it (running / done / failed)."""
        if not self.task.done():
            return ImportState(status=self.status)
        if self.task.cancelled():
            return ImportState(failure="Импорт прерван: сервер остановлен. Повторите обмен.")
        exc = self.task.exception()
        if isinstance(exc, ExchangeError):
            return ImportState(failure=exc.reply_text)
        if exc is not None:
            return ImportState(failure=f"Внутренняя ошибка сервера при импорте: {type(exc).__name__}")
        return ImportState(done=True, remarks=self.task.result().remarks)


class ImportJobs:
    """The jobs running in this process. Finished jobs stay until their package is forgotten."""

    def __init__(self) -> None:
        self._jobs: dict[JobKey, ImportJob] = {}

    def get(self, key: JobKey) -> ImportJob | None:
        return self._jobs.get(key)

    def start(self, key: JobKey, work: Callable[[ImportJob], Awaitable[JobOutcome]]) -> ImportJob:
        """Start ``work(job)`` as a task unless a job for ``key`` is already running.

        A finished job of the same key is replaced (its outcome is in the journal).
        """
        current = self._jobs.get(key)
        if current is not None and not current.task.done():
            return current
        holder: list[ImportJob] = []

        async def run() -> JobOutcome:
            await asyncio.sleep(0)  # let start() finish registering the job
            return await work(holder[0])

        loop = asyncio.get_running_loop()
        job = ImportJob(key=key, task=loop.create_task(run(), name=f"import {key[1]}"), started=loop.time())
        holder.append(job)
        job.task.add_done_callback(_log_failure)
        self._jobs[key] = job
        return job

    def running(self, package_id: str) -> list[ImportJob]:
        return [j for (p, _), j in self._jobs.items() if p == package_id and not j.task.done()]

    def running_packages(self) -> set[str]:
        """The packages with an import job running now (retention never touches them)."""
        return {p for (p, _), j in self._jobs.items() if not j.task.done()}

    def forget(self, package_id: str) -> None:
        """Drop the finished jobs of a package (a new init began)."""
        for key in [k for k, j in self._jobs.items() if k[0] == package_id and j.task.done()]:
            del self._jobs[key]

    async def wait(self, job: ImportJob, seconds: float) -> ImportState:
        """Wait up to ``seconds`` for the job; never cancels it."""
        if not job.task.done():
            await asyncio.wait({job.task}, timeout=seconds)
        return job.state()

    async def close(self) -> None:
        """Cancel what still runs (server shutdown); the journal keeps them as "not done"."""
        tasks = [j.task for j in self._jobs.values() if not j.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._jobs.clear()


def _log_failure(task: asyncio.Task[JobOutcome]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if isinstance(exc, ExchangeError):
        log.warning("%s failed: %s", task.get_name(), exc)
    elif exc is not None:
        log.error("%s crashed", task.get_name(), exc_info=exc)
