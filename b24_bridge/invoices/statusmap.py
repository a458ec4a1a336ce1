"""The status-mapping table: Bitrix24 invoice stages <-> 1C order statuses, plus the 1C-event rules.

Pure: pydantic models, validation against the portal's real stages, defaults and diffs. No I/O.

A row maps one portal stage (``DT31_5:N`` for smart invoices, ``N`` for old ones) to the site status
1C sees: ``code`` goes into ``Статуса заказа ИД`` and ``mode=info``, ``name`` into ``Статус заказа``
(``[code] name``). The rules say what 1C's facts do to an invoice (protocol.md §9.9-§9.10):

* full payment (``Дата оплаты по 1С`` without a smaller paid amount) -> ``paid_stage``;
* partial payment (``Сумма оплаты по 1С`` below the total) -> the share kept in ``paid_share_field``,
  the stage unchanged unless ``partial_stage`` is set;
* shipment (``Дата отгрузки по 1С`` or ``Отгружен``) -> ``shipped_stage`` (None: stage unchanged);
* cancellation (``Отменен`` / ``ПометкаУдаления``) -> ``cancelled_stage``;
* otherwise, when ``status_from_1c`` is on, 1C's ``Статуса заказа ИД`` through the rows.

Precedence when one document carries several facts: cancellation, shipment, full payment, status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "PortalStage",
    "Problem",
    "StatusMap",
    "StatusRow",
    "StatusRules",
    "check",
    "default_map",
    "diff",
]

_CODE: Final = re.compile(r"^[A-Za-z0-9_]{1,32}$")


@dataclass(frozen=True, slots=True)
class PortalStage:
    """A stage (smart invoice) or status (old invoice) as ``crm.status.list`` reports it."""

    id: str
    name: str
    sort: int
    semantics: str | None  # "S" success, "F" failure, None in progress


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding of :func:`check`: ``error`` blocks saving the map, ``warning`` does not."""

    level: Literal["error", "warning"]
    message: str


class StatusRow(BaseModel):
    """One line of the table: a portal stage and the site status 1C sees for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stage: str = Field(min_length=1, description="Bitrix24 stage/status id, e.g. DT31_5:P or P.")
    code: str = Field(description="Site status code for 1C (Статуса заказа ИД, mode=info Ид).")
    name: str = Field(min_length=1, description="Status name for 1C (Статус заказа, mode=info Название).")
    status_1c: str | None = Field(default=None, description="The 1C order status it corresponds to.")

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not _CODE.match(value):
            raise ValueError(f"status code {value!r} must be 1-32 latin letters, digits or '_'")
        return value


class StatusRules(BaseModel):
    """What 1C's payment, shipment and cancellation do to an invoice, and where facts are kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    paid_stage: str | None = Field(
        default=None, description="Stage on full payment; None: the success stage."
    )
    partial_stage: str | None = Field(default=None, description="Stage on partial payment; None: unchanged.")
    shipped_stage: str | None = Field(default=None, description="Stage on shipment; None: unchanged.")
    cancelled_stage: str | None = Field(
        default=None, description="Stage on cancellation; None: the failure stage."
    )
    status_from_1c: bool = Field(default=True, description="Apply 1C's Статуса заказа ИД through the rows.")
    paid_share_field: str = Field(default="ufCrm1cPaidShare", description="Invoice field for the % paid.")
    payment_number_field: str = Field(default="ufCrm1cPaymentNumber")
    payment_date_field: str = Field(default="ufCrm1cPaymentDate")
    shipment_date_field: str = Field(default="ufCrm1cShipmentDate")
    shipment_number_field: str = Field(default="ufCrm1cShipmentNumber")


class StatusMap(BaseModel):
    """The whole table: which invoice API and pipeline, the rows, the rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity: Literal["smart", "legacy"] = "smart"
    category_id: int | None = Field(
        default=None, description="Smart-invoice pipeline; None: the default one."
    )
    rows: tuple[StatusRow, ...] = ()
    rules: StatusRules = StatusRules()

    def row_for_stage(self, stage: str) -> StatusRow | None:
        return next((r for r in self.rows if r.stage == stage), None)

    def row_for_code(self, code: str) -> StatusRow | None:
        return next((r for r in self.rows if r.code == code), None)

    def row_for_name(self, name: str) -> StatusRow | None:
        folded = name.strip().casefold()
        return next(
            (r for r in self.rows if r.name.casefold() == folded or (r.status_1c or "").casefold() == folded),
            None,
        )

    def info_statuses(self) -> list[tuple[str, str]]:
        """``(code, name)`` pairs for ``mode=info``, one per code, in table order."""
        seen: dict[str, str] = {}
        for row in self.rows:
            seen.setdefault(row.code, row.name)
        return list(seen.items())


def _success(stages: list[PortalStage]) -> str | None:
    return next((s.id for s in stages if s.semantics == "S"), None)


def _failure(stages: list[PortalStage]) -> str | None:
    return next((s.id for s in stages if s.semantics == "F"), None)


def effective_stage(
    status_map: StatusMap, rule: Literal["paid", "cancelled"], stages: list[PortalStage]
) -> str | None:
    """The configured stage of a rule, or the portal's success/failure stage when left empty."""
    if rule == "paid":
        return status_map.rules.paid_stage or _success(stages)
    return status_map.rules.cancelled_stage or _failure(stages)


def default_map(
    stages: list[PortalStage], *, entity: Literal["smart", "legacy"] = "smart", category_id: int | None = None
) -> StatusMap:
    """One row per portal stage: code = the part after ``:`` (``DT31_5:P`` -> ``P``), name = its name."""
    rows = []
    for stage in sorted(stages, key=lambda s: (s.sort, s.id)):
        code = re.sub(r"[^A-Za-z0-9_]", "_", stage.id.rsplit(":", 1)[-1])[:32] or "X"
        rows.append(StatusRow(stage=stage.id, code=code, name=stage.name))
    return StatusMap(entity=entity, category_id=category_id, rows=tuple(rows))


def check(status_map: StatusMap, stages: list[PortalStage]) -> list[Problem]:
    """Validate the table against the portal's real stages.

    Errors: a stage the portal does not have (in a row or a rule), a stage or a code listed twice.
    Warnings: portal stages no row maps (invoices there reach 1C without a status).
    """
    known = {s.id: s for s in stages}
    problems: list[Problem] = []
    seen_stages: set[str] = set()
    seen_codes: dict[str, str] = {}
    for index, row in enumerate(status_map.rows, 1):
        if row.stage not in known:
            problems.append(
                Problem(
                    "error",
                    f"row {index}: unknown stage {row.stage!r}; the portal has "
                    f"{', '.join(sorted(known)) or 'no stages'}",
                )
            )
        if row.stage in seen_stages:
            problems.append(Problem("error", f"row {index}: stage {row.stage!r} is mapped twice"))
        seen_stages.add(row.stage)
        if row.code in seen_codes and seen_codes[row.code] != row.name:
            problems.append(
                Problem("error", f"row {index}: code {row.code!r} is used twice with different names")
            )
        elif row.code in seen_codes:
            problems.append(Problem("error", f"row {index}: code {row.code!r} is used twice"))
        seen_codes[row.code] = row.name
    rules = status_map.rules
    for name in ("paid_stage", "partial_stage", "shipped_stage", "cancelled_stage"):
        value = getattr(rules, name)
        if value is not None and value not in known:
            problems.append(Problem("error", f"rules.{name}: unknown stage {value!r}"))
    if rules.paid_stage is None and _success(stages) is None:
        problems.append(Problem("error", "rules.paid_stage is empty and the portal has no success stage"))
    if rules.cancelled_stage is None and _failure(stages) is None:
        problems.append(
            Problem("error", "rules.cancelled_stage is empty and the portal has no failure stage")
        )
    for stage in stages:
        if stage.id not in seen_stages:
            problems.append(
                Problem("warning", f"stage {stage.id!r} ({stage.name}) is not mapped to a 1C status")
            )
    return problems


def diff(old: StatusMap | None, new: StatusMap) -> dict[str, Any]:
    """What changed, for the journal: rows added/removed/changed by stage, rules and header fields."""
    before = old.model_dump(mode="json") if old is not None else {"rows": [], "rules": {}}
    after = new.model_dump(mode="json")
    old_rows = {r["stage"]: r for r in before.get("rows", [])}
    new_rows = {r["stage"]: r for r in after["rows"]}
    out: dict[str, Any] = {
        "rows_added": [new_rows[k] for k in new_rows if k not in old_rows],
        "rows_removed": [old_rows[k] for k in old_rows if k not in new_rows],
        "rows_changed": [
            {"stage": k, "from": old_rows[k], "to": new_rows[k]}
            for k in new_rows
            if k in old_rows and old_rows[k] != new_rows[k]
        ],
        "rules": {
            k: {"from": before.get("rules", {}).get(k), "to": v}
            for k, v in after["rules"].items()
            if before.get("rules", {}).get(k) != v
        },
    }
    for key in ("entity", "category_id"):
        if before.get(key) != after[key]:
            out[key] = {"from": before.get(key), "to": after[key]}
    return {k: v for k, v in out.items() if v}


def stages_from_statuses(rows: list[dict[str, Any]]) -> list[PortalStage]:
    """``crm.status.list`` rows -> stages (``SEMANTICS`` S/F/None)."""
    out = []
    for row in rows:
        semantics = row.get("SEMANTICS")
        out.append(
            PortalStage(
                id=str(row["STATUS_ID"]),
                name=str(row.get("NAME") or row["STATUS_ID"]),
                sort=int(row.get("SORT") or 0),
                semantics=str(semantics) if semantics in ("S", "F") else None,
            )
        )
    return out
