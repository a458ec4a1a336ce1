"""The exchange journal: queries over sessions, packages, files and steps. No aiohttp here.

Every function takes an open :class:`~sqlalchemy.ext.asyncio.AsyncSession` inside a transaction the
caller owns (``async with sessionmaker.begin() as db``) and keeps it short: never hold a transaction
open across an upload or an import, SQLite has one writer at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exchange_server.db.journal_tables import ExchangeFile, ExchangePackage, ExchangeSessionRow, ExchangeStep
from exchange_server.protocol import ExchangeSession, Kind
from exchange_server.uploads import AppendResult, ChunkRecord

__all__ = [
    "FileState",
    "add_unpacked_files",
    "create_package",
    "discard_file",
    "file_row",
    "finish_package",
    "latest_session",
    "list_exchanges",
    "load_session",
    "mark_unpacked",
    "package_files",
    "pending_archives",
    "record_chunk",
    "record_step",
    "save_session",
    "set_import_state",
    "uploaded_bytes",
]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class FileState:
    NONE = "none"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


# --- sessions ------------------------------------------------------------------------------------


async def save_session(db: AsyncSession, session: ExchangeSession, *, remote: str | None = None) -> None:
    """Insert or update the session's row from :meth:`ExchangeSession.to_record`."""
    record = session.to_record()
    row = await db.get(ExchangeSessionRow, session.sid)
    stamp = now()
    if row is None:
        row = ExchangeSessionRow(id=session.sid, created_at=stamp, remote=remote)
        db.add(row)
    for key, value in record.items():
        if key != "id":
            setattr(row, key, value)
    row.updated_at = stamp


def _to_session(row: ExchangeSessionRow) -> ExchangeSession:
    return ExchangeSession.from_record(
        {c.name: getattr(row, c.name) for c in ExchangeSessionRow.__table__.columns}
    )


def _live(row: ExchangeSessionRow | None, active_since: dt.datetime | None) -> ExchangeSession | None:
    if row is None:
        return None
    if active_since is not None:
        seen = row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=dt.UTC)  # SQLite
        if seen < active_since:
            return None
    return _to_session(row)


async def load_session(
    db: AsyncSession, sid: str, *, active_since: dt.datetime | None = None
) -> ExchangeSession | None:
    """The session ``sid``; None when unknown or (given ``active_since``) last used before that time."""
    return _live(await db.get(ExchangeSessionRow, sid), active_since)


async def latest_session(
    db: AsyncSession, user: str, kind: Kind, *, active_since: dt.datetime | None = None
) -> ExchangeSession | None:
    """The newest session of ``user`` for ``kind`` (for 1C nodes whose cookies a proxy dropped)."""
    row = await db.scalar(
        select(ExchangeSessionRow)
        .where(ExchangeSessionRow.user == user, ExchangeSessionRow.kind == kind.value)
        .order_by(ExchangeSessionRow.created_at.desc())
        .limit(1)
    )
    return _live(row, active_since)


# --- packages ------------------------------------------------------------------------------------


async def create_package(
    db: AsyncSession, *, package_id: str, session: ExchangeSession, directory: str
) -> None:
    """Start a package; the session's previous unfinished package is marked superseded."""
    stamp = now()
    if session.package_id:
        await db.execute(
            update(ExchangePackage)
            .where(
                ExchangePackage.id == session.package_id,
                ExchangePackage.finished_at.is_(None),
            )
            .values(state="superseded", finished_at=stamp, updated_at=stamp, outcome="a new init began")
        )
    db.add(
        ExchangePackage(
            id=package_id,
            session_id=session.sid,
            kind=session.kind.value,
            user=session.user,
            directory=directory,
            state="receiving",
            started_at=stamp,
            updated_at=stamp,
        )
    )


async def finish_package(
    db: AsyncSession, package_id: str, state: str, outcome: str | None = None, *, final: bool = True
) -> None:
    stamp = now()
    values: dict[str, Any] = {"state": state, "updated_at": stamp}
    if outcome is not None:
        values["outcome"] = outcome
    if final:
        values["finished_at"] = stamp
    await db.execute(update(ExchangePackage).where(ExchangePackage.id == package_id).values(**values))


# --- files ---------------------------------------------------------------------------------------


async def file_row(db: AsyncSession, package_id: str, name: str) -> ExchangeFile | None:
    return await db.scalar(
        select(ExchangeFile).where(ExchangeFile.package_id == package_id, ExchangeFile.name == name)
    )


async def package_files(db: AsyncSession, package_id: str) -> Sequence[ExchangeFile]:
    return (
        await db.scalars(
            select(ExchangeFile).where(ExchangeFile.package_id == package_id).order_by(ExchangeFile.id)
        )
    ).all()


async def uploaded_bytes(db: AsyncSession, package_id: str) -> int:
    """What the files 1C uploaded into the package hold now (archives as sent, before unpacking)."""
    total = await db.scalar(
        select(func.coalesce(func.sum(ExchangeFile.size), 0)).where(
            ExchangeFile.package_id == package_id, ExchangeFile.origin == "upload"
        )
    )
    return int(total or 0)


def last_chunk(row: ExchangeFile | None) -> ChunkRecord | None:
    if row is None or row.last_chunk_sha256 is None or row.last_chunk_size is None:
        return None
    return ChunkRecord(row.last_chunk_sha256, row.last_chunk_size)


async def record_chunk(db: AsyncSession, package_id: str, result: AppendResult, *, is_archive: bool) -> None:
    """Book one received chunk (created, appended, restarted or duplicate) against its file."""
    name = str(result.name)
    row = await file_row(db, package_id, name)
    stamp = now()
    if row is None:
        row = ExchangeFile(
            package_id=package_id,
            name=name,
            origin="upload",
            chunks=0,
            unpacked=False,
            import_state=FileState.NONE,
            received_at=stamp,
        )
        db.add(row)
    if result.action == "restarted":
        row.chunks = 0
        row.unpacked = False
        row.import_state = FileState.NONE
        row.import_error = None
    if result.action != "duplicate":
        row.chunks += 1
    row.size = result.size
    row.last_chunk_sha256 = result.chunk.sha256
    row.last_chunk_size = result.chunk.length
    row.is_archive = is_archive
    row.received_at = stamp
    row.sha256 = None  # taken again when the complete file is imported
    await db.execute(
        update(ExchangePackage)
        .where(ExchangePackage.id == package_id)
        .values(updated_at=stamp, state="receiving")
    )


async def discard_file(db: AsyncSession, package_id: str, name: str, reason: str) -> None:
    """The file was removed from the disk (no space left): forget it, the package has failed."""
    await db.execute(
        delete(ExchangeFile).where(ExchangeFile.package_id == package_id, ExchangeFile.name == name)
    )
    stamp = now()
    await db.execute(
        update(ExchangePackage)
        .where(ExchangePackage.id == package_id)
        .values(state="failed", outcome=reason, updated_at=stamp, finished_at=stamp)
    )


async def pending_archives(db: AsyncSession, package_id: str) -> Sequence[ExchangeFile]:
    """Uploaded archives not unpacked yet, in upload order (Bitrix unpacks at the first import)."""
    return (
        await db.scalars(
            select(ExchangeFile)
            .where(
                ExchangeFile.package_id == package_id,
                ExchangeFile.is_archive.is_(True),
                ExchangeFile.unpacked.is_(False),
            )
            .order_by(ExchangeFile.id)
        )
    ).all()


async def add_unpacked_files(
    db: AsyncSession, package_id: str, entries: Sequence[tuple[str, int]]
) -> None:
    """Book the files an archive produced (name, size); an existing row of the same name is reset."""
    stamp = now()
    for name, size in entries:
        row = await file_row(db, package_id, name)
        if row is None:
            row = ExchangeFile(package_id=package_id, name=name, received_at=stamp)
            db.add(row)
        row.origin = "archive"
        row.size = size
        row.chunks = 0
        row.is_archive = False
        row.unpacked = False
        row.import_state = FileState.NONE
        row.import_error = None
        row.sha256 = None
        row.last_chunk_sha256 = None
        row.last_chunk_size = None


async def mark_unpacked(db: AsyncSession, file_id: int, *, sha256: str) -> None:
    await db.execute(
        update(ExchangeFile).where(ExchangeFile.id == file_id).values(unpacked=True, sha256=sha256)
    )


async def set_import_state(
    db: AsyncSession,
    package_id: str,
    name: str,
    state: str,
    *,
    status: str | None = None,
    error: str | None = None,
    remarks: Sequence[str] | None = None,
    sha256: str | None = None,
    size: int | None = None,
) -> None:
    """Move one file's import to ``state`` (running/done/failed) with its details and timings."""
    stamp = now()
    values: dict[str, Any] = {"import_state": state, "import_status": status}
    if state == FileState.RUNNING:
        values.update(import_started_at=stamp, import_finished_at=None, import_error=None)
    else:
        values["import_finished_at"] = stamp
    if error is not None:
        values["import_error"] = error
    if remarks is not None:
        values["remarks"] = list(remarks)
    if sha256 is not None:
        values["sha256"] = sha256
    if size is not None:
        values["size"] = size
    await db.execute(
        update(ExchangeFile)
        .where(ExchangeFile.package_id == package_id, ExchangeFile.name == name)
        .values(**values)
    )
    package_state = {FileState.RUNNING: "importing", FileState.DONE: "imported", FileState.FAILED: "failed"}
    package_values: dict[str, Any] = {"state": package_state.get(state, "importing"), "updated_at": stamp}
    if state == FileState.FAILED:
        package_values["outcome"] = error
    await db.execute(update(ExchangePackage).where(ExchangePackage.id == package_id).values(**package_values))


# --- steps ---------------------------------------------------------------------------------------


async def record_step(
    db: AsyncSession,
    *,
    session_id: str | None,
    package_id: str | None,
    kind: str | None,
    mode: str | None,
    filename: str | None,
    status: str,
    reply: str,
    bytes_in: int,
    started_at: dt.datetime,
    duration_ms: int,
) -> None:
    db.add(
        ExchangeStep(
            session_id=session_id,
            package_id=package_id,
            kind=kind,
            mode=mode,
            filename=filename,
            status=status,
            reply=reply[:2000],
            bytes_in=bytes_in,
            started_at=started_at,
            duration_ms=duration_ms,
        )
    )


# --- the operator view ---------------------------------------------------------------------------


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite returns naive datetimes; they were stored in UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


def _seconds(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def _file_json(row: ExchangeFile) -> dict[str, Any]:
    return {
        "name": row.name,
        "origin": row.origin,
        "size": row.size,
        "chunks": row.chunks,
        "sha256": row.sha256,
        "is_archive": row.is_archive,
        "import_state": row.import_state,
        "import_status": row.import_status,
        "import_error": row.import_error,
        "remarks": row.remarks or [],
        "received_at": _iso(row.received_at),
        "import_started_at": _iso(row.import_started_at),
        "import_finished_at": _iso(row.import_finished_at),
        "import_seconds": _seconds(row.import_started_at, row.import_finished_at),
    }


async def list_exchanges(
    db: AsyncSession, *, limit: int, offset: int, with_steps: bool = False, session_id: str | None = None
) -> dict[str, Any]:
    """The journal, newest session first: ``{"total": N, "items": [session, ...]}``."""
    where = [] if session_id is None else [ExchangeSessionRow.id == session_id]
    total = await db.scalar(select(func.count()).select_from(ExchangeSessionRow).where(*where)) or 0
    sessions = (
        await db.scalars(
            select(ExchangeSessionRow)
            .where(*where)
            .order_by(ExchangeSessionRow.created_at.desc(), ExchangeSessionRow.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    ids = [s.id for s in sessions]
    packages = (
        await db.scalars(
            select(ExchangePackage).where(ExchangePackage.session_id.in_(ids)).order_by(ExchangePackage.started_at)
        )
    ).all()
    files = (
        await db.scalars(
            select(ExchangeFile)
            .where(ExchangeFile.package_id.in_([p.id for p in packages]))
            .order_by(ExchangeFile.id)
        )
    ).all()
    counted = await db.execute(
        select(ExchangeStep.session_id, func.count())
        .where(ExchangeStep.session_id.in_(ids))
        .group_by(ExchangeStep.session_id)
    )
    step_counts = {sid: n for sid, n in counted}
    steps: dict[str | None, list[dict[str, Any]]] = {}
    if with_steps:
        for step in (
            await db.scalars(
                select(ExchangeStep).where(ExchangeStep.session_id.in_(ids)).order_by(ExchangeStep.id)
            )
        ).all():
            steps.setdefault(step.session_id, []).append(
                {
                    "mode": step.mode,
                    "filename": step.filename,
                    "status": step.status,
                    "reply": step.reply,
                    "bytes_in": step.bytes_in,
                    "started_at": _iso(step.started_at),
                    "duration_ms": step.duration_ms,
                }
            )
    files_by_package: dict[str, list[dict[str, Any]]] = {}
    for f in files:
        files_by_package.setdefault(f.package_id, []).append(_file_json(f))
    packages_by_session: dict[str, list[dict[str, Any]]] = {}
    for p in packages:
        packages_by_session.setdefault(p.session_id, []).append(
            {
                "id": p.id,
                "state": p.state,
                "outcome": p.outcome,
                "started_at": _iso(p.started_at),
                "finished_at": _iso(p.finished_at),
                "seconds": _seconds(p.started_at, p.finished_at),
                "files": files_by_package.get(p.id, []),
            }
        )
    items = []
    for s in sessions:
        own = packages_by_session.get(s.id, [])
        item: dict[str, Any] = {
            "id": s.id,
            "kind": s.kind,
            "user": s.user,
            "state": s.state,
            "outcome": _outcome(s.state, own[-1]["state"] if own else None),
            "error": s.error,
            "version": s.version,
            "remote": s.remote,
            "created_at": _iso(s.created_at),
            "updated_at": _iso(s.updated_at),
            "steps_count": step_counts.get(s.id, 0),
            "packages": own,
        }
        if with_steps:
            item["steps"] = steps.get(s.id, [])
        items.append(item)
    return {"total": total, "items": items}


_SUCCESS = frozenset({"done", "deactivated", "confirmed"})
_PACKAGE_DONE = frozenset({"imported", "deactivated", "completed"})


def _outcome(session_state: str, last_package_state: str | None) -> str:
    """failure (the session failed), success (finished, or every file of its last package imported), open."""
    if session_state == "error":
        return "failure"
    if session_state in _SUCCESS or last_package_state in _PACKAGE_DONE:
        return "success"
    return "open"
