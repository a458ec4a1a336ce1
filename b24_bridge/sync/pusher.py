"""Drains the outbox into the portal: claims jobs, turns them into batched commands, records outcomes.

I/O shell around :mod:`b24_bridge.sync.commands` (fields), :mod:`b24_bridge.sync.executor`
(batches of 50) and :mod:`exchange_server.outbox.queue` (the durable jobs). Rules:

* a job without a known portal id is looked up by ``xmlId`` first (40 keys per list command), and
  only created when the lookup finds nothing, so an answer lost after a create never duplicates:
  the retry finds what the lost create made;
* outcomes are written after every batch (acknowledged hash and portal id, or the failure with
  back-off; parked after ``max_attempts``);
* a worker is named ``push-<host>-<pid>-<random>``: jobs a killed process left running are handed
  back at the next poll of any worker on the same host (:meth:`Pusher.release_orphans`), not after
  the 10-minute lease; workers on other hosts still wait for the lease;
* stock with inventory management on: current amounts are read (``catalog.storeproduct.list``)
  and the differences are conducted as an ``S`` (increase) and a ``D`` (write-off) document in
  the same batch; a retry re-reads the amounts, so a lost answer never applies a difference twice.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from b24_bridge.batch import BatchCommand
from b24_bridge.client import B24Client
from b24_bridge.errors import ApiError, B24Error
from b24_bridge.sync.commands import (
    ENTITY_METHODS,
    PortalDirectory,
    Unresolved,
    element_fields,
    references,
)
from b24_bridge.sync.executor import Answer, Executor, PortalDown, Step, portal_unreachable
from b24_bridge.sync.mapping import MappingConfig
from exchange_server.outbox import queue
from exchange_server.outbox.queue import Ack, ClaimedJob, Failure

__all__ = ["PushReport", "Pusher", "discover", "orphaned_workers", "worker_name"]

LOOKUP_KEYS: Final = 40
STOCK_ROWS: Final = 48  # (element, store) rows read per storeproduct.list page (50 per page)
STOCK_MOVES: Final = 46  # document lines per batch step: + 2 documents and 2 conducts = 50
_OUR_IMAGE: Final = re.compile(r"^[0-9a-f]{12}-")
ELEMENT_UPDATE: Final = {"product": "catalog.product.update", "offer": "catalog.product.offer.update"}
#: Codes of the portal properties that take the article and the barcode, preferred first; the
#: first of each kind is the one added when missing (1C-Bitrix's own exchange uses CML2_*).
PROPERTY_KIND: Final = {
    "ARTNUMBER": "article",
    "CML2_ARTICLE": "article",
    "CML2_BAR_CODE": "barcode",
    "BARCODE": "barcode",
}
PROPERTY_CODES: Final = tuple(PROPERTY_KIND)
NEW_PROPERTY: Final = {"article": ("CML2_ARTICLE", "Артикул"), "barcode": ("CML2_BAR_CODE", "Штрихкод")}
UNTOUCHED_BASE: Final = (None, "", "BASE")  # xmlId of a base price type no 1C type has taken over


_LIVE_WORKERS: set[str] = set()
"""Worker names created in this process (another pusher of the same process is never an orphan)."""


def worker_name() -> str:
    """``push-<host>-<pid>-<random>``: who claimed a job, and whether that process still lives."""
    return f"push-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def orphaned_workers(
    names: Sequence[str],
    *,
    host: str,
    pid: int,
    live: set[str] | frozenset[str] = frozenset(),
    alive: Callable[[int], bool] = _pid_alive,
) -> list[str]:
    """The workers among ``names`` that are certainly dead: named on this host, and either their
    process is gone, or it is this very process (same pid after a restart, as in a container) while
    the name is none of the ``live`` ones. Names of other hosts or of another format are left alone.
    """
    out = []
    for name in names:
        prefix, _, rest = name.rpartition("-")
        head, _, pid_text = prefix.rpartition("-")
        if head != f"push-{host}" or not pid_text.isdigit() or not rest:
            continue
        owner = int(pid_text)
        if owner == pid:
            if name not in live:
                out.append(name)
        elif not alive(owner):
            out.append(name)
    return out


@dataclass(slots=True)
class PushReport:
    """What one drain did; ``calls``/``commands`` count batch requests and the commands in them."""

    done: int = 0
    failed: int = 0
    parked: int = 0
    calls: int = 0
    commands: int = 0
    started: float = field(default_factory=time.monotonic)
    errors: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


def _rows(result: Any, key: str) -> list[Mapping[str, Any]]:
    if isinstance(result, Mapping):
        rows = result.get(key)
        if isinstance(rows, list):
            return rows
        return []
    return result if isinstance(result, list) else []


async def discover(client: B24Client) -> PortalDirectory:
    """Read the portal's catalogs, VAT rates, measures, base price type and inventory mode (one batch).

    Raises:
        B24Error: the portal refused (no ``catalog`` scope, ...).
        RuntimeError: the portal has no product catalog.
    """
    answer = await client.batch(
        [
            BatchCommand(
                "catalogs", "catalog.catalog.list", {"select": ["id", "iblockId", "productIblockId"]}
            ),
            BatchCommand("vats", "catalog.vat.list", {"select": ["id", "rate", "active"]}),
            BatchCommand("measures", "catalog.measure.list", {"select": ["id", "code"]}),
            BatchCommand(
                "base",
                "catalog.priceType.list",
                {"filter": {"base": "Y"}, "select": ["id", "base", "xmlId"]},
            ),
            BatchCommand("mode", "catalog.document.mode.status", {}),
            BatchCommand(
                "props",
                "catalog.productProperty.list",
                {"filter": {"@code": list(PROPERTY_CODES)}, "select": ["id", "iblockId", "code"]},
            ),
        ]
    )
    # Properties are optional: a portal without catalog.productProperty.* still gets everything else.
    props_error = answer.errors.pop("props", None)
    answer.raise_for_errors()
    catalogs = _rows(answer.results["catalogs"], "catalogs")
    products = [c for c in catalogs if not c.get("productIblockId")]
    if not products:
        raise RuntimeError("the portal has no product catalog (catalog.catalog.list is empty)")
    product_iblock = int(products[0]["iblockId"])
    offers = next((c for c in catalogs if str(c.get("productIblockId") or "") == str(product_iblock)), None)
    vats: dict[float | None, int] = {}
    for row in await _all(
        client, answer, "vats", "catalog.vat.list", "vats", {"select": ["id", "rate", "active"]}
    ):
        rate = None if row.get("rate") in (None, "") else float(row["rate"])
        vats.setdefault(rate, int(row["id"]))
    measures: dict[int, int] = {}
    for row in await _all(
        client, answer, "measures", "catalog.measure.list", "measures", {"select": ["id", "code"]}
    ):
        if row.get("code") not in (None, ""):
            measures.setdefault(int(row["code"]), int(row["id"]))
    base = _rows(answer.results["base"], "priceTypes")
    offers_iblock = None if offers is None else int(offers["iblockId"])
    catalogs_of = {product_iblock: "product"}
    if offers_iblock is not None:
        catalogs_of[offers_iblock] = "offers"
    properties: dict[tuple[str, str], str] = {}
    if props_error is None:
        found = sorted(
            (PROPERTY_CODES.index(str(r.get("code"))), int(r["id"]), int(r.get("iblockId") or 0))
            for r in _rows(answer.results.get("props"), "productProperties")
            if str(r.get("code")) in PROPERTY_CODES
        )
        for rank, prop_id, iblock in found:  # the first code of each kind wins (ARTNUMBER first)
            if iblock in catalogs_of:
                what = PROPERTY_KIND[PROPERTY_CODES[rank]]
                properties.setdefault((catalogs_of[iblock], what), f"property{prop_id}")
    return PortalDirectory(
        product_iblock=product_iblock,
        offers_iblock=offers_iblock,
        vat_ids=vats,
        measure_ids=measures,
        base_price_type=int(base[0]["id"]) if base else None,
        inventory=str(answer.results["mode"]).upper() == "Y",
        base_price_type_xml=(str(base[0].get("xmlId")) if base and base[0].get("xmlId") else None),
        properties=properties,
    )


async def _all(
    client: B24Client, answer: Any, name: str, method: str, key: str, params: Mapping[str, Any]
) -> list[Mapping[str, Any]]:
    if name in answer.nexts:  # more than one page: read them all
        rows: list[Mapping[str, Any]] = await client.list_all(method, params)
        return rows
    return _rows(answer.results[name], key)


def _missing(error: ApiError) -> bool:
    text = f"{error.code} {error}".lower()
    return "not exist" in text or "not found" in text or "does not exist" in text


class _StockWriter:
    """Packs the stock differences of many jobs into full write steps (``STOCK_MOVES`` lines each).

    The reads of one round answer in any order; differences wait here until a step is full or every
    read has answered. A job's lines never span two steps, so one answer settles the job.
    """

    def __init__(self, pusher: Pusher, executor: Executor, reads: int) -> None:
        self.pusher = pusher
        self.executor = executor
        self.reads = reads
        self.pending: list[tuple[ClaimedJob, list[tuple[int, int, Decimal]]]] = []
        self.lines = 0

    def add(self, job: ClaimedJob, moves: list[tuple[int, int, Decimal]]) -> None:
        if len(moves) > STOCK_MOVES:
            self.pusher._fail(
                job, f"stock in {len(moves)} stores changed at once; at most {STOCK_MOVES} fit a batch"
            )
            return
        if self.pending and self.lines + len(moves) > STOCK_MOVES:
            self._emit()
        self.pending.append((job, moves))
        self.lines += len(moves)

    def read_done(self) -> None:
        self.reads -= 1
        if self.reads <= 0 and self.pending:
            self._emit()

    def _emit(self) -> None:
        self.executor.add(self.pusher._stock_write_step(self.pending))
        self.pending, self.lines = [], 0


class Pusher:
    """Pushes claimed outbox jobs to one portal.

    Args:
        client: the portal's client (its bucket paces every batch).
        sessionmaker: the database holding the outbox.
        mapping: the ``[b24]`` configuration.
        claim_size: jobs taken per round (bigger rounds keep batches fuller).
        worker: this worker's name in ``claimed_by``.
        progress: called with the running report after every batch.
    """

    def __init__(
        self,
        client: B24Client,
        sessionmaker: async_sessionmaker[AsyncSession],
        mapping: MappingConfig,
        *,
        claim_size: int = 2000,
        worker: str | None = None,
        progress: Callable[[PushReport], None] | None = None,
    ) -> None:
        self.client = client
        self.sessionmaker = sessionmaker
        self.mapping = mapping
        self.claim_size = claim_size
        self.worker = worker or worker_name()
        _LIVE_WORKERS.add(self.worker)
        self.progress = progress
        self.directory: PortalDirectory | None = None
        self._acks: list[Ack] = []
        self._fails: list[Failure] = []
        self._open: dict[int, ClaimedJob] = {}
        self.report = PushReport()

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.client.clock.now(), dt.UTC)

    # -- outcomes ------------------------------------------------------------------------------

    def _ack(self, job: ClaimedJob, portal_id: int | None = None) -> None:
        if self._open.pop(job.id, None) is not None:
            self._acks.append(Ack(job.id, job.hash, portal_id))

    def _fail(
        self, job: ClaimedJob, error: str, *, portal_id: int | None = None, forget: bool = False
    ) -> None:
        if self._open.pop(job.id, None) is not None:
            self._fails.append(
                Failure(job.id, f"{job.kind} {job.key}: {error}", job.attempts, portal_id, forget)
            )

    async def _flush(self) -> None:
        acks, fails = self._acks, self._fails
        self._acks, self._fails = [], []
        if acks or fails:
            async with self.sessionmaker.begin() as session:
                now = self.now()
                await queue.acknowledge(session, acks, now)
                await queue.fail(
                    session,
                    fails,
                    now,
                    max_attempts=self.mapping.max_attempts,
                    base=self.mapping.backoff_seconds,
                    ceiling=self.mapping.backoff_max_seconds,
                )
        self.report.done += len(acks)
        self.report.failed += len(fails)
        self.report.parked += sum(1 for f in fails if f.attempts >= self.mapping.max_attempts)
        self.report.errors.extend(f.error for f in fails[:5] if len(self.report.errors) < 50)
        if self.progress is not None:
            self.progress(self.report)

    async def release_orphans(self) -> int:
        """Hand back the jobs that killed workers of this host left running; returns how many."""
        async with self.sessionmaker.begin() as session:
            names = await queue.running_workers(session)
            dead = orphaned_workers(names, host=socket.gethostname(), pid=os.getpid(), live=_LIVE_WORKERS)
            released = await queue.release_workers(session, dead, self.now()) if dead else 0
        return released

    # -- the loop ------------------------------------------------------------------------------

    async def drain(self, *, wait: bool = True, stop: asyncio.Event | None = None) -> PushReport:
        """Push until nothing is pending (``wait=False``: until nothing is due right now)."""
        self.report = PushReport()
        while stop is None or not stop.is_set():
            async with self.sessionmaker.begin() as session:
                claim = await queue.claim(session, self.worker, self.claim_size, self.now())
            if claim.jobs:
                await self.run_round(claim.jobs)
                continue
            if claim.remaining == 0 or not wait:
                break
            delay = self.mapping.poll_seconds
            if claim.next_due is not None:
                delay = min(delay, max(0.05, (claim.next_due - self.now()).total_seconds()))
            await self.client.clock.sleep(delay)
        return self.report

    async def run_round(self, jobs: Sequence[ClaimedJob]) -> None:
        """Push claimed jobs (all of one phase); every job ends acknowledged or failed."""
        self._open = {j.id: j for j in jobs}
        executor = Executor(self.client)
        try:
            try:
                if self.directory is None:
                    self.directory = await discover(self.client)
            except (B24Error, RuntimeError) as exc:
                if isinstance(exc, B24Error) and portal_unreachable(exc):
                    raise PortalDown(f"the portal is unreachable: {exc}") from exc
                for job in jobs:
                    self._fail(job, f"portal directories unreadable: {exc}")
                return
            await self._ensure_measures(jobs)
            await self._ensure_properties(jobs)
            async with self.sessionmaker() as session:
                idents = {r for j in jobs for r in references(j.kind, j.key, j.payload)}
                refs = await queue.portal_ids(session, idents)
            pictures = [j for j in jobs if j.kind == "images"]
            self._plan_steps(executor, [j for j in jobs if j.kind != "images"], self.directory, refs)
            calls, commands = executor.calls, executor.commands
            await executor.run(after_batch=self._flush)
            for job in pictures:
                await self._push_images(job, refs)
                await self._flush()
            self.report.calls += executor.calls - calls
            self.report.commands += executor.commands - commands
            for job in list(self._open.values()):
                self._fail(job, "no answer for this job (internal error)")
        except BaseException:
            # Cancelled, crashed or the portal unreachable (PortalDown) mid-round: hand back what was
            # not answered, the attempt not counted (shielded), so another worker or the next start
            # picks it up at once instead of after the lease, and an outage never parks a job.
            open_ids = list(self._open)
            self._open.clear()
            if open_ids:
                async with self.sessionmaker.begin() as session:
                    await asyncio.shield(queue.release(session, open_ids, self.now()))
            raise
        finally:
            await asyncio.shield(self._flush())

    async def _ensure_measures(self, jobs: Sequence[ClaimedJob]) -> None:
        """Add the units the jobs need and the portal lacks (``create_measures``), then re-read."""
        assert self.directory is not None
        if not self.mapping.create_measures:
            return
        missing: dict[int, str] = {}
        for job in jobs:
            code = job.payload.get("measure") if job.kind in ENTITY_METHODS else None
            if code is not None and int(code) not in self.directory.measure_ids:
                missing.setdefault(int(code), str(job.payload.get("measure_title") or code))
        if not missing:
            return
        commands = [
            BatchCommand(
                f"m{code}",
                "catalog.measure.add",
                {"fields": {"code": code, "measureTitle": title[:500], "symbol": title[:20]}},
            )
            for code, title in sorted(missing.items())[:50]
        ]
        try:
            await self.client.batch(commands)
        except B24Error:
            pass  # re-read below; jobs whose unit is still missing fail with the reason
        self.report.calls += 1
        self.report.commands += len(commands)
        self.directory = await discover(self.client)

    async def _ensure_properties(self, jobs: Sequence[ClaimedJob]) -> None:
        """Add the article/barcode properties the jobs need and the portal lacks, then re-read."""
        assert self.directory is not None
        if not self.mapping.create_properties:
            return
        missing: set[tuple[str, str]] = set()
        for job in jobs:
            if job.kind not in ("product", "offer") or job.payload.get("retired"):
                continue
            for what in ("article", "barcode"):
                if job.payload.get(what) and self.directory.property_field(job.kind, what) is None:
                    missing.add(("offers" if job.kind == "offer" else "product", what))
        commands = []
        for catalog, what in sorted(missing):
            try:
                iblock = self.directory.iblock(catalog)
            except Unresolved:
                continue  # no offers catalog: the offer jobs fail with that reason
            code, name = NEW_PROPERTY[what]
            commands.append(
                BatchCommand(
                    f"{catalog}_{what}",
                    "catalog.productProperty.add",
                    {"fields": {"iblockId": iblock, "name": name, "code": code, "propertyType": "S"}},
                )
            )
        if not commands:
            return
        try:
            await self.client.batch(commands)
        except B24Error:
            pass  # re-read below; jobs whose property is still missing fail with the reason
        self.report.calls += 1
        self.report.commands += len(commands)
        self.directory = await discover(self.client)

    def _plan_steps(
        self,
        executor: Executor,
        jobs: Sequence[ClaimedJob],
        directory: PortalDirectory,
        refs: Mapping[tuple[str, str], int],
    ) -> None:
        lookups: dict[str, list[tuple[ClaimedJob, dict[str, Any]]]] = {}
        stock: list[ClaimedJob] = []
        for job in jobs:
            try:
                if job.payload.get("retired") and self._retired_without_call(job, refs):
                    continue
                if job.kind in ENTITY_METHODS:
                    fields = element_fields(job.kind, job.key, job.payload, directory, refs)
                    known = self._known_id(job, directory)
                    if known == -1:
                        continue
                    if known is not None:
                        executor.add(self._update_step(job, known, fields))
                    else:
                        lookups.setdefault(job.kind, []).append((job, fields))
                elif job.kind == "prices":
                    executor.add(self._prices_step(job, refs))
                elif job.kind == "stock":
                    stock.append(job)
                else:
                    self._fail(job, f"unknown job kind {job.kind!r}")
            except Unresolved as exc:
                self._fail(job, str(exc))
        for kind, items in lookups.items():
            for start in range(0, len(items), LOOKUP_KEYS):
                executor.add(self._lookup_step(executor, kind, items[start : start + LOOKUP_KEYS], directory))
        if stock:
            self._stock_steps(executor, stock, directory, refs)

    def _retired_without_call(self, job: ClaimedJob, refs: Mapping[tuple[str, str], int]) -> bool:
        """Settle a retirement that needs no call (acknowledged here); False: it needs one."""
        element = job.payload.get("element")
        if job.kind in ("pricetype", "stock"):
            pass  # kept as they are (see b24_bridge.sync.plan)
        elif job.kind == "store" and (
            job.key in self.mapping.stores or job.portal_id in self.mapping.stores.values()
        ):
            pass  # the operator's own store
        elif job.kind in ("prices", "images") and (
            job.payload.get("element_retired") or refs.get((str(element), job.key)) is None
        ):
            pass  # the goods left too (inactive, last prices kept), or never reached the portal
        else:
            return False
        self._ack(job)
        return True

    def _known_id(self, job: ClaimedJob, directory: PortalDirectory) -> int | None:
        """The portal id to update; -1 when the job is settled without a call."""
        if job.kind == "store" and job.payload.get("mapped") is None and not job.payload.get("retired"):
            # Always by xmlId: the id kept may be an operator's store the warehouse was mapped onto
            # before, which must not be renamed now that it is unmapped (stores are few).
            return None
        if job.portal_id is not None:
            return job.portal_id
        if job.kind == "store" and job.payload.get("mapped") is not None:
            self._ack(job, int(job.payload["mapped"]))  # an existing store the operator named
            return -1
        return None

    # -- element steps -------------------------------------------------------------------------

    def _update_step(self, job: ClaimedJob, portal_id: int, fields: Mapping[str, Any]) -> Step:
        methods = ENTITY_METHODS[job.kind]

        def answered(answer: Answer) -> None:
            error = answer.first_error()
            if error is None:
                self._ack(job, portal_id)
            else:
                self._fail(job, f"{methods.update}: {error}", forget=_missing(error))

        return Step(
            [("u", methods.update, {"id": portal_id, "fields": fields})],
            answered,
            lambda exc: self._fail(job, f"{methods.update}: {exc}"),
        )

    def _add_step(self, job: ClaimedJob, fields: Mapping[str, Any]) -> Step:
        kind = "sku" if job.kind == "product" and job.payload.get("variations") else job.kind
        methods = ENTITY_METHODS[kind]  # goods with characteristics are created as parents

        def answered(answer: Answer) -> None:
            error = answer.first_error()
            entity = answer.results.get("a")
            if (
                error is None
                and isinstance(entity, Mapping)
                and isinstance(entity.get(methods.add_key), Mapping)
            ):
                self._ack(job, int(entity[methods.add_key]["id"]))
            else:
                self._fail(job, f"{methods.add}: {error or 'answer without an id'}")

        return Step(
            [("a", methods.add, {"fields": fields})],
            answered,
            lambda exc: self._fail(job, f"{methods.add}: {exc}"),
        )

    def _lookup_step(
        self,
        executor: Executor,
        kind: str,
        items: list[tuple[ClaimedJob, dict[str, Any]]],
        directory: PortalDirectory,
    ) -> Step:
        methods = ENTITY_METHODS[kind]
        keys = [job.key for job, _ in items]
        flt: dict[str, Any] = {"@xmlId": keys}
        select = ["id", "xmlId"]
        iblock = directory.iblock(methods.iblock)
        if iblock is not None:
            flt = {"iblockId": iblock, **flt}
            select.append("iblockId")
        params = {"filter": flt, "select": select, "order": {"id": "ASC"}, "start": 0}

        def answered(answer: Answer) -> None:
            error = answer.first_error()
            if error is not None:
                for job, _ in items:
                    self._fail(job, f"{methods.list} (lookup by xmlId): {error}")
                return
            found: dict[str, int] = {}
            for row in _rows(answer.results.get("find"), methods.list_key):
                found.setdefault(str(row.get("xmlId")), int(row["id"]))
            complete = "find" not in answer.nexts
            for job, fields in items:
                if job.key in found:
                    executor.add(self._update_step(job, found[job.key], fields))
                elif not complete:
                    self._fail(job, "lookup by xmlId incomplete (duplicates in the portal?); retrying")
                elif job.payload.get("retired"):
                    self._ack(job)  # left the plan and never reached the portal: nothing to retire
                elif (
                    job.kind == "pricetype"
                    and job.payload.get("base")
                    and directory.base_price_type is not None
                    and directory.base_price_type_xml in UNTOUCHED_BASE
                ):
                    # The base 1C price type takes over the portal's own base type (prices of the
                    # portal's deals keep their type); once taken over, a new base is added instead.
                    executor.add(self._update_step(job, directory.base_price_type, fields))
                else:
                    executor.add(self._add_step(job, fields))

        def failed(exc: B24Error) -> None:
            for job, _ in items:
                self._fail(job, f"{methods.list} (lookup by xmlId): {exc}")

        return Step([("find", methods.list, params)], answered, failed)

    # -- prices --------------------------------------------------------------------------------

    def _prices_step(self, job: ClaimedJob, refs: Mapping[tuple[str, str], int]) -> Step:
        element = refs.get((str(job.payload["element"]), job.key))
        if element is None:
            raise Unresolved(f"{job.payload['element']} {job.key} is not in the portal yet")
        prices: list[dict[str, Any]] = []  # a retirement sends none: the element's rows are removed
        for type_id, value, currency in job.payload.get("prices", []):
            group = refs.get(("pricetype", str(type_id)))
            if group is None:
                raise Unresolved(f"price type {type_id} is not in the portal yet")
            prices.append({"catalogGroupId": group, "price": value, "currency": currency})
        params = {"fields": {"product": {"id": element, "prices": prices}}}

        def answered(answer: Answer) -> None:
            error = answer.first_error()
            if error is None:
                self._ack(job)
            else:
                self._fail(job, f"catalog.price.modify: {error}")

        return Step([("m", "catalog.price.modify", params)], answered, lambda e: self._fail(job, str(e)))

    # -- images --------------------------------------------------------------------------------

    async def _push_images(self, job: ClaimedJob, refs: Mapping[tuple[str, str], int]) -> None:
        """One call per picture (never in a batch: base64 bodies are large, bitrix24.md §3.8).

        Pictures already listed under their content name are skipped, so a retry after a lost
        answer uploads nothing twice; pictures of ours (``<sha12>-``) no longer wanted are deleted.
        """
        element = refs.get(("product", job.key))
        if job.payload.get("retired") and (element is None or job.payload.get("element_retired")):
            self._ack(job)  # the goods left the plan too, or never reached the portal
            return
        if element is None:
            self._fail(job, f"product {job.key} is not in the portal yet")
            return
        files = [(str(name), sha) for name, sha in job.payload.get("files", [])]
        paths: Mapping[str, str] = job.payload.get("paths") or {}
        try:
            listed = await self.client.call("catalog.productImage.list", {"productId": element})
            self.report.calls += 1
            existing = {
                str(row.get("name")): int(row["id"])
                for row in _rows(listed, "productImages")
                if row.get("id")
            }
            for index, (name, sha) in enumerate(files):
                if sha is None:
                    continue  # missing file: a plan warning; the others still go
                if name in existing:
                    continue
                data = await asyncio.to_thread(Path(paths[name]).read_bytes)
                if hashlib.sha256(data).hexdigest() != sha:
                    self._fail(job, f"image file {paths[name]} changed since planning; planning again")
                    return
                kind = "DETAIL_PICTURE" if index == 0 else "MORE_PHOTO"
                await self.client.call(
                    "catalog.productImage.add",
                    {
                        "fields": {"productId": element, "type": kind},
                        "fileContent": [name, base64.b64encode(data).decode("ascii")],
                    },
                )
                self.report.calls += 1
            wanted = {name for name, _ in files}
            for name, image_id in existing.items():
                if name not in wanted and _OUR_IMAGE.match(name):
                    await self.client.call(
                        "catalog.productImage.delete", {"productId": element, "id": image_id}
                    )
                    self.report.calls += 1
        except (B24Error, OSError) as exc:
            self._fail(job, f"images: {exc}")
            return
        self._ack(job)

    # -- stock ---------------------------------------------------------------------------------

    def _stock_mode(self, directory: PortalDirectory) -> str:
        mode = self.mapping.stock_mode
        if mode == "auto":
            return "stores" if directory.inventory else "quantity"
        return mode

    def _stock_steps(
        self,
        executor: Executor,
        jobs: list[ClaimedJob],
        directory: PortalDirectory,
        refs: Mapping[tuple[str, str], int],
    ) -> None:
        mode = self._stock_mode(directory)
        resolved: list[tuple[ClaimedJob, int, dict[int, Decimal]]] = []
        for job in jobs:
            element = refs.get((str(job.payload["element"]), job.key))
            if element is None:
                self._fail(job, f"{job.payload['element']} {job.key} is not in the portal yet")
                continue
            if mode == "quantity":
                method = ELEMENT_UPDATE.get(str(job.payload["element"]), "catalog.product.update")
                executor.add(
                    self._single(job, method, {"id": element, "fields": {"quantity": job.payload["total"]}})
                )
                continue
            if not directory.inventory:
                self._fail(job, "stock_mode is 'stores' but inventory management is off in the portal")
                continue
            wanted: dict[int, Decimal] = {}
            try:
                for warehouse, amount in job.payload.get("stores", {}).items():
                    store = refs.get(("store", str(warehouse)))
                    if store is None:
                        raise Unresolved(f"store for warehouse {warehouse} is not in the portal yet")
                    wanted[store] = wanted.get(store, Decimal(0)) + Decimal(str(amount))
            except Unresolved as exc:
                self._fail(job, str(exc))
                continue
            if not wanted:
                self._ack(job)
                continue
            resolved.append((job, element, wanted))
        groups: list[list[tuple[ClaimedJob, int, dict[int, Decimal]]]] = [[]]
        size = 0
        for item in resolved:
            if groups[-1] and size + len(item[2]) > STOCK_ROWS:
                groups.append([])
                size = 0
            groups[-1].append(item)
            size += len(item[2])
        groups = [g for g in groups if g]
        if groups:
            writer = _StockWriter(self, executor, len(groups))
            for group in groups:
                executor.add(self._stock_read_step(executor, group, 0, [], writer))

    def _single(self, job: ClaimedJob, method: str, params: Mapping[str, Any]) -> Step:
        def answered(answer: Answer) -> None:
            error = answer.first_error()
            if error is None:
                self._ack(job)
            else:
                self._fail(job, f"{method}: {error}")

        return Step([("c", method, params)], answered, lambda e: self._fail(job, f"{method}: {e}"))

    def _stock_read_step(
        self,
        executor: Executor,
        group: list[tuple[ClaimedJob, int, dict[int, Decimal]]],
        start: int,
        seen: list[Mapping[str, Any]],
        writer: _StockWriter,
    ) -> Step:
        elements = sorted({e for _, e, _ in group})
        stores = sorted({s for _, _, w in group for s in w})
        params = {
            "filter": {"@productId": elements, "@storeId": stores},
            "select": ["id", "productId", "storeId", "amount"],
            "order": {"id": "ASC"},
            "start": start,
        }

        def fail_all(message: str) -> None:
            for job, _, _ in group:
                self._fail(job, message)
            writer.read_done()

        def answered(answer: Answer) -> None:
            error = answer.first_error()
            if error is not None:
                fail_all(f"catalog.storeproduct.list: {error}")
                return
            rows = seen + _rows(answer.results.get("l"), "storeProducts")
            if "l" in answer.nexts:
                executor.add(self._stock_read_step(executor, group, answer.nexts["l"], rows, writer))
                return
            current: dict[tuple[int, int], Decimal] = {}
            for row in rows:
                key = (int(row["productId"]), int(row["storeId"]))
                current[key] = current.get(key, Decimal(0)) + Decimal(str(row.get("amount") or 0))
            for job, element, wanted in group:
                moves = [
                    (element, store, amount - current.get((element, store), Decimal(0)))
                    for store, amount in wanted.items()
                ]
                moves = [m for m in moves if m[2] != 0]
                if moves:
                    writer.add(job, moves)
                else:
                    self._ack(job)  # the portal already holds these amounts
            writer.read_done()

        return Step([("l", "catalog.storeproduct.list", params)], answered, lambda e: fail_all(f"{e}"))

    def _stock_write_step(self, batch: list[tuple[ClaimedJob, list[tuple[int, int, Decimal]]]]) -> Step:
        """Stock differences of several jobs: an ``S`` document for increases, a ``D`` for decreases."""
        up = [(e, st, d) for _, moves in batch for e, st, d in moves if d > 0]
        down = [(e, st, -d) for _, moves in batch for e, st, d in moves if d < 0]
        commands: list[tuple[str, str, Mapping[str, Any]]] = []
        for name, doc_type, moves, side in (("inc", "S", up, "storeTo"), ("dec", "D", down, "storeFrom")):
            if not moves:
                continue
            doc = f"$result[{{step}}_{name}][document][id]"
            commands.append(
                (
                    name,
                    "catalog.document.add",
                    {
                        "fields": {
                            "docType": doc_type,
                            "currency": self.mapping.currency,
                            "responsibleId": self.mapping.responsible_id,
                            "title": "cml-exchange: stock from 1C",
                        }
                    },
                )
            )
            for index, (element, store, amount) in enumerate(moves):
                commands.append(
                    (
                        f"{name}{index}",
                        "catalog.document.element.add",
                        {"fields": {"docId": doc, "elementId": element, side: store, "amount": str(amount)}},
                    )
                )
            commands.append((f"{name}ok", "catalog.document.conduct", {"id": doc}))
        jobs = [job for job, _ in batch]

        def answered(answer: Answer) -> None:
            error = answer.first_error()
            for job in jobs:
                if error is None:
                    self._ack(job)
                else:
                    self._fail(job, f"stock documents: {error}")

        def failed(exc: B24Error) -> None:
            for job in jobs:
                self._fail(job, f"stock documents: {exc}")

        return Step(commands, answered, failed)
