"""The invoice sync service: portal -> order store (events + polling) and 1C uploads -> portal.

Theory of operation
-------------------
Bitrix24 -> 1C. An event (``ONCRMDYNAMICITEMADD/UPDATE`` for entityTypeId 31, ``ONCRMINVOICE*`` for
old invoices) or the safety-net poll (``updatedTime >= last poll - overlap``, every ``poll_seconds``)
names changed invoices. Each is fetched complete, mapped to a ``Документ`` and compared, by digest,
with what was last synced for it (``b24_invoice_links.b24_hash``): equal -> nothing (this is how the
sync's own writes are not echoed back to 1C: after writing 1C's change it stores the digest of the
resulting invoice). Different -> saved in the order store as a site change, so the next
``mode=query`` returns it; ``mode=success`` commits it there. An invoice whose company has no
requisite with an ИНН waits (state ``waiting``, reason visible in ``GET /api/invoices/waiting``).

1C -> Bitrix24. After an orders upload is imported, the orders it changed (unchanged НомерВерсии are
skipped by the store) are applied to their invoices under a lock per order: found by link, else by
``xmlId``/number in the portal, else created (company found or created by ИНН; smart invoices: two
batch requests, :mod:`b24_bridge.invoices.creation`). The writes follow
:func:`b24_bridge.invoices.mapping.plan_update`; remarks go back to 1C in the import answer. A write
the portal refuses or cannot take now is kept in ``b24_invoice_pending`` and retried by the poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from b24_bridge.client import B24Client
from b24_bridge.errors import AmbiguousWrite, B24Error
from b24_bridge.invoices import binding, store
from b24_bridge.invoices.companies import CompanyResolver
from b24_bridge.invoices.creation import InvoiceCreator, PartialCreate, Party, plan_company
from b24_bridge.invoices.mapping import (
    PAYMENT_KIND,
    SHIPMENT_KIND,
    InvoiceSnapshot,
    export_blocker,
    fold_subordinates,
    manager_email,
    new_invoice_fields,
    plan_update,
    subordinate_record,
    to_document,
)
from b24_bridge.invoices.portal import InvoicePortal
from b24_bridge.invoices.settings import InvoiceSettings
from b24_bridge.invoices.statusmap import PortalStage, Problem, StatusMap, check, default_map
from commerceml.model import Document
from exchange_server.store.codec import content_hash, encode
from exchange_server.store.orders import FROM_SITE, PAYMENT_OPERATIONS, is_subordinate, save_orders

__all__ = ["InvoiceSync", "SyncReport", "document_hash"]

log = logging.getLogger(__name__)
POLL_KEY: Final = "invoices.poll"
TOKEN_KEY: Final = "invoices.application_token"
POLL_OVERLAP: Final = dt.timedelta(seconds=5)
SYSTEM: Final = "system"


def document_hash(doc: Document) -> str:
    return content_hash(encode(doc))


def _rows_hash(snapshot: InvoiceSnapshot) -> str:
    return content_hash(
        sorted((str(r.get("productId")), str(r.get("price")), str(r.get("quantity"))) for r in snapshot.rows)
    )


@dataclass(slots=True)
class SyncReport:
    exported: int = 0
    unchanged: int = 0
    waiting: int = 0
    applied: int = 0
    created: int = 0
    remarks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class InvoiceSync:
    """One per application: owns the locks, the status map in force and the background tasks."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], client: B24Client, settings: InvoiceSettings
    ) -> None:
        self.sessionmaker = sessionmaker
        self.client = client
        self.settings = settings
        self.portal = InvoicePortal(
            client, entity=settings.invoice_api, article_property=settings.article_property
        )
        self.companies = CompanyResolver(client)
        self.creator = InvoiceCreator(client, self.portal, self.companies)
        self.status_map = StatusMap(entity=settings.invoice_api)
        self.stages: list[PortalStage] = []
        self.category_id: int | None = None
        self.warnings: list[str] = []
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._events: asyncio.Queue[int] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.last_poll: dt.datetime | None = None
        self.learned_token: str | None = None  # the portal's application_token, verified by event.test
        self.binding: binding.BindReport | None = None
        self.events_note: str | None = None  # why events are not bound from here, when they are not

    # -- lifecycle -------------------------------------------------------------------------------

    async def load(self) -> None:
        """Read the portal's stages and the status map (database, else the settings file, else defaults)."""
        async with self.sessionmaker() as session:
            stored = await store.load_map(session)
        category = stored.category_id if stored is not None else None
        self.category_id = category if category is not None else await self.portal.default_category()
        self.stages = await self.portal.stages(self.category_id)
        if stored is None:
            stored = self._initial_map()
            async with self.sessionmaker.begin() as session:
                await store.save_map(session, stored, who=SYSTEM)
        self.status_map = stored
        async with self.sessionmaker() as session:
            self.learned_token = await store.get_bookmark(session, TOKEN_KEY)

    def _initial_map(self) -> StatusMap:
        path: Path | None = self.settings.status_map_file
        if path is not None:
            return StatusMap.model_validate(json.loads(path.read_text(encoding="utf-8")))
        return default_map(self.stages, entity=self.settings.invoice_api, category_id=self.category_id)

    async def start(self, *, poll: bool = True) -> None:
        """Load, then run the event worker and (unless ``poll`` is off) the safety-net poll."""
        await self.load()
        await self.bind_events()
        if poll:
            self._tasks.append(asyncio.create_task(self._poll_loop(), name="invoices-poll"))
        self._tasks.append(asyncio.create_task(self._event_loop(), name="invoices-events"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    # -- portal events ---------------------------------------------------------------------------

    async def bind_events(self) -> None:
        """Bind the invoice events to ``CML_B24_PUBLIC_URL`` (OAuth only); never fails the start."""
        settings = self.settings
        self.binding = None
        if not settings.bind_events:
            self.events_note = "binding turned off (CML_B24_BIND_EVENTS=false)"
            return
        if self.client.oauth is None:
            self.events_note = binding.webhook_advice(settings.public_url, settings.invoice_api)
            log.info("invoice events: %s", self.events_note)
            return
        if not settings.public_url:
            self.events_note = "CML_B24_PUBLIC_URL is not set: no handler bound, the poll alone finds changes"
            log.warning("invoice events: %s", self.events_note)
            return
        try:
            self.binding = await binding.bind(
                self.client, public_url=settings.public_url, entity=settings.invoice_api
            )
        except B24Error as exc:
            self.events_note = f"binding the invoice events failed ({exc}); the poll alone finds changes"
            log.warning("invoice events: %s", self.events_note)
            self.warnings.append(self.events_note)
            return
        self.events_note = None

    def expected_token(self) -> str | None:
        """The application token events must carry: the configured one, else the one verified."""
        configured = self.settings.application_token
        return configured.get_secret_value() if configured is not None else self.learned_token

    async def accept_test(self, nonce: str | None, token: str) -> bool:
        """An ``ONAPPTEST`` is genuine when it carries our ``event.test`` nonce: its token is the portal's."""
        pending = self.binding.nonce if self.binding is not None else None
        if not pending or not nonce or not token:
            return False
        if not secrets.compare_digest(nonce.encode(), pending.encode()):
            return False
        assert self.binding is not None
        self.binding.nonce = None
        configured = self.settings.application_token
        if configured is not None:
            if not secrets.compare_digest(token.encode(), configured.get_secret_value().encode()):
                message = (
                    "CML_B24_APPLICATION_TOKEN differs from the portal's application token (verified with "
                    "event.test): portal events are refused until the setting is corrected"
                )
                log.error(message)
                self.warnings.append(message)
            else:
                log.info("application token verified with event.test")
            return True
        async with self.sessionmaker.begin() as session:
            await store.set_bookmark(session, TOKEN_KEY, token)
        self.learned_token = token
        log.info("application token received through event.test and stored")
        return True

    # -- status map ------------------------------------------------------------------------------

    async def check_map(self, candidate: StatusMap) -> list[Problem]:
        category = candidate.category_id if candidate.category_id is not None else self.category_id
        stages = (
            self.stages
            if category == self.category_id and self.stages
            else await self.portal.stages(category)
        )
        return check(candidate, stages)

    async def set_map(self, candidate: StatusMap, *, who: str) -> tuple[list[Problem], dict[str, Any]]:
        """Validate and store a new map; in force at once. Errors: nothing stored."""
        problems = await self.check_map(candidate)
        if any(p.level == "error" for p in problems):
            return problems, {}
        async with self.sessionmaker.begin() as session:
            change = await store.save_map(session, candidate, who=who)
        if candidate.category_id is not None and candidate.category_id != self.category_id:
            self.category_id = candidate.category_id
            self.stages = await self.portal.stages(self.category_id)
        self.status_map = candidate
        return problems, change

    def sale_statuses(self) -> list[tuple[str, str]]:
        return self.status_map.info_statuses()

    # -- Bitrix24 -> 1C ---------------------------------------------------------------------------

    def notify(self, invoice_id: int) -> None:
        """An event named this invoice: refresh it soon (the handler answers 200 at once)."""
        self._events.put_nowait(invoice_id)

    async def _event_loop(self) -> None:
        while True:
            first = await self._events.get()
            ids = {first}
            while not self._events.empty():
                ids.add(self._events.get_nowait())
            try:
                await self.refresh(sorted(ids))
            except Exception:  # a background step boundary: logged, the poll catches up
                log.exception("refreshing invoices %s failed; the poll will retry", sorted(ids))

    async def _poll_loop(self) -> None:
        while True:
            try:
                await self.poll_once()
            except Exception:  # background step boundary
                log.exception("invoice poll failed; retrying in %s s", self.settings.poll_seconds)
            await asyncio.sleep(self.settings.poll_seconds)

    async def poll_once(self) -> SyncReport:
        """The safety net: invoices changed since the last poll, then 1C changes still pending."""
        async with self.sessionmaker() as session:
            mark = await store.get_bookmark(session, POLL_KEY)
        since = None
        if mark:
            since = (dt.datetime.fromisoformat(mark) - POLL_OVERLAP).isoformat()
        started = dt.datetime.now(dt.UTC)
        items = await self.portal.changed_since(since)
        report = await self._export_items(items)
        newest = max((str(i.get("updatedTime") or "") for i in items), default="")
        new_mark = newest or (mark or "")
        if new_mark:
            async with self.sessionmaker.begin() as session:
                await store.set_bookmark(session, POLL_KEY, new_mark)
        async with self.sessionmaker() as session:
            pending = await store.pending(session)
        for order_id in pending:
            async with self.sessionmaker() as session:
                doc = await store.order_document(session, order_id)
            if doc is None:
                async with self.sessionmaker.begin() as session:
                    await store.drop_pending(session, order_id)
                continue
            await self.apply(doc, report)
        self.last_poll = started
        return report

    async def refresh(self, invoice_ids: Sequence[int]) -> SyncReport:
        """Fetch these invoices and queue for 1C those that changed."""
        return await self._export_items(await self.portal.items(invoice_ids))

    async def _export_items(self, items: Sequence[dict[str, Any]]) -> SyncReport:
        """Map and store many invoices in one transaction, each under its order's lock."""
        report = SyncReport()
        snaps = await self.portal.snapshots(items)
        await self._resolve_articles(snaps)
        entity = self.settings.invoice_api
        async with self.sessionmaker() as session:
            links = await store.links_by_invoice(session, entity, [int(s.item["id"]) for s in snaps])
        held: list[asyncio.Lock] = []
        busy: list[InvoiceSnapshot] = []
        docs: list[Document] = []
        new_links: list[store.Link] = []
        try:
            for snap in snaps:
                link = links.get(int(snap.item["id"]))
                order_id = link.order_id if link is not None else str(snap.item["id"])
                lock = self._locks[order_id]
                if lock.locked():  # a 1C change is being written: handle it after, under the lock
                    busy.append(snap)
                    continue
                await lock.acquire()  # free: returns at once, nothing else runs in between
                held.append(lock)
                self._decide(snap, link, order_id, docs, new_links, report)
            if new_links:
                async with self.sessionmaker.begin() as session:
                    if docs:
                        await save_orders(session, docs, source=FROM_SITE)
                    await store.put_links(session, new_links)
        finally:
            for lock in held:
                lock.release()
        for snap in busy:
            invoice_id = int(snap.item["id"])
            async with self.sessionmaker() as session:
                link = await store.link_by_invoice(session, entity, invoice_id)
            order_id = link.order_id if link is not None else str(invoice_id)
            async with self._locks[order_id]:
                async with self.sessionmaker() as session:  # re-read: the 1C write has finished
                    link = await store.get_link(session, order_id)
                docs, new_links = [], []
                self._decide(snap, link, order_id, docs, new_links, report)
                if new_links:
                    async with self.sessionmaker.begin() as session:
                        if docs:
                            await save_orders(session, docs, source=FROM_SITE)
                        await store.put_links(session, new_links)
        return report

    async def _resolve_articles(self, snaps: Sequence[InvoiceSnapshot]) -> None:
        """Products not from 1C (no ``XML_ID``) get the 1C ``Ид`` of the catalog product with the article."""
        articles = sorted({a for s in snaps for a in s.product_articles.values()})
        if not articles:
            return
        async with self.sessionmaker() as session:
            ids = await store.ids_by_article(session, articles)
        for snap in snaps:
            for product_id, article in snap.product_articles.items():
                if article in ids:
                    snap.product_xml_ids.setdefault(product_id, ids[article])
                else:
                    log.info("product %s (article %r) has no 1C Ид and no catalog match", product_id, article)

    def _decide(
        self,
        snapshot: InvoiceSnapshot,
        link: store.Link | None,
        order_id: str,
        docs: list[Document],
        new_links: list[store.Link],
        report: SyncReport,
    ) -> None:
        """Unchanged since the last sync, waiting (with the reason), or a site change for 1C."""
        invoice_id = int(snapshot.item["id"])
        if link is not None and link.invoice_id != invoice_id:
            report.warnings.append(
                f"order {order_id} is linked to invoice {link.invoice_id}, not {invoice_id}"
            )
            return
        doc = to_document(
            snapshot,
            self.status_map,
            self.stages,
            order_id=order_id,
            number_prefix=self.settings.number_prefix,
        )
        digest = document_hash(doc)
        if link is not None and link.b24_hash == digest:
            report.unchanged += 1
            return
        reason = export_blocker(snapshot, require_requisites=self.settings.require_requisites)
        new_links.append(
            store.Link(
                order_id,
                self.settings.invoice_api,
                invoice_id,
                link.origin if link else "b24",
                link.b24_hash if reason and link else (None if reason else digest),
                link.rows_hash if link else None,
                "waiting" if reason else "exported",
                reason,
                link.applied_1c if link else None,
                _rows_hash(snapshot),
            )
        )
        if reason is None:
            docs.append(doc)
            report.exported += 1
        else:
            report.waiting += 1
            log.info("invoice %s waits: %s", invoice_id, reason)

    # -- 1C -> Bitrix24 ---------------------------------------------------------------------------

    async def after_import(self, package_id: str) -> list[str]:
        """Apply the orders 1C's upload changed; returns the remarks for 1C."""
        async with self.sessionmaker() as session:
            docs = await store.orders_from_package(session, package_id)
        report = SyncReport()
        if docs:  # durable first: a crash below leaves them to the poll's retry
            async with self.sessionmaker.begin() as session:
                for doc in docs:
                    await store.add_pending(session, doc.id, None)
        for doc in sorted(docs, key=is_subordinate):  # orders first, then their payments/shipments
            await self.apply(doc, report)
        return report.remarks

    async def after_success(self, exported: Sequence[tuple[str, str]]) -> None:
        """1C confirmed these orders: the compositions it received become the agreed ones."""
        if exported:
            async with self.sessionmaker.begin() as session:
                await store.confirm_rows(session, [order_id for order_id, _ in exported])
            log.info("1C confirmed %d orders", len(exported))

    async def apply(self, doc: Document, report: SyncReport) -> None:
        """Apply one 1C order (or 2.10 payment/shipment) to its invoice; failures are kept for retry."""
        if is_subordinate(doc):
            await self._apply_subordinate(doc, report)
            return
        async with self._locks[doc.id]:
            try:
                await self._apply(doc, report)
            except B24Error as exc:
                log.warning("order %s: portal write failed, will retry: %s", doc.id, exc)
                async with self.sessionmaker.begin() as session:
                    await store.add_pending(session, doc.id, str(exc))
                return
            async with self.sessionmaker.begin() as session:
                await store.drop_pending(session, doc.id)

    async def _order_for(self, basis: str) -> tuple[str, store.Link] | None:
        """The order a payment/shipment belongs to (``Основание``: its number, or its ``Ид``) and its link."""
        prefix = self.settings.number_prefix
        numbers = [basis, basis.removeprefix(prefix), f"{prefix}{basis}"] if prefix else [basis]
        async with self.sessionmaker() as session:
            candidates = [basis, *await store.order_ids_by_number(session, numbers)]
            for order_id in candidates:
                link = await store.get_link(session, order_id)
                if link is not None:
                    return order_id, link
        item = await self.portal.find(number=basis.removeprefix(prefix))
        if item is None:
            return None
        async with self.sessionmaker() as session:
            link = await store.link_by_invoice(session, self.settings.invoice_api, int(item["id"]))
        if link is None:  # an invoice 1C knows by number but we never linked: link it now
            link = store.Link(str(item["id"]), self.settings.invoice_api, int(item["id"]), "b24", None, None,
                              "synced", None)  # fmt: skip
            async with self.sessionmaker.begin() as session:
                await store.put_link(session, link)
        return link.order_id, link

    async def _apply_subordinate(self, doc: Document, report: SyncReport) -> None:
        """A 2.10 payment or shipment: recorded for its order, then the order's folded facts applied."""
        kind = PAYMENT_KIND if (doc.operation or "").strip() in PAYMENT_OPERATIONS else SHIPMENT_KIND
        basis = (doc.basis or "").strip()
        if not basis:
            remark = f"Документ {doc.id} ({doc.operation}): не указано Основание (номер заказа)."
            report.remarks.append(remark)
            async with self.sessionmaker.begin() as session:
                await store.drop_pending(session, doc.id)
            return
        try:
            found = await self._order_for(basis)
            if found is None:
                report.remarks.append(f"Заказ №{basis} на сайте не найден.")
                async with self.sessionmaker.begin() as session:
                    await store.drop_pending(session, doc.id)
                return
            order_id, link = found
            async with self._locks[order_id]:
                key = "sub:" + hashlib.sha1(order_id.encode()).hexdigest()
                async with self.sessionmaker() as session:
                    raw = await store.get_bookmark(session, key)
                records: dict[str, dict[str, Any]] = json.loads(raw) if raw else {}
                records[doc.id] = subordinate_record(doc, kind=kind)
                snapshot = await self.portal.load(link.invoice_id)
                if snapshot is None:
                    report.remarks.append(f"Заказ №{basis} на сайте не найден.")
                    async with self.sessionmaker.begin() as session:
                        await store.drop_pending(session, doc.id)
                    return
                total = Decimal(str(snapshot.item.get("opportunity") or 0))
                folded = fold_subordinates(order_id, basis, total, records)
                await self._apply(folded, report, known=snapshot)
                async with self.sessionmaker.begin() as session:
                    await store.set_bookmark(session, key, json.dumps(records, ensure_ascii=False))
                    await store.drop_pending(session, doc.id)
        except B24Error as exc:
            log.warning("%s %s: portal write failed, will retry: %s", kind, doc.id, exc)
            async with self.sessionmaker.begin() as session:
                await store.add_pending(session, doc.id, str(exc))

    async def _apply(
        self, doc: Document, report: SyncReport, *, known: InvoiceSnapshot | None = None
    ) -> None:
        """Apply ``doc``; ``known``: the invoice already loaded (a folded payment/shipment: never created)."""
        entity = self.settings.invoice_api
        async with self.sessionmaker() as session:
            link = await store.get_link(session, doc.id)
        applied = document_hash(doc)
        if link is not None and link.applied_1c == applied:
            return  # this very document was applied already (re-sent file, same package read again)
        snapshot: InvoiceSnapshot | None = known
        if snapshot is None and link is not None:
            snapshot = await self.portal.load(link.invoice_id)
        created = False
        product_ids: dict[str, int] | None = None
        if snapshot is None and entity == "smart":
            outcome = await self._find_or_create(doc, report, by_number=link is None)
            if outcome is None:
                return
            snapshot, created, product_ids = outcome
            if created:
                invoice_id = int(snapshot.item["id"])
                link = store.Link(doc.id, entity, invoice_id, "1c", None, None, "applying", None)
                async with self.sessionmaker.begin() as session:
                    await store.put_link(session, link)
        if snapshot is None:
            item = await self.portal.find(xml_id=doc.id)
            if item is None and doc.number and link is None:
                item = await self.portal.find(
                    number=doc.number.strip().removeprefix(self.settings.number_prefix)
                )
            if item is not None:
                snapshot = await self.portal.load(int(item["id"]))
        if snapshot is None:
            if not self.settings.create_from_1c:
                report.remarks.append(f"Заказ №{doc.number or doc.id} на сайте не найден.")
                return
            new_item = await self._create(doc, report)
            created = True
            link = store.Link(doc.id, entity, int(new_item["id"]), "1c", None, None, "applying", None)
            async with self.sessionmaker.begin() as session:
                await store.put_link(session, link)
            snapshot = InvoiceSnapshot(item=new_item)
            await self.portal.complete([snapshot], stale_ok=True)
        item = snapshot.item
        portal_changed = False
        if link is not None and link.rows_hash is not None and not created:
            portal_changed = _rows_hash(snapshot) != link.rows_hash
        if product_ids is None:
            product_ids = await self.portal.product_ids(line.id for line in doc.lines if not line.is_delivery)
        manager_id = None if created else await self._manager(doc, report)
        plan = plan_update(
            doc,
            snapshot,
            self.status_map,
            self.stages,
            product_ids,
            portal_changed=portal_changed,
            manager_id=manager_id,
        )
        final = snapshot
        if not plan.empty:
            final = await self.portal.update(snapshot, plan.fields, plan.rows)
        await self._resolve_articles([final])
        for note in plan.notes:
            log.info("order %s -> invoice %s: %s", doc.id, item["id"], note)
        report.remarks.extend(plan.remarks)
        order_id = link.order_id if link is not None else doc.id
        mapped = to_document(
            final, self.status_map, self.stages, order_id=order_id, number_prefix=self.settings.number_prefix
        )
        async with self.sessionmaker.begin() as session:
            if plan.requeue:
                await save_orders(session, [mapped], source=FROM_SITE)
            await store.put_link(
                session,
                store.Link(
                    order_id,
                    entity,
                    int(item["id"]),
                    link.origin if link else "1c",
                    document_hash(mapped),
                    _rows_hash(final),
                    "synced",
                    None,
                    applied,
                    _rows_hash(final),
                ),
            )
        report.applied += 1

    async def _find_or_create(
        self, doc: Document, report: SyncReport, *, by_number: bool
    ) -> tuple[InvoiceSnapshot, bool, dict[str, int]] | None:
        """A smart invoice 1C's order has no link to: found (loaded), or created with its company.

        Returns ``(snapshot, created, product ids)``, or None when the order may not create one
        (remarked). The company part runs under the ИНН's lock; after a lost answer the lookups run
        again before anything is created again (:mod:`b24_bridge.invoices.creation`).
        """
        creating = self.settings.create_from_1c
        party = Party.of(doc) if creating else None
        email = manager_email(doc)
        lock = self.companies.lock(party.inn) if party is not None else contextlib.nullcontext()
        async with lock:
            attempt = 0
            while True:
                attempt += 1
                found = await self.creator.lookup(doc, party, by_number=by_number, email=email)
                if found.invoice is not None:
                    snapshot = await self.portal.load(int(found.invoice["id"]))
                    if snapshot is not None:
                        return snapshot, False, found.product_ids
                if not creating:
                    report.remarks.append(f"Заказ №{doc.number or doc.id} на сайте не найден.")
                    return None
                company = None
                if party is not None:
                    orphans: list[int] = []
                    if not found.companies:
                        candidates = found.origin + await self._remembered_orphans(party.inn)
                        orphans = await self.creator.orphans(candidates)
                    company = plan_company(found, party, orphans)
                    if company.warning:
                        log.warning(company.warning)
                        report.warnings.append(company.warning)
                        self.warnings.append(company.warning)
                if email is not None and found.manager_id is None and self.portal.users_readable:
                    warning = (
                        f"order {doc.id}: no active portal user with the e-mail {email} (responsible kept)"
                    )
                    log.warning(warning)
                    report.warnings.append(warning)
                fields, rows = self._new_invoice(doc, found.manager_id, found.product_ids)
                try:
                    made = await self.creator.create(doc, party, company, fields, rows)
                except AmbiguousWrite as exc:
                    if attempt >= self.client.retry.attempts:
                        raise
                    log.warning("order %s: %s; looking up what exists before creating again", doc.id, exc)
                    continue
                except PartialCreate as exc:
                    await self._partial(doc, party, exc, report)
                    raise
                if company is not None and company.create:
                    report.created += 1
                if company is not None and company.add_requisite and party is not None:
                    await self._forget_orphans(party.inn)
                return made.snapshot, True, found.product_ids

    def _new_invoice(
        self, doc: Document, manager_id: int | None, product_ids: dict[str, int]
    ) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
        """The fields and rows of a new invoice: what :func:`plan_update` would write right after the
        create (stage, payment, rows) goes into the create itself."""
        fields = new_invoice_fields(
            doc,
            self.status_map,
            self.stages,
            company_id=None,
            contact_id=None,
            category_id=self.category_id,
            manager_id=manager_id,
        )
        plan = plan_update(doc, InvoiceSnapshot(item=dict(fields)), self.status_map, self.stages, product_ids)
        return {**fields, **plan.fields}, plan.rows

    @staticmethod
    def _orphans_key(inn: str) -> str:
        return f"invoices.orphans.{inn}"

    async def _remembered_orphans(self, inn: str) -> list[int]:
        async with self.sessionmaker() as session:
            raw = await store.get_bookmark(session, self._orphans_key(inn))
        return [int(i) for i in json.loads(raw)] if raw else []

    async def _forget_orphans(self, inn: str) -> None:
        if await self._remembered_orphans(inn):
            async with self.sessionmaker.begin() as session:
                await store.set_bookmark(session, self._orphans_key(inn), "[]")

    async def _partial(
        self, doc: Document, party: Party | None, exc: PartialCreate, report: SyncReport
    ) -> None:
        """A refused command left part of an order's invoice written: remembered and reported."""
        log.warning("%s", exc)
        report.warnings.append(str(exc))
        self.warnings.append(str(exc))
        if exc.orphan and party is not None and exc.company_id is not None:
            known = await self._remembered_orphans(party.inn)
            async with self.sessionmaker.begin() as session:
                await store.set_bookmark(
                    session, self._orphans_key(party.inn), json.dumps(sorted({*known, exc.company_id}))
                )
        if exc.invoice_id is not None:  # the retry loads it by link and completes rows and fields
            entity = self.settings.invoice_api
            link = store.Link(doc.id, entity, exc.invoice_id, "1c", None, None, "applying", None)
            async with self.sessionmaker.begin() as session:
                await store.put_link(session, link)

    async def _manager(self, doc: Document, report: SyncReport) -> int | None:
        """The portal user 1C names as the responsible manager (by work e-mail), or None."""
        email = manager_email(doc)
        if email is None:
            return None
        user_id = await self.portal.user_by_email(email)
        if user_id is None and self.portal.users_readable:
            warning = f"order {doc.id}: no active portal user with the e-mail {email} (responsible kept)"
            log.warning(warning)
            report.warnings.append(warning)
        return user_id

    async def _create(self, doc: Document, report: SyncReport) -> dict[str, Any]:
        party = doc.counterparties[0] if doc.counterparties else None
        company_id = None
        if party is not None and party.inn:
            match = await self.companies.resolve(party)
            company_id = match.company_id
            if match.warning:
                report.warnings.append(match.warning)
                self.warnings.append(match.warning)
            if match.created:
                report.created += 1
        fields = new_invoice_fields(
            doc,
            self.status_map,
            self.stages,
            company_id=company_id,
            contact_id=None,
            category_id=self.category_id,
            manager_id=await self._manager(doc, report),
        )
        item = await self.portal.create(fields)
        log.info("order %s from 1C: invoice %s created (company %s)", doc.id, item["id"], company_id)
        return item
