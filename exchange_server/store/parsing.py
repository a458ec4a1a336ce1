"""Catalog files -> batches of rows, in a worker thread or in a separate parser process.

Pure apart from :func:`consume_in_process` and :func:`main` (no database: the parser process imports
this module, ``commerceml`` and ``exchange_server.store.rows`` only). :func:`produce_batches` is the
one loop both ways run: read the file with ``commerceml.reader``, turn each entity into its row
(:func:`entity_to_row`), hand ready batches of one kind to ``put``.

Theory of operation
-------------------
Reading a large file and building its rows is Python work that holds the GIL: in a thread of the
server process it leaves a second core idle while the database waits for batches. For a large file
the importer therefore starts ``python -m exchange_server.store.parsing`` (:func:`main`), which runs
:func:`produce_batches` and writes each batch to its stdout as length-prefixed frames of plain
tuples (:func:`_wire` / :func:`_unwire`: no dataclass or enum pickling, ``Decimal`` kept exact). Row
frames are marshalled (faster than pickle to write and to read for plain tuples; the parser runs the
same interpreter, so the same marshal format); the others, and any frame marshal refuses, are pickled
(:func:`_frame`, :func:`_load`). The server reads the frames ahead of the database by at most ``depth``
batches (:func:`consume_in_process`); the parser blocks on the full pipe meanwhile, so memory stays flat in
both processes. The last frame carries the reader's summary and warnings (or the exception that
stopped it, re-raised in the server unchanged, e.g. a located ``CommerceMLError``). A parser that dies
without its last frame is reported as a failed import; a consumer that stops early kills the parser.
"""

from __future__ import annotations

import asyncio
import contextlib
import marshal
import pickle
import posixpath
import resource
import struct
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, Final

from commerceml.model import (
    Counterparty,
    Document,
    Group,
    Offer,
    PriceType,
    Product,
    Property,
    Unit,
    UnknownSection,
    Warehouse,
)
from commerceml.reader import ReadSummary, iter_file
from exchange_server.store import fastrows
from exchange_server.store.batches import producer_tuning
from exchange_server.store.rows import CATALOG_KINDS, EntityRow, Kind, OfferRow, entity_row, offer_row

__all__ = [
    "Batch",
    "ParserProcessFailed",
    "consume_in_process",
    "entity_to_row",
    "produce_batches",
    "resolve_image",
]

Batch = tuple[Kind, list[EntityRow] | list[OfferRow]]
Put = Callable[[Batch], None]

_HEADER: Final = struct.Struct("<I")
FRAME_ROWS: Final = 250
"""Rows per frame: the server unpickles a frame on its event loop, so a frame must be quick to load."""

_ROWS, _END, _ERROR = "rows", "end", "error"
_MARSHAL, _PICKLE = b"M", b"P"
"""The first byte of a frame's payload: how the rest is serialised."""
_READ_LIMIT: Final = 1 << 20


class ParserProcessFailed(RuntimeError):
    """The parser process ended without saying why (killed, crashed) or sent something unreadable."""


def resolve_image(image: str, file_dir: str) -> str | None:
    """An image path relative to the package directory; None when it would leave it (``..``, absolute).

    ``Картинка`` is relative to the XML file's directory (protocol §5.1); 1C writes ``/`` or ``\\``.
    """
    raw = image.replace("\\", "/").strip()
    if not raw or raw.startswith("/") or (len(raw) > 1 and raw[1] == ":") or "\x00" in raw:
        return None
    if ".." in raw.split("/"):  # protocol §7.2: resolve relative to the XML file; reject ".."
        return None
    joined = posixpath.normpath(posixpath.join(file_dir, raw)) if file_dir else posixpath.normpath(raw)
    if joined == ".." or joined.startswith(("../", "/")):
        return None
    return joined


def entity_to_row(
    entity: object, file_dir: str, warnings: list[str]
) -> tuple[Kind | None, EntityRow | OfferRow | None]:
    """The row of one entity the reader yielded, or (None, None) for what a catalog import ignores."""
    match entity:
        case Offer():
            return Kind.OFFER, offer_row(entity)
        case Product():
            images = []
            for image in entity.images:
                resolved = resolve_image(image, file_dir)
                if resolved is None:
                    warnings.append(
                        f"product {entity.id}: image path {image!r} refused (outside the package)"
                    )
                else:
                    images.append(resolved)
            if len(images) != len(entity.images) or any(
                a != b for a, b in zip(images, entity.images, strict=True)
            ):
                entity = replace(entity, images=tuple(images))
            return Kind.PRODUCT, entity_row(entity)
        case Group() | Property() | PriceType() | Warehouse() | Unit():
            row = entity_row(entity)
            if row is None:
                warnings.append(f"unit without Ид or code skipped: {entity!r}")
                return None, None
            return row.kind, row
        case UnknownSection():
            warnings.append(f"unknown section <{entity.name}> not imported")
        case Document() | Counterparty():
            if not any(w.startswith("documents") for w in warnings):
                warnings.append("documents and counterparties in a catalog file are not imported here")
    return None, None


def produce_batches(
    path: Path,
    file_dir: str,
    *,
    batch_size: int,
    chunk_size: int,
    summary: ReadSummary,
    warnings: list[str],
    put: Put,
    fast: bool = True,
) -> None:
    """Read ``path`` and ``put`` its rows in batches of one kind (the last ones in kind order).

    ``fast``: build product and offer rows straight from the elements where they have a common shape
    (:mod:`~exchange_server.store.fastrows`; the same rows, about twice as fast). False: always
    through the model (the reference the fast path is tested against).
    """
    buckets: dict[Kind, list[Any]] = {}
    converters = fastrows.converters(file_dir, resolve_image) if fast else None
    kind: Kind | None
    row: EntityRow | OfferRow | None
    for entity in iter_file(path, chunk_size, summary=summary, fast=converters):
        if isinstance(entity, OfferRow):  # the fast converters' rows
            kind, row = Kind.OFFER, entity
        elif isinstance(entity, EntityRow):
            kind, row = Kind.PRODUCT, entity
        else:
            kind, row = entity_to_row(entity, file_dir, warnings)
            if row is None or kind is None:
                continue
        bucket = buckets.setdefault(kind, [])
        bucket.append(row)
        if len(bucket) >= batch_size:
            put((kind, bucket))
            buckets[kind] = []
    for kind in CATALOG_KINDS:
        if buckets.get(kind):
            put((kind, buckets[kind]))


# --- the wire format: plain tuples ---------------------------------------------------------------


def _entity_wire(row: EntityRow) -> tuple[Any, ...]:
    return (row.id, row.version, row.deleted, row.content_hash, row.values, row.data_json, row.children)


def _entity_unwire(kind: Kind, t: Sequence[Any]) -> EntityRow:
    return EntityRow(kind, t[0], t[1], t[2], t[3], t[4], t[5], t[6])


def _wire(kind: Kind, rows: Sequence[Any]) -> list[tuple[Any, ...]]:
    if kind is not Kind.OFFER:
        return [_entity_wire(r) for r in rows]
    return [
        (
            r.id,
            r.product_id,
            r.characteristic_id,
            None if r.description is None else _entity_wire(r.description),
            r.prices,
            r.prices_hash,
            r.stock,
            r.stock_hash,
            r.quantity,
        )
        for r in rows
    ]


def _unwire(kind: Kind, rows: Sequence[Sequence[Any]]) -> list[Any]:
    if kind is not Kind.OFFER:
        return [_entity_unwire(kind, t) for t in rows]
    return [
        OfferRow(
            t[0],
            t[1],
            t[2],
            None if t[3] is None else _entity_unwire(Kind.OFFER, t[3]),
            t[4],
            t[5],
            t[6],
            t[7],
            t[8],
        )
        for t in rows
    ]


def _frame(out: BinaryIO, message: tuple[Any, ...]) -> None:
    """One frame: length, codec byte, payload (rows by marshal where it can, anything else by pickle)."""
    codec, payload = _PICKLE, None
    if message[0] == _ROWS:
        try:
            codec, payload = _MARSHAL, marshal.dumps(message)
        except ValueError:  # a type marshal does not take (a str subclass ...): pickle it
            codec = _PICKLE
    if payload is None:
        payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(payload) + 1))
    out.write(codec)
    out.write(payload)


def _load(frame: bytes) -> Any:
    """The message of a frame's body (codec byte and payload)."""
    payload = memoryview(frame)[1:]
    return marshal.loads(payload) if frame[:1] == _MARSHAL else pickle.loads(payload)


# --- the parser process ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m exchange_server.store.parsing PATH FILE_DIR BATCH_SIZE CHUNK_SIZE``: frames to stdout."""
    args = list(sys.argv[1:] if argv is None else argv)
    path, file_dir, batch_size, chunk_size = Path(args[0]), args[1], int(args[2]), int(args[3])
    out: BinaryIO = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the frame stream
    summary = ReadSummary(filename=str(path))
    warnings: list[str] = []

    def put(batch: Batch) -> None:
        kind, rows = batch
        for start in range(0, len(rows), FRAME_ROWS):
            piece = rows[start : start + FRAME_ROWS]
            _frame(out, (_ROWS, str(kind), _wire(kind, piece), start + FRAME_ROWS >= len(rows)))

    try:
        produce_batches(
            path,
            file_dir,
            batch_size=batch_size,
            chunk_size=chunk_size,
            summary=summary,
            warnings=warnings,
            put=put,
        )
    except BrokenPipeError:  # the server stopped reading: it has given up on this import
        return 1
    except Exception as exc:  # handed to the server, which re-raises it
        try:
            _frame(out, (_ERROR, exc))
        except (pickle.PicklingError, TypeError, AttributeError):
            _frame(out, (_ERROR, ParserProcessFailed(f"parser failed: {exc!r}")))
        out.flush()
        return 1
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _frame(out, (_END, summary, warnings, peak_kib))
    out.flush()
    return 0


# --- the server side -------------------------------------------------------------------------------


@dataclass(slots=True)
class ParserReport:
    """What the parser process reported at its end (its peak memory, for the logs and benchmarks)."""

    peak_kib: int = 0


@contextlib.asynccontextmanager
async def consume_in_process(
    path: Path,
    file_dir: str,
    *,
    batch_size: int,
    chunk_size: int,
    summary: ReadSummary,
    warnings: list[str],
    depth: int = 2,
    report: ParserReport | None = None,
) -> AsyncIterator[AsyncIterator[Batch]]:
    """Run :func:`produce_batches` in a parser process; yield an async iterator over its batches.

    ``summary`` and ``warnings`` are filled in once the iterator is exhausted. An exception the
    parser raised is re-raised by the iterator; :class:`ParserProcessFailed` when it died silently.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        __name__,
        str(path),
        file_dir,
        str(batch_size),
        str(chunk_size),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=_READ_LIMIT,
    )
    assert process.stdout is not None and process.stderr is not None
    stdout, stderr = process.stdout, process.stderr
    # One batch is being assembled from frames besides those queued: ``depth`` in all ahead of the database.
    queue: asyncio.Queue[Batch | Exception | None] = asyncio.Queue(maxsize=max(1, depth - 1))
    tail = bytearray()

    async def drain_stderr() -> None:
        while chunk := await stderr.read(65536):
            tail.extend(chunk)
            del tail[:-4096]

    async def read_frames() -> None:
        rows: list[Any] = []
        try:
            while True:
                try:
                    size = _HEADER.unpack(await stdout.readexactly(_HEADER.size))[0]
                    message = _load(await stdout.readexactly(size))
                except asyncio.IncompleteReadError:
                    code = await process.wait()
                    await errors
                    text = bytes(tail).decode("utf-8", "replace").strip()
                    raise ParserProcessFailed(
                        f"the parser process of {path.name} ended unexpectedly (exit code {code})"
                        + (f": {text[-500:]}" if text else "")
                    ) from None
                tag = message[0]
                if tag == _ROWS:
                    kind = Kind(message[1])
                    rows.extend(_unwire(kind, message[2]))
                    if message[3]:
                        await queue.put((kind, rows))
                        rows = []
                elif tag == _END:
                    _copy_summary(message[1], summary)
                    warnings.extend(message[2])
                    if report is not None:
                        report.peak_kib = message[3]
                    await queue.put(None)
                    return
                elif tag == _ERROR:
                    raise message[1]
                else:
                    raise ParserProcessFailed(f"unexpected frame {tag!r} from the parser process")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # handed to the consumer, which re-raises it
            await queue.put(exc)

    errors = asyncio.ensure_future(drain_stderr())
    reader = asyncio.ensure_future(read_frames())

    async def batches() -> AsyncIterator[Batch]:
        while True:
            item = await queue.get()
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            yield item

    with producer_tuning():
        try:
            yield batches()
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await process.wait()
            await asyncio.gather(errors, return_exceptions=True)


def _copy_summary(source: ReadSummary, target: ReadSummary) -> None:
    for slot in ReadSummary.__slots__:
        setattr(target, slot, getattr(source, slot))


if __name__ == "__main__":
    sys.exit(main())
