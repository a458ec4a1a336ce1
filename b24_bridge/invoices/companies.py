"""Find-or-create the company of a 1C counterparty by ИНН (+КПП), never creating a duplicate.

bitrix24.md §5.4: the portal never refuses a duplicate ИНН, and two concurrent creates both succeed,
so the lookup and the create run under a lock per ИНН. Lookup: requisites of companies with this ИНН
(and the КПП when both sides have one; an ИП's 12-digit ИНН has no КПП). One company found: used.
None: a company and its requisite (+ legal address) are created. Several: reported as a warning and
none created; the oldest is used so the invoice still has a client.

Smart invoices run the same rules inside two batch requests (:mod:`b24_bridge.invoices.creation`,
which uses the pure helpers below and the same per-ИНН locks); :meth:`CompanyResolver.resolve` is
the legacy invoices' path.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from b24_bridge.client import B24Client
from commerceml.model import Counterparty

__all__ = [
    "CompanyMatch",
    "CompanyResolver",
    "address_fields",
    "company_fields",
    "matching_companies",
    "requisite_fields",
    "requisite_lookup",
    "shared_inn_warning",
]

log = logging.getLogger(__name__)
PRESET_COMPANY = "#CRM_REQUISITE_PRESET_DEF_RU_COMPANY#"
PRESET_INDIVIDUAL = "#CRM_REQUISITE_PRESET_DEF_RU_INDIVIDUAL#"


@dataclass(frozen=True, slots=True)
class CompanyMatch:
    company_id: int | None
    created: bool = False
    warning: str | None = None


def address_fields(party: Counterparty) -> dict[str, Any] | None:
    address = party.legal_address or party.registration_address or party.address
    if address is None:
        return None
    by_type = {f.type: f.value for f in address.fields}
    out = {
        "ADDRESS_1": by_type.get("Улица") or address.presentation,
        "CITY": by_type.get("Город") or by_type.get("Населенный пункт"),
        "POSTAL_CODE": by_type.get("Почтовый индекс"),
        "REGION": by_type.get("Регион"),
        "COUNTRY": by_type.get("Страна"),
    }
    out = {k: v for k, v in out.items() if v}
    return out or None


class CompanyResolver:
    """Companies by ИНН; one instance per process (the locks live here)."""

    def __init__(self, client: B24Client) -> None:
        self.client = client
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._presets: dict[str, int] | None = None

    def lock(self, inn: str) -> asyncio.Lock:
        """The lock that serializes find-or-create for one ИНН (every path takes it)."""
        return self._locks[inn.strip()]

    @property
    def presets_known(self) -> bool:
        return self._presets is not None

    def remember_presets(self, rows: Any) -> None:
        """``crm.requisite.preset.list`` rows (read elsewhere, e.g. inside a batch)."""
        self._presets = {str(r.get("XML_ID")): int(r["ID"]) for r in rows or [] if isinstance(r, dict)}

    def preset_id(self, inn: str) -> int:
        """The requisite preset for this ИНН (ИП for 12 digits); call after the presets are known."""
        xml_id = PRESET_INDIVIDUAL if len(inn) == 12 else PRESET_COMPANY
        presets = self._presets or {}
        return presets.get(xml_id) or min(presets.values(), default=1)

    async def find(self, inn: str, kpp: str | None) -> list[int]:
        rows = await self.client.list_all("crm.requisite.list", requisite_lookup(inn))
        return matching_companies(rows, inn, kpp)

    async def resolve(self, party: Counterparty) -> CompanyMatch:
        """The company for ``party`` (a legal entity or ИП with an ИНН); created when missing."""
        inn = (party.inn or "").strip()
        if not inn:
            return CompanyMatch(None, warning=f"counterparty {party.id or party.name!r} has no ИНН")
        kpp = (party.kpp or "").strip() or None
        async with self._locks[inn]:
            found = await self.find(inn, kpp)
            if len(found) == 1:
                return CompanyMatch(found[0])
            if len(found) > 1:
                warning = shared_inn_warning(found, inn, kpp)
                log.warning(warning)
                return CompanyMatch(found[0], warning=warning)
            return CompanyMatch(await self._create(party, inn, kpp), created=True)

    async def _create(self, party: Counterparty, inn: str, kpp: str | None) -> int:
        company_id = int(await self.client.call("crm.company.add", {"fields": company_fields(party, inn)}))
        if not self.presets_known:
            self.remember_presets(await self.client.call("crm.requisite.preset.list", {}))
        requisite = {**requisite_fields(party, inn, kpp, self.preset_id(inn)), "ENTITY_ID": company_id}
        requisite_id = int(await self.client.call("crm.requisite.add", {"fields": requisite}))
        address = address_fields(party)
        if address:
            await self.client.call(
                "crm.address.add",
                {"fields": {"TYPE_ID": 6, "ENTITY_TYPE_ID": 8, "ENTITY_ID": requisite_id, **address}},
            )
        log.info("company %s created for ИНН %s", company_id, inn)
        return company_id


def requisite_lookup(inn: str) -> dict[str, Any]:
    """``crm.requisite.list`` parameters of the ИНН lookup (companies only, oldest requisite first)."""
    return {
        "filter": {"ENTITY_TYPE_ID": 4, "RQ_INN": inn},
        "select": ["ID", "ENTITY_ID", "RQ_INN", "RQ_KPP"],
        "order": {"ID": "ASC"},
    }


def matching_companies(rows: list[dict[str, Any]], inn: str, kpp: str | None) -> list[int]:
    """Companies (ids, oldest first) whose requisite rows match ИНН and, for a legal entity, КПП.

    A 10-digit ИНН with a КПП: requisites with that КПП, else requisites without a КПП; an ИП's
    12-digit ИНН has no КПП.
    """
    rows = [r for r in rows if str(r.get("RQ_INN") or "").strip() == inn]
    if kpp and len(inn) == 10:
        same = [r for r in rows if str(r.get("RQ_KPP") or "") == kpp]
        rows = same or [r for r in rows if not r.get("RQ_KPP")]
    return sorted({int(r["ENTITY_ID"]) for r in rows})


def shared_inn_warning(found: list[int], inn: str, kpp: str | None) -> str:
    return (
        f"companies {', '.join(map(str, found))} already share ИНН {inn}"
        f"{' КПП ' + kpp if kpp else ''}; none created, the oldest ({found[0]}) is used"
    )


def company_fields(party: Counterparty, inn: str) -> dict[str, Any]:
    """``crm.company.add`` fields of a 1C counterparty (``ORIGIN_ID``: its 1C Ид, the lookup key)."""
    title = party.official_name or party.full_name or party.name or f"ИНН {inn}"
    fields: dict[str, Any] = {
        "TITLE": party.name or title,
        "COMPANY_TYPE": "CUSTOMER",
        "ORIGINATOR_ID": "1C",
    }
    if party.id:
        fields["ORIGIN_ID"] = party.id
    phones = [c.value for c in party.contacts if "телефон" in c.type.casefold()]
    emails = [c.value for c in party.contacts if "почт" in c.type.casefold() or "mail" in c.type.casefold()]
    if phones:
        fields["PHONE"] = [{"VALUE": v, "VALUE_TYPE": "WORK"} for v in phones]
    if emails:
        fields["EMAIL"] = [{"VALUE": v, "VALUE_TYPE": "WORK"} for v in emails]
    return fields


def requisite_fields(party: Counterparty, inn: str, kpp: str | None, preset_id: int) -> dict[str, Any]:
    """``crm.requisite.add`` fields without ``ENTITY_ID`` (the company: an id or a batch reference)."""
    title = party.official_name or party.full_name or party.name or f"ИНН {inn}"
    individual = len(inn) == 12
    requisite: dict[str, Any] = {
        "ENTITY_TYPE_ID": 4,
        "PRESET_ID": preset_id,
        "NAME": "ИП" if individual else "Организация",
        "RQ_INN": inn,
        "RQ_COMPANY_NAME": party.name or title,
        "RQ_COMPANY_FULL_NAME": title,
    }
    if party.id:
        requisite["XML_ID"] = party.id
    if kpp:
        requisite["RQ_KPP"] = kpp
    if party.okpo:
        requisite["RQ_OKPO"] = party.okpo
    return requisite
