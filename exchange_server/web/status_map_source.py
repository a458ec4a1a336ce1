"""The status-map page's source over the invoice sync (``b24_bridge.invoices``, issue 6).

The page edits the rows; the rest of the map in force (invoice API, pipeline, rules) is kept as it is.
Validation is the invoice sync's own: each row through ``b24_bridge.invoices.StatusRow`` (pydantic:
code format, empty name), then the whole map through :meth:`InvoiceSync.check_map` (against the
portal's real stages: unknown stage, stage or code listed twice, rules). Saving goes through
:meth:`InvoiceSync.set_map`: in force at once and journaled under the operator's login, exactly as
``PUT /api/status-map``.

``check`` names a row's problem as ``row N: ...`` (1-based); :func:`split_problems` puts each such
message next to its row and keeps the others as errors of the whole map.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from pydantic import ValidationError

from b24_bridge.invoices.statusmap import Problem, StatusMap
from b24_bridge.invoices.statusmap import StatusRow as MapRow
from b24_bridge.invoices.sync import InvoiceSync
from exchange_server.web.extensions import SaveOutcome, StageChoice, StatusRow

__all__ = ["InvoiceStatusMap", "split_problems"]

_ROW: Final = re.compile(r"^row (\d+): (.*)$", re.DOTALL)


def split_problems(problems: Sequence[Problem], rows: int) -> SaveOutcome:
    """Errors of ``row N:`` go to row ``N-1``; other errors to the map; warnings apart."""
    row_errors: dict[int, str] = {}
    errors: list[str] = []
    warnings: list[str] = []
    for problem in problems:
        if problem.level != "error":
            warnings.append(problem.message)
            continue
        match = _ROW.match(problem.message)
        index = int(match.group(1)) - 1 if match else -1
        if match and 0 <= index < rows:
            earlier = row_errors.get(index)
            row_errors[index] = match.group(2) if earlier is None else f"{earlier}; {match.group(2)}"
        else:
            errors.append(problem.message)
    return SaveOutcome(row_errors=row_errors, errors=errors, warnings=warnings)


def _message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "row"
        parts.append(f"{field}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def _page_row(row: MapRow) -> StatusRow:
    return StatusRow(stage=row.stage, code=row.code, name=row.name, status_1c=row.status_1c or "")


class InvoiceStatusMap:
    """:class:`exchange_server.web.extensions.StatusMapSource` over a running :class:`InvoiceSync`."""

    def __init__(self, sync: InvoiceSync) -> None:
        self.sync = sync

    async def rows(self) -> Sequence[StatusRow]:
        return [_page_row(r) for r in self.sync.status_map.rows]

    async def stages(self) -> Sequence[StageChoice]:
        return [StageChoice(s.id, s.name) for s in self.sync.stages]

    async def warnings(self) -> Sequence[str]:
        problems = await self.sync.check_map(self.sync.status_map)
        return [p.message for p in problems]

    async def save(self, rows: Sequence[StatusRow], *, who: str) -> SaveOutcome:
        parsed: list[MapRow] = []
        row_errors: dict[int, str] = {}
        for index, row in enumerate(rows):
            try:
                parsed.append(
                    MapRow(stage=row.stage, code=row.code, name=row.name, status_1c=row.status_1c or None)
                )
            except ValidationError as exc:
                row_errors[index] = _message(exc)
        if row_errors:
            return SaveOutcome(row_errors=row_errors)
        candidate = self.sync.status_map.model_copy(update={"rows": tuple(parsed)})
        candidate = StatusMap.model_validate(candidate.model_dump())
        problems, _change = await self.sync.set_map(candidate, who=who)
        return split_problems(problems, len(parsed))
