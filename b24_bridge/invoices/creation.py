"""Orders created in 1C: find or create their smart invoice, and its company, in two requests.

Theory of operation
-------------------
At the standard plan's 2 requests/s each request waits 0.5 s once the bucket is full, so the number
of requests in a row *is* the latency of an upload (docs/performance.md, Invoices). An order 1C
created, with no link yet, costs:

1. One ``batch`` of reads (``halt=0``): the invoice by ``xmlId`` and by account number, the
   requisites with the counterparty's ИНН, the companies whose ``ORIGIN_ID`` is the counterparty's 1C
   Ид, the requisite presets (once per process), the manager by e-mail and the products by
   ``XML_ID`` (both cached afterwards).
2. An invoice found: the caller loads it and updates it like any linked invoice.
3. Else one ``batch`` of writes (``halt=1``: stops at the first refused command) chained with
   ``$result[...]`` references: ``crm.company.add`` -> ``crm.requisite.add``
   (``ENTITY_ID=$result[company]``) -> ``crm.address.add`` -> ``crm.item.add``
   (``companyId=$result[company]``; stage and payment fields already decided) ->
   ``crm.item.productrow.set`` -> ``crm.item.get`` (the amount the portal recomputed from the rows);
   then reads of the company, its requisite and legal address in the very shapes the export reads
   (cached: no read-back request, and the next poll sees no difference), and of the responsible user.

Guarantees
----------
* Never a duplicate company: steps 1 to 3 run under the per-ИНН lock of
  :class:`~b24_bridge.invoices.companies.CompanyResolver` (the legacy path takes the same lock).
  Several companies already sharing the ИНН: the oldest is used and a warning reported; none created.
* A lost answer (timeout, reset, gateway page after the commit): the client never repeats a batch
  holding creates (:class:`~b24_bridge.errors.AmbiguousWrite`); the caller runs step 1 again, which
  tells what exists: an invoice found by ``xmlId`` is updated (rows and fields set when missing), a
  company found by ИНН is used, only what is missing is created.
* A refused command: what ran before it stays. :class:`PartialCreate` names it (logged, in the status
  warnings, kept as the order's pending error for the retry). The next attempt completes it: an
  invoice without rows is found by its link or ``xmlId`` and gets them; a company left without its
  requisite (an *orphan*) is found by ``ORIGIN_ID`` (or, for a counterparty without an Ид, by the id
  the sync remembered in the database), checked to have no requisite, and given one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from b24_bridge.batch import MAX_BATCH, BatchCommand
from b24_bridge.client import B24Client, BatchResult
from b24_bridge.errors import AccessDenied, ApiError, B24Error, BatchError
from b24_bridge.invoices.companies import (
    CompanyResolver,
    address_fields,
    company_fields,
    matching_companies,
    requisite_fields,
    requisite_lookup,
    shared_inn_warning,
)
from b24_bridge.invoices.mapping import InvoiceSnapshot
from b24_bridge.invoices.portal import InvoicePortal
from commerceml.model import Counterparty, Document

__all__ = [
    "CompanyPlan",
    "Created",
    "Found",
    "InvoiceCreator",
    "Party",
    "PartialCreate",
    "create_commands",
    "lookup_commands",
    "plan_company",
]

log = logging.getLogger(__name__)
SMART: Final = 31
_STEPS: Final = {
    "company": "company created",
    "requisite": "requisite added",
    "address": "legal address added",
    "invoice": "invoice created",
    "rows": "product rows set",
}


@dataclass(frozen=True, slots=True)
class Party:
    """The counterparty an order names (the first one), when it has an ИНН."""

    counterparty: Counterparty
    inn: str
    kpp: str | None

    @classmethod
    def of(cls, doc: Document) -> Party | None:
        party = doc.counterparties[0] if doc.counterparties else None
        inn = (party.inn or "").strip() if party is not None else ""
        if party is None or not inn:
            return None
        return cls(party, inn, (party.kpp or "").strip() or None)


@dataclass(slots=True)
class Found:
    """What step 1 found."""

    invoice: dict[str, Any] | None = None
    companies: list[int] = field(default_factory=list)  # matching ИНН (+КПП), oldest first
    origin: list[int] = field(default_factory=list)  # ORIGIN_ID = the counterparty's 1C Ид
    manager_id: int | None = None
    product_ids: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CompanyPlan:
    """The company of a new invoice: existing (``company_id``), or created (``create``), and whether
    a requisite must be added (a new company, or an orphan left by an earlier refused batch)."""

    company_id: int | None = None
    create: bool = False
    add_requisite: bool = False
    warning: str | None = None

    @property
    def ref(self) -> int | str | None:
        """The company id, or the batch reference to the one created in the same batch."""
        return "$result[company]" if self.create else self.company_id


@dataclass(frozen=True, slots=True)
class Created:
    snapshot: InvoiceSnapshot
    company_id: int | None


class PartialCreate(B24Error):
    """The write batch stopped at a refused command; what ran before it exists in the portal."""

    def __init__(
        self,
        doc_id: str,
        failed: str,
        error: ApiError,
        done: Sequence[str],
        *,
        company_id: int | None,
        invoice_id: int | None,
    ) -> None:
        steps = ", ".join(_STEPS.get(d, d) for d in done if d in _STEPS) or "nothing written"
        ids = [f"company {company_id}" if company_id else "", f"invoice {invoice_id}" if invoice_id else ""]
        named = ", ".join(i for i in ids if i)
        super().__init__(
            f"order {doc_id}: the portal refused {failed!r} ({error}); done before it: {steps}"
            f"{' (' + named + ')' if named else ''}; the next attempt completes it"
        )
        self.failed = failed
        self.error = error
        self.done = tuple(done)
        self.company_id = company_id
        self.invoice_id = invoice_id

    @property
    def orphan(self) -> bool:
        """A company exists without the requisite that makes it findable by ИНН."""
        return self.company_id is not None and "company" in self.done and "requisite" not in self.done


def _rows(result: Any, key: str | None = None) -> list[dict[str, Any]]:
    if isinstance(result, dict) and key is not None:
        result = result.get(key, [])
    return [r for r in (result or []) if isinstance(r, dict)]


def lookup_commands(
    doc: Document,
    party: Party | None,
    *,
    by_number: bool,
    email: str | None,
    products: Sequence[str],
    presets: bool,
) -> list[BatchCommand]:
    """Step 1's reads (at most 50 commands: products beyond them are left to the usual lookup)."""
    commands = [
        BatchCommand(
            "by_xml",
            "crm.item.list",
            {"entityTypeId": SMART, "filter": {"xmlId": doc.id}, "order": {"id": "ASC"}},
        )
    ]
    number = (doc.number or "").strip()
    if by_number and number:
        commands.append(
            BatchCommand(
                "by_number",
                "crm.item.list",
                {"entityTypeId": SMART, "filter": {"accountNumber": number}, "order": {"id": "ASC"}},
            )
        )
    if party is not None:
        commands.append(BatchCommand("rq", "crm.requisite.list", requisite_lookup(party.inn)))
        if party.counterparty.id:
            commands.append(
                BatchCommand(
                    "origin",
                    "crm.company.list",
                    {
                        "filter": {"ORIGIN_ID": party.counterparty.id, "ORIGINATOR_ID": "1C"},
                        "select": ["ID"],
                        "order": {"ID": "ASC"},
                    },
                )
            )
        if presets:
            commands.append(BatchCommand("presets", "crm.requisite.preset.list", {}))
    if email:
        commands.append(BatchCommand("manager", "user.get", {"FILTER": {"EMAIL": email, "ACTIVE": True}}))
    room = MAX_BATCH - len(commands)
    for index in range(min(room, -(-len(products) // MAX_BATCH))):
        block = list(products[index * MAX_BATCH : (index + 1) * MAX_BATCH])
        commands.append(
            BatchCommand(
                f"products{index}",
                "crm.product.list",
                {"filter": {"@XML_ID": block}, "select": ["ID", "XML_ID"], "order": {"ID": "ASC"}},
            )
        )
    return commands


def plan_company(found: Found, party: Party, orphans: Sequence[int]) -> CompanyPlan:
    """Use the one match; report several (oldest used); else complete an orphan; else create."""
    if len(found.companies) == 1:
        return CompanyPlan(found.companies[0])
    if found.companies:
        return CompanyPlan(
            found.companies[0], warning=shared_inn_warning(found.companies, party.inn, party.kpp)
        )
    if orphans:
        return CompanyPlan(min(orphans), add_requisite=True)
    return CompanyPlan(create=True, add_requisite=True)


def create_commands(
    party: Party | None,
    company: CompanyPlan | None,
    fields: dict[str, Any],
    rows: list[dict[str, Any]] | None,
    *,
    preset_id: int,
    read_company: bool,
    user: int | str | None,
) -> list[BatchCommand]:
    """Step 3's writes, chained by references (run with ``halt=1``)."""
    commands: list[BatchCommand] = []
    company_ref = company.ref if company is not None else None
    if party is not None and company is not None and company.create:
        commands.append(
            BatchCommand(
                "company", "crm.company.add", {"fields": company_fields(party.counterparty, party.inn)}
            )
        )
    if party is not None and company is not None and company.add_requisite:
        requisite = requisite_fields(party.counterparty, party.inn, party.kpp, preset_id)
        commands.append(
            BatchCommand(
                "requisite", "crm.requisite.add", {"fields": {**requisite, "ENTITY_ID": company_ref}}
            )
        )
        address = address_fields(party.counterparty)
        if address:
            commands.append(
                BatchCommand(
                    "address",
                    "crm.address.add",
                    {
                        "fields": {
                            "TYPE_ID": 6,
                            "ENTITY_TYPE_ID": 8,
                            "ENTITY_ID": "$result[requisite]",
                            **address,
                        }
                    },
                )
            )
    item_fields = dict(fields)
    if company_ref is not None:
        item_fields["companyId"] = company_ref
    commands.append(BatchCommand("invoice", "crm.item.add", {"entityTypeId": SMART, "fields": item_fields}))
    last = "invoice"
    if rows is not None:
        owner = "$result[invoice][item][id]"
        commands.append(
            BatchCommand(
                "rows", "crm.item.productrow.set", {"ownerType": "SI", "ownerId": owner, "productRows": rows}
            )
        )
        commands.append(BatchCommand("item", "crm.item.get", {"entityTypeId": SMART, "id": owner}))
        last = "item"
    if read_company and company_ref is not None:
        commands += [
            BatchCommand(
                "co_read",
                "crm.company.list",
                {"filter": {"@ID": [company_ref]}, "select": ["*", "PHONE", "EMAIL"]},
            ),
            BatchCommand(
                "rq_read",
                "crm.requisite.list",
                {"filter": {"ENTITY_TYPE_ID": 4, "@ENTITY_ID": [company_ref]}, "order": {"ID": "ASC"}},
            ),
            BatchCommand(
                "ad_read",
                "crm.address.list",
                {"filter": {"ENTITY_TYPE_ID": 8, "@ENTITY_ID": ["$result[rq_read][0][ID]"], "TYPE_ID": 6}},
            ),
        ]
    if user is not None:
        user_id = user if user != "assigned" else f"$result[{last}][item][assignedById]"
        commands.append(BatchCommand("user", "user.get", {"FILTER": {"ID": user_id}}))
    return commands


class InvoiceCreator:
    """Steps 1 and 3 over one client; the portal's and the resolver's caches are fed from the batches."""

    def __init__(self, client: B24Client, portal: InvoicePortal, companies: CompanyResolver) -> None:
        self.client = client
        self.portal = portal
        self.companies = companies

    def _user_errors(self, answer: BatchResult, key: str) -> dict[str, ApiError]:
        """The errors of a batch; a refused ``user.get`` (no ``user`` scope) only turns users off."""
        errors = dict(answer.errors)
        if key in errors and isinstance(errors[key], AccessDenied):
            self.portal.users_refused(errors.pop(key))
        return errors

    async def lookup(
        self, doc: Document, party: Party | None, *, by_number: bool, email: str | None
    ) -> Found:
        """Step 1 in one request (rare overflows: the invoice's or ИНН's list past 50 rows, paged after).

        Raises:
            BatchError: a read was refused (the order stays pending).
        """
        known, manager_id = self.portal.cached_email(email) if email else (True, None)
        wanted = [line.id for line in doc.lines if not line.is_delivery]
        missing = self.portal.missing_products(wanted)
        commands = lookup_commands(
            doc,
            party,
            by_number=by_number,
            email=email if email and not known and self.portal.users_readable else None,
            products=missing,
            presets=party is not None and not self.companies.presets_known,
        )
        answer = await self.client.batch(commands)
        errors = self._user_errors(answer, "manager")
        if errors:
            raise BatchError(errors, answer.results)
        results = answer.results
        found = Found()
        for key in ("by_xml", "by_number"):
            items = _rows(results.get(key), "items")
            if items:
                found.invoice = items[0]
                break
        if party is not None:
            rows = _rows(results.get("rq"))
            if "rq" in answer.nexts:
                rows = await self.client.list_all("crm.requisite.list", requisite_lookup(party.inn))
            found.companies = matching_companies(rows, party.inn, party.kpp)
            found.origin = sorted(int(r["ID"]) for r in _rows(results.get("origin")))
            if "presets" in results:
                self.companies.remember_presets(results["presets"])
        if "manager" in results and email:
            if "manager" in answer.nexts:
                manager_id = await self.portal.user_by_email(email)
            else:
                manager_id = self.portal.remember_email(email, _rows(results["manager"]))
        found.manager_id = manager_id
        for command in commands:
            if command.id.startswith("products"):
                if command.id in answer.nexts:  # one 1C Ид on 50+ products: page through them
                    products = await self.client.list_all(command.method, command.params)
                else:
                    products = _rows(results.get(command.id))
                self.portal.remember_products(products)
        included = sum(1 for c in commands if c.id.startswith("products"))
        if included * MAX_BATCH < len(missing):  # more products than the batch had room for
            await self.portal.product_ids(missing[included * MAX_BATCH :])
        found.product_ids = self.portal.known_product_ids(wanted)
        return found

    async def orphans(self, candidates: Sequence[int]) -> list[int]:
        """Of these companies, the existing ones without any requisite (one request)."""
        if not candidates:
            return []
        ids = sorted(set(candidates))
        answer = await self.client.batch(
            [
                BatchCommand("co", "crm.company.list", {"filter": {"@ID": ids}, "select": ["ID"]}),
                BatchCommand(
                    "rq",
                    "crm.requisite.list",
                    {"filter": {"ENTITY_TYPE_ID": 4, "@ENTITY_ID": ids}, "select": ["ID", "ENTITY_ID"]},
                ),
            ]
        )
        answer.raise_for_errors()
        existing = {int(r["ID"]) for r in _rows(answer.results.get("co"))}
        with_requisite = {int(r["ENTITY_ID"]) for r in _rows(answer.results.get("rq"))}
        return sorted(existing - with_requisite)

    async def create(
        self,
        doc: Document,
        party: Party | None,
        company: CompanyPlan | None,
        fields: dict[str, Any],
        rows: list[dict[str, Any]] | None,
    ) -> Created:
        """Step 3 in one request.

        Raises:
            PartialCreate: a command was refused; what ran before it is named.
            AmbiguousWrite: the answer was lost (the caller looks up again before anything else).
        """
        company_id = company.company_id if company is not None else None
        read_company = company is not None and (
            company.create or company.add_requisite or not self.portal.has_company(company_id or 0)
        )
        manager = fields.get("assignedById")
        user: int | str | None = None
        if self.portal.users_readable:
            if manager is None:
                user = "assigned"  # the portal's default responsible: read it by reference
            elif not self.portal.has_user(int(manager)):
                user = int(manager)
        commands = create_commands(
            party,
            company,
            fields,
            rows,
            preset_id=self.companies.preset_id(party.inn) if party is not None else 1,
            read_company=read_company,
            user=user,
        )
        answer = await self.client.batch(commands, halt=True)
        errors = self._user_errors(answer, "user")
        results = answer.results
        if "company" in results:
            company_id = int(results["company"])
        invoice = results.get("invoice")
        invoice_id = int(invoice["item"]["id"]) if isinstance(invoice, dict) else None
        if errors:
            failed = next(c.id for c in commands if c.id in errors)
            raise PartialCreate(
                doc.id,
                failed,
                errors[failed],
                [c.id for c in commands if c.id in results],
                company_id=company_id,
                invoice_id=invoice_id,
            )
        item = results["item"]["item"] if "item" in results else results["invoice"]["item"]
        snapshot = InvoiceSnapshot(item=dict(item), rows=_rows(results.get("rows"), "productRows"))
        if company_id is not None and "co_read" in results:
            requisite = next(iter(_rows(results.get("rq_read"))), None)
            address = next(iter(_rows(results.get("ad_read"))), None)
            self.portal.remember_company(
                company_id, next(iter(_rows(results.get("co_read"))), None), requisite, address
            )
        if "user" in results:
            users = _rows(results["user"])
            assigned = int(snapshot.item.get("assignedById") or 0)
            self.portal.remember_user(assigned, users[0] if users else None)
        await self.portal.complete([snapshot], stale_ok=True)  # from the caches just filled: no request
        log.info(
            "order %s from 1C: invoice %s created in one batch (company %s%s)",
            doc.id,
            snapshot.item.get("id"),
            company_id,
            ", new" if company is not None and company.create else "",
        )
        return Created(snapshot, company_id)
