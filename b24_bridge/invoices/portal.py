"""The portal side of the invoice sync: reads snapshots, stages and products; writes invoices.

Thin I/O over :class:`b24_bridge.B24Client`: lists are fetched with ``@id`` filters and product rows
with batched calls (50 per request), so a thousand invoices cost a few dozen requests.
Smart invoices (``crm.item.*``, entityTypeId 31) are the default; old invoices (``crm.invoice.*``) are
read and written through the same interface, converted to the smart field names.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Sequence
from typing import Any, Final

from b24_bridge.batch import BatchCommand
from b24_bridge.client import B24Client
from b24_bridge.errors import AccessDenied, B24Error, BatchError, NotFound
from b24_bridge.invoices.mapping import InvoiceSnapshot
from b24_bridge.invoices.statusmap import PortalStage, stages_from_statuses

__all__ = ["InvoicePortal", "article_field"]

log = logging.getLogger(__name__)

SMART: Final = 31
CHUNK: Final = 50
CACHE_SECONDS: Final = 60.0
"""Companies (with requisite and address) and products are cached this long: they change rarely, and
each cached lookup saves a request at 2 requests/s. A company edit reaches 1C with the invoice's next
change after at most this delay."""
_LEGACY_ITEM: Final = {
    "ID": "id",
    "ACCOUNT_NUMBER": "accountNumber",
    "ORDER_TOPIC": "title",
    "STATUS_ID": "stageId",
    "XML_ID": "xmlId",
    "UF_COMPANY_ID": "companyId",
    "UF_CONTACT_ID": "contactId",
    "PRICE": "opportunity",
    "CURRENCY": "currencyId",
    "DATE_BILL": "begindate",
    "DATE_UPDATE": "updatedTime",
    "COMMENTS": "comments",
    "RESPONSIBLE_ID": "assignedById",
    "PAY_VOUCHER_NUM": "payVoucherNum",
    "PAY_VOUCHER_DATE": "payVoucherDate",
}
_LEGACY_ROW: Final = {
    "ID": "id",
    "PRODUCT_ID": "productId",
    "PRODUCT_NAME": "productName",
    "PRICE": "price",
    "QUANTITY": "quantity",
    "VAT_RATE": "taxRate",
    "VAT_INCLUDED": "taxIncluded",
    "MEASURE_CODE": "measureCode",
    "MEASURE_NAME": "measureName",
    "SORT": "sort",
    "XML_ID": "xmlId",
}


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _list(result: Any, key: str | None = None) -> list[dict[str, Any]]:
    if isinstance(result, dict) and key is not None:
        result = result.get(key, [])
    return [r for r in (result or []) if isinstance(r, dict)]


def legacy_to_item(row: dict[str, Any]) -> dict[str, Any]:
    item = {new: row.get(old) for old, new in _LEGACY_ITEM.items() if old in row}
    item["contactId"] = int(row.get("UF_CONTACT_ID") or 0)
    item["companyId"] = int(row.get("UF_COMPANY_ID") or 0)
    item["id"] = int(row.get("ID") or 0)
    return item


def article_field(value: str | None) -> str | None:
    """The ``crm.product`` field of the article: ``property45`` / ``PROPERTY_45`` -> ``PROPERTY_45``.

    ``auto``/``off`` (the goods push's own choices) or anything else: None (no article lookup).
    """
    text = (value or "").strip()
    match = re.fullmatch(r"(?i)property_?(\d+)", text)
    return f"PROPERTY_{match.group(1)}" if match else None


def _property_value(value: Any) -> str | None:
    """``PROPERTY_N`` of ``crm.product.list``: ``{"valueId", "value"}``, a list of them, or a scalar."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("value")
    text = str(value).strip() if value not in (None, "") else ""
    return text or None


def legacy_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {new: row.get(old) for old, new in _LEGACY_ROW.items() if old in row}
    rate = out.get("taxRate")
    if rate not in (None, ""):
        out["taxRate"] = float(rate) * 100 if float(rate) < 1 else float(rate)
    return out


class InvoicePortal:
    """Invoice reads and writes for one portal (``entity``: ``smart`` or ``legacy``)."""

    def __init__(
        self,
        client: B24Client,
        *,
        entity: str = "smart",
        cache_seconds: float = CACHE_SECONDS,
        article_property: str | None = None,
    ) -> None:
        self.client = client
        self.entity = entity
        self.cache_seconds = cache_seconds
        self.article_field = article_field(article_property)
        self._articles: dict[int, str | None] = {}
        self._users: dict[int, tuple[float, dict[str, Any] | None]] = {}
        self._emails: dict[str, tuple[float, int | None]] = {}
        self._payers: dict[str, dict[str, int]] | None = None
        self.users_readable = True  # False once the portal refused user.get (no "user" scope)
        self._companies: dict[
            int, tuple[float, dict[str, Any] | None, dict[str, Any] | None, dict[str, Any] | None]
        ]
        self._companies = {}
        self._contacts: dict[int, tuple[float, dict[str, Any] | None]] = {}
        self._xml_ids: dict[int, str | None] = {}
        self._product_ids: dict[str, int] = {}

    def forget_company(self, company_id: int) -> None:
        self._companies.pop(company_id, None)

    # -- caches fed by batched reads (b24_bridge.invoices.creation) ----------------------------

    def has_company(self, company_id: int) -> bool:
        return company_id in self._companies

    def remember_company(
        self,
        company_id: int,
        company: dict[str, Any] | None,
        requisite: dict[str, Any] | None,
        address: dict[str, Any] | None,
    ) -> None:
        """A company as the portal answered ``crm.company.list`` / ``crm.requisite.list`` /
        ``crm.address.list`` (the exact shapes :meth:`complete` reads, so nothing differs later)."""
        self._companies[company_id] = (time.monotonic(), company, requisite, address)

    def missing_products(self, xml_ids: Iterable[str]) -> list[str]:
        return sorted(set(xml_ids) - set(self._product_ids))

    def remember_products(self, rows: Iterable[dict[str, Any]]) -> None:
        """``crm.product.list`` rows (``ID``, ``XML_ID``): the lowest id wins for a shared ``XML_ID``."""
        for row in sorted(rows, key=lambda r: int(r["ID"])):
            xml_id = str(row.get("XML_ID") or "")
            if xml_id:
                self._product_ids.setdefault(xml_id, int(row["ID"]))
                self._xml_ids.setdefault(int(row["ID"]), xml_id)

    def known_product_ids(self, xml_ids: Iterable[str]) -> dict[str, int]:
        """The cached portal ids of these 1C Ид (no request; absent: not in the portal, or not read)."""
        return {x: self._product_ids[x] for x in set(xml_ids) if x in self._product_ids}

    def cached_email(self, email: str) -> tuple[bool, int | None]:
        """``(known, user id)`` of a cached e-mail lookup (:meth:`user_by_email`)."""
        cached = self._emails.get(email.strip().casefold())
        if cached is not None and cached[0] >= time.monotonic() - self.cache_seconds:
            return True, cached[1]
        return False, None

    def remember_email(self, email: str, rows: Iterable[dict[str, Any]]) -> int | None:
        """``user.get`` rows for an e-mail filter: the active user with this e-mail (lowest id)."""
        key = email.strip().casefold()
        ids = sorted(int(r["ID"]) for r in rows if str(r.get("EMAIL") or "").strip().casefold() == key)
        found = ids[0] if ids else None
        self._emails[key] = (time.monotonic(), found)
        return found

    def has_user(self, user_id: int) -> bool:
        return user_id in self._users

    def remember_user(self, user_id: int, row: dict[str, Any] | None) -> None:
        self._users[user_id] = (time.monotonic(), row)

    def users_refused(self, exc: Exception) -> None:
        """The portal refused ``user.get`` (no ``user`` scope): stop asking, log once."""
        if self.users_readable:
            self._user_scope_missing(exc)

    # -- directories ---------------------------------------------------------------------------

    async def default_category(self) -> int | None:
        if self.entity != "smart":
            return None
        result = await self.client.call("crm.category.list", {"entityTypeId": SMART})
        cats = _list(result, "categories")
        default = next((c for c in cats if c.get("isDefault") == "Y"), cats[0] if cats else None)
        return None if default is None else int(default["id"])

    async def stages(self, category_id: int | None) -> list[PortalStage]:
        entity_id = "INVOICE_STATUS" if self.entity != "smart" else f"SMART_INVOICE_STAGE_{category_id}"
        rows = await self.client.list_all(
            "crm.status.list", {"filter": {"ENTITY_ID": entity_id}, "order": {"SORT": "ASC"}}
        )
        return stages_from_statuses(rows)

    # -- reads ---------------------------------------------------------------------------------

    async def changed_since(self, since: str | None) -> list[dict[str, Any]]:
        """Invoices updated at or after ``since`` (ISO time; None: all), full items."""
        if self.entity == "smart":
            flt: dict[str, Any] = {">=updatedTime": since} if since else {}
            return [
                r
                async for r in self.client.export(
                    "crm.item.list", {"entityTypeId": SMART, "select": ["*", "ufCrm*"], "filter": flt}
                )
            ]
        flt = {">=DATE_UPDATE": since} if since else {}
        rows = await self.client.list_all("crm.invoice.list", {"filter": flt, "select": ["*"]})
        return [legacy_to_item(r) for r in rows]

    async def items(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.entity == "smart":
            for block in _chunks(list(ids)):
                result = await self.client.call(
                    "crm.item.list", {"entityTypeId": SMART, "filter": {"@id": list(block)}, "start": -1}
                )
                out.extend(_list(result, "items"))
            return out
        results = await self.client.call_many("crm.invoice.get", [{"id": i} for i in ids])
        return [legacy_to_item(r) for r in results if isinstance(r, dict)]

    async def snapshots(self, items: Sequence[dict[str, Any]]) -> list[InvoiceSnapshot]:
        """Complete the items with rows, company + requisite + legal address, contact and product Ид."""
        snaps = [InvoiceSnapshot(item=dict(i)) for i in items]
        if not snaps:
            return []
        if self.entity == "smart":
            answers = await self.client.call_many(
                "crm.item.productrow.list",
                [{"filter": {"=ownerType": "SI", "=ownerId": s.item["id"]}} for s in snaps],
            )
            for snap, answer in zip(snaps, answers, strict=True):
                snap.rows = _list(answer, "productRows")
        else:
            full = await self.client.call_many("crm.invoice.get", [{"id": s.item["id"]} for s in snaps])
            for snap, answer in zip(snaps, full, strict=True):
                snap.rows = [legacy_row(r) for r in _list((answer or {}).get("PRODUCT_ROWS"))]
        await self.complete(snaps)
        return snaps

    async def complete(self, snaps: Sequence[InvoiceSnapshot], *, stale_ok: bool = False) -> None:
        """Fill company, requisite, legal address, contact and product Ид (cached lookups).

        ``stale_ok``: use cached companies of any age (writes of 1C changes: a company edit then
        shows up as a difference at the next poll, and goes to 1C as it should).
        """
        now = time.monotonic()
        fresh = float("-inf") if stale_ok else now - self.cache_seconds
        known = {k for k, v in self._companies.items() if v[0] >= fresh}
        companies = sorted({int(s.item.get("companyId") or 0) for s in snaps} - {0} - known)
        known = {k for k, v in self._contacts.items() if v[0] >= fresh}
        contacts = sorted({int(s.item.get("contactId") or 0) for s in snaps} - {0} - known)
        products = sorted(
            {int(r.get("productId") or 0) for s in snaps for r in s.rows} - {0} - set(self._xml_ids)
        )
        if companies:
            company_rows = await self._by_ids("crm.company.list", companies, ["*", "PHONE", "EMAIL"])
            requisites = await self.requisites_of(companies)
            addresses = await self._addresses([int(r["ID"]) for r in requisites.values()])
            for company_id in companies:
                rq = requisites.get(company_id)
                address = addresses.get(int(rq["ID"])) if rq is not None else None
                self._companies[company_id] = (now, company_rows.get(company_id), rq, address)
        if contacts:
            contact_rows = await self._by_ids("crm.contact.list", contacts, ["*", "PHONE", "EMAIL"])
            for contact_id in contacts:
                self._contacts[contact_id] = (now, contact_rows.get(contact_id))
        if products:
            select = ["ID", "XML_ID"] + ([self.article_field] if self.article_field else [])
            product_rows = await self._by_ids("crm.product.list", products, select)
            for product_id in products:
                row = product_rows.get(product_id)
                self._xml_ids[product_id] = str(row["XML_ID"]) if row and row.get("XML_ID") else None
                article = _property_value(row.get(self.article_field)) if row and self.article_field else None
                self._articles[product_id] = article
        users = sorted(
            {int(s.item.get("assignedById") or 0) for s in snaps}
            - {0}
            - {k for k, v in self._users.items() if v[0] >= fresh}
        )
        if users and self.users_readable:
            await self._load_users(users, now)
        for snap in snaps:
            company_id = int(snap.item.get("companyId") or 0)
            contact_id = int(snap.item.get("contactId") or 0)
            if company_id and company_id in self._companies:
                _, snap.company, snap.requisite, snap.address = self._companies[company_id]
            if snap.company is None and contact_id in self._contacts:
                snap.contact = self._contacts[contact_id][1]
            snap.product_xml_ids = {}
            snap.product_articles = {}
            for row in snap.rows:
                product_id = int(row.get("productId") or 0)
                xml_id = self._xml_ids.get(product_id)
                if xml_id:
                    snap.product_xml_ids[product_id] = xml_id
                elif self._articles.get(product_id):
                    snap.product_articles[product_id] = str(self._articles[product_id])
            manager = self._users.get(int(snap.item.get("assignedById") or 0))
            snap.manager = manager[1] if manager is not None else None

    async def _load_users(self, user_ids: Sequence[int], now: float) -> None:
        """The responsible users (name, e-mail); a portal without the ``user`` scope: skipped, logged once."""
        try:
            answers = await self.client.call_many("user.get", [{"FILTER": {"ID": u}} for u in user_ids])
        except BatchError as exc:
            if not all(isinstance(e, AccessDenied) for e in exc.errors.values()):
                raise
            self._user_scope_missing(next(iter(exc.errors.values())))
            return
        for user_id, answer in zip(user_ids, answers, strict=True):
            rows = _list(answer)
            self._users[user_id] = (now, rows[0] if rows else None)

    def _user_scope_missing(self, exc: Exception) -> None:
        self.users_readable = False
        log.warning("user.get refused (%s): managers are not matched by e-mail; grant the user scope", exc)

    async def user_by_email(self, email: str) -> int | None:
        """The active portal user whose e-mail is ``email`` (case-insensitive; lowest id), or None."""
        key = email.strip().casefold()
        now = time.monotonic()
        cached = self._emails.get(key)
        if cached is not None and cached[0] >= now - self.cache_seconds:
            return cached[1]
        if not self.users_readable:
            return None
        try:
            flt = {"EMAIL": email.strip(), "ACTIVE": True}
            rows = await self.client.list_all("user.get", {"FILTER": flt})
        except AccessDenied as exc:
            self._user_scope_missing(exc)
            return None
        return self.remember_email(email, rows)

    async def load(self, invoice_id: int) -> InvoiceSnapshot | None:
        """One invoice with its rows in one batch request (smart), completed from the caches."""
        if self.entity != "smart":
            found = await self.items([invoice_id])
            return (await self.snapshots(found))[0] if found else None
        answer = await self.client.batch(
            [
                BatchCommand("item", "crm.item.get", {"entityTypeId": SMART, "id": invoice_id}),
                BatchCommand(
                    "rows",
                    "crm.item.productrow.list",
                    {"filter": {"=ownerType": "SI", "=ownerId": invoice_id}},
                ),
            ]
        )
        if "item" in answer.errors:
            if isinstance(answer.errors["item"], NotFound):
                return None
            raise answer.errors["item"]
        if "rows" in answer.errors:
            raise answer.errors["rows"]
        snap = InvoiceSnapshot(
            item=dict(answer.results["item"]["item"]), rows=_list(answer.results["rows"], "productRows")
        )
        await self.complete([snap], stale_ok=True)
        return snap

    async def _by_ids(self, method: str, ids: Sequence[int], select: list[str]) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        for block in _chunks(list(ids)):
            rows = await self.client.list_all(method, {"filter": {"@ID": list(block)}, "select": select})
            out.update({int(r["ID"]): r for r in rows})
        return out

    async def requisites_of(self, company_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The first requisite (lowest id) of each company."""
        out: dict[int, dict[str, Any]] = {}
        for block in _chunks(list(company_ids)):
            rows = await self.client.list_all(
                "crm.requisite.list",
                {"filter": {"ENTITY_TYPE_ID": 4, "@ENTITY_ID": list(block)}, "order": {"ID": "ASC"}},
            )
            for row in rows:
                out.setdefault(int(row["ENTITY_ID"]), row)
        return out

    async def _addresses(self, requisite_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        for block in _chunks(list(requisite_ids)):
            rows = await self.client.list_all(
                "crm.address.list", {"filter": {"ENTITY_TYPE_ID": 8, "@ENTITY_ID": list(block), "TYPE_ID": 6}}
            )
            for row in rows:
                out.setdefault(int(row["ENTITY_ID"]), row)
        return out

    async def product_ids(self, xml_ids: Iterable[str]) -> dict[str, int]:
        """Portal product ids by 1C ``Ид`` (``XML_ID``), for the rows 1C sends (found ones cached)."""
        wanted = set(xml_ids)
        missing = sorted(wanted - set(self._product_ids))
        for block in _chunks(missing):
            rows = await self.client.list_all(
                "crm.product.list", {"filter": {"@XML_ID": list(block)}, "select": ["ID", "XML_ID"]}
            )
            for row in sorted(rows, key=lambda r: int(r["ID"])):
                self._product_ids.setdefault(str(row["XML_ID"]), int(row["ID"]))
        return {x: self._product_ids[x] for x in wanted if x in self._product_ids}

    async def find(self, *, xml_id: str | None = None, number: str | None = None) -> dict[str, Any] | None:
        """The invoice with this external code or account number (oldest first), or None."""
        if self.entity == "smart":
            for key, value in (("xmlId", xml_id), ("accountNumber", number)):
                if value:
                    result = await self.client.call(
                        "crm.item.list",
                        {"entityTypeId": SMART, "filter": {key: value}, "order": {"id": "ASC"}},
                    )
                    found = _list(result, "items")
                    if found:
                        return found[0]
            return None
        for key, value in (("XML_ID", xml_id), ("ACCOUNT_NUMBER", number)):
            if value:
                rows = await self.client.list_all("crm.invoice.list", {"filter": {key: value}})
                if rows:
                    return legacy_to_item(rows[0])
        return None

    # -- writes --------------------------------------------------------------------------------

    async def create(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Create an invoice; returns it as the portal answered."""
        if self.entity == "smart":
            result = await self.client.call("crm.item.add", {"entityTypeId": SMART, "fields": fields})
            return dict(result["item"])
        legacy = self._legacy_fields(fields)
        legacy.update(await self._legacy_payer(company=bool(fields.get("companyId"))))
        new_id = int(await self.client.call("crm.invoice.add", {"fields": legacy}))
        return {"id": new_id, **fields}

    async def _legacy_payer(self, *, company: bool) -> dict[str, Any]:
        """``PERSON_TYPE_ID`` and ``PAY_SYSTEM_ID`` an old invoice requires (bitrix24.md §4.2): the
        CRM_COMPANY (or CRM_CONTACT) person type and its first active pay system.

        Raises:
            B24Error: the portal has no such person type or pay system (the write is kept for retry).
        """
        if self._payers is None:
            types = await self.client.call("crm.persontype.list", {})
            systems = await self.client.call("crm.paysystem.list", {})
            self._payers = {}
            for row in _list(types):
                name = str(row.get("NAME") or "")
                if name not in ("CRM_COMPANY", "CRM_CONTACT"):
                    continue
                pay = [
                    int(p["ID"])
                    for p in _list(systems)
                    if str(p.get("PERSON_TYPE_ID")) == str(row["ID"]) and p.get("ACTIVE", "Y") == "Y"
                ]
                pay = pay or [int(p["ID"]) for p in _list(systems) if p.get("ACTIVE", "Y") == "Y"]
                if pay:
                    self._payers[name] = {"PERSON_TYPE_ID": int(row["ID"]), "PAY_SYSTEM_ID": min(pay)}
        wanted = "CRM_COMPANY" if company else "CRM_CONTACT"
        payer = self._payers.get(wanted)
        if payer is None:
            raise B24Error(f"no {wanted} person type with an active pay system in the portal (old invoices)")
        return dict(payer)

    async def update(
        self, snapshot: InvoiceSnapshot, fields: dict[str, Any], rows: list[dict[str, Any]] | None
    ) -> InvoiceSnapshot:
        """Write fields and rows; returns the invoice as the portal answered (no extra read for smart)."""
        invoice_id = int(snapshot.item["id"])
        if self.entity == "smart":
            after = InvoiceSnapshot(item=dict(snapshot.item), rows=list(snapshot.rows))
            if rows is not None:
                answer = await self.client.call(
                    "crm.item.productrow.set", {"ownerType": "SI", "ownerId": invoice_id, "productRows": rows}
                )
                after.rows = _list(answer, "productRows")
                if not fields:
                    fields = {"isManualOpportunity": "N"}  # read back the recomputed amount
            if fields:
                answer = await self.client.call(
                    "crm.item.update", {"entityTypeId": SMART, "id": invoice_id, "fields": fields}
                )
                after.item = dict(answer["item"])
            await self.complete([after], stale_ok=True)
            return after
        legacy = self._legacy_fields(fields)
        if rows is not None:
            legacy["PRODUCT_ROWS"] = [
                {
                    "PRODUCT_ID": r["productId"],
                    "PRODUCT_NAME": r["productName"],
                    "PRICE": r["price"],
                    "QUANTITY": r["quantity"],
                    "VAT_RATE": (r["taxRate"] or 0) / 100,
                    "VAT_INCLUDED": r["taxIncluded"],
                    "MEASURE_CODE": r["measureCode"],
                }
                for r in rows
            ]
        if legacy:
            await self.client.call("crm.invoice.update", {"id": invoice_id, "fields": legacy})
        fresh = await self.load(invoice_id)
        return fresh if fresh is not None else snapshot

    @staticmethod
    def _legacy_fields(fields: dict[str, Any]) -> dict[str, Any]:
        back = {v: k for k, v in _LEGACY_ITEM.items()}
        back.update(
            {
                "ufCrm1cPaymentNumber": "PAY_VOUCHER_NUM",
                "ufCrm1cPaymentDate": "PAY_VOUCHER_DATE",
                "companyId": "UF_COMPANY_ID",
            }
        )
        out: dict[str, Any] = {}
        for key, value in fields.items():
            if key in back:
                out[back[key]] = value
            elif key.startswith("ufCrm"):
                out["UF_CRM_" + key.removeprefix("ufCrm").upper()] = value
        if "contactIds" in fields and fields["contactIds"]:
            out["UF_CONTACT_ID"] = fields["contactIds"][0]
        return out
