"""The soak workload: many workers, mixed calls, every answer checked against a model (bitrix24.md §2.1, §7.4).

Shared by the virtual-time soak (default suite) and the real-time HTTP soak (``-m slow``).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from b24_bridge import B24Client, BatchCommand
from b24_bridge.fake import FakePortal, Fault

# kind -> (key field, name field)
KINDS: dict[str, tuple[str, str]] = {
    "crm.product": ("XML_ID", "NAME"),
    "catalog.product": ("xmlId", "name"),
    "crm.item": ("xmlId", "title"),
    "crm.company": ("ORIGIN_ID", "TITLE"),
}


@dataclass
class Entity:
    kind: str
    key: str
    id: int
    name: str


@dataclass
class SoakReport:
    calls: int = 0
    ops: Counter[str] = field(default_factory=Counter)
    mismatches: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    created: list[Entity] = field(default_factory=list)


def add_faults(portal: FakePortal) -> None:
    """10 % 5xx answers (before and after the commit) and 2 % lost answers (after the commit)."""
    portal.faults.add(Fault.LOST_RESPONSE, probability=0.02)
    portal.faults.add(Fault.INTERNAL_ERROR, probability=0.04)
    portal.faults.add(Fault.OVERLOAD, probability=0.02)
    portal.faults.add(Fault.GATEWAY_HTML, probability=0.02)
    portal.faults.add(Fault.GATEWAY_TIMEOUT_HTML, probability=0.02)


def _create_params(kind: str, key: str, name: str) -> tuple[str, dict[str, Any]]:
    key_field, name_field = KINDS[kind]
    fields: dict[str, Any] = {key_field: key, name_field: name}
    if kind == "catalog.product":
        fields["iblockId"] = 23
    params: dict[str, Any] = {"fields": fields}
    if kind == "crm.item":
        params["entityTypeId"] = 31
    return f"{kind}.add", params


def _scope(kind: str) -> dict[str, Any]:
    return {"entityTypeId": 31} if kind == "crm.item" else {}


def _created_id(kind: str, result: Any) -> int:
    if kind == "crm.item":
        return int(result["item"]["id"])
    if kind == "catalog.product":
        return int(result["element"]["id"])
    return int(result)


def _name_of(kind: str, got: Any) -> str:
    if kind == "crm.item":
        return str(got["item"]["title"])
    if kind == "catalog.product":
        return str(got["product"]["name"])
    return str(got[KINDS[kind][1]])


async def _worker(client: B24Client, worker: int, ops: int, report: SoakReport, seed: int) -> None:
    rng = random.Random(seed * 1000 + worker)
    mine: list[Entity] = []
    for step in range(ops):
        roll = rng.random()
        if not mine or roll < 0.30:
            kind = rng.choice(list(KINDS))
            key = f"w{worker}-{step}"
            method, params = _create_params(kind, key, f"n-{key}")
            result = await client.call(method, params)
            entity = Entity(kind, key, _created_id(kind, result), f"n-{key}")
            mine.append(entity)
            report.created.append(entity)
            report.ops["create"] += 1
        elif roll < 0.55:
            entity = rng.choice(mine)
            got = await client.call(f"{entity.kind}.get", {**_scope(entity.kind), "id": entity.id})
            if _name_of(entity.kind, got) != entity.name:
                report.mismatches.append(f"get {entity}: {got}")
            report.ops["get"] += 1
        elif roll < 0.75:
            entity = rng.choice(mine)
            entity.name = f"u{step}-{entity.key}"
            name_field = KINDS[entity.kind][1]
            await client.call(
                f"{entity.kind}.update",
                {**_scope(entity.kind), "id": entity.id, "fields": {name_field: entity.name}},
            )
            report.ops["update"] += 1
        elif roll < 0.85:
            entity = rng.choice(mine)
            key_field = KINDS[entity.kind][0]
            query: dict[str, Any] = {**_scope(entity.kind), "filter": {key_field: entity.key}}
            if entity.kind == "catalog.product":
                query["filter"]["iblockId"] = 23
                query["select"] = ["id", "iblockId", "name"]
            found = await client.call(f"{entity.kind}.list", query)
            rows = found if isinstance(found, list) else next(iter(found.values()))
            ids = [int(r.get("ID", r.get("id"))) for r in rows]
            if ids != [entity.id]:
                report.mismatches.append(f"list {entity}: {ids}")
            report.ops["list"] += 1
        else:
            picked = [rng.choice(mine) for _ in range(rng.randint(2, 10))]
            answer = await client.batch(
                [
                    BatchCommand(f"g{i}", f"{e.kind}.get", {**_scope(e.kind), "id": e.id})
                    for i, e in enumerate(picked)
                ]
            )
            for i, e in enumerate(picked):
                got = answer.results.get(f"g{i}")
                if got is None or _name_of(e.kind, got) != e.name:
                    report.mismatches.append(f"batch get {e}: {got} {answer.errors.get(f'g{i}')}")
            report.ops["batch"] += 1
        report.calls += 1


async def run_soak(client_factory: Any, *, calls: int, workers: int = 16, seed: int = 1) -> SoakReport:
    report = SoakReport()
    per = [calls // workers + (1 if i < calls % workers else 0) for i in range(workers)]
    await asyncio.gather(*(_worker(client_factory(i), i, n, report, seed) for i, n in enumerate(per)))
    return report


def check_portal(portal: FakePortal, report: SoakReport) -> list[str]:
    """No duplicate entity, no lost create: each key exists exactly once, under the id the client got."""
    problems: list[str] = []
    by_key: Counter[tuple[str, str]] = Counter()
    for row in portal.state.t("element"):
        by_key[("product", str(row.get("xmlId")))] += 1
    for row in portal.state.t("item"):
        by_key[("item", str(row.get("xmlId")))] += 1
    for row in portal.state.t("company"):
        by_key[("company", str(row.get("ORIGIN_ID")))] += 1
    expected: Counter[tuple[str, str]] = Counter()
    for e in report.created:
        table = {
            "crm.product": "product",
            "catalog.product": "product",
            "crm.item": "item",
            "crm.company": "company",
        }
        expected[(table[e.kind], e.key)] += 1
    if by_key != expected:
        extra = by_key - expected
        missing = expected - by_key
        problems.append(f"duplicates/extra: {list(extra.items())[:5]}, missing: {list(missing.items())[:5]}")
    return problems
