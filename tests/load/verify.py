"""After a load run: the store compared with the source files, the journal with the requests sent.

Every check returns a list of problems (empty: all good) instead of stopping at the first one, so a
run reports everything it lost, duplicated or corrupted at once. Reads the database directly (one
engine, plain selects): the operator API pages through products, far too slow for 40,000 rows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from commerceml.model import Document
from exchange_server.db import tables  # noqa: F401 - registers the tables on Base.metadata
from exchange_server.db.base import Base
from exchange_server.db.engine import make_engine
from exchange_server.store.rows import CHILD_COLUMNS, PRICE_COLUMNS, STOCK_COLUMNS, EntityRow, Kind, order_row
from tests.load.data import Expected

__all__ = ["check_journal", "check_queries", "check_store"]

_CHILDREN: dict[str, tuple[str, str]] = {  # child table -> (parent kind table, parent key)
    "property_variants": ("properties", "property_id"),
    "product_groups": ("products", "product_id"),
    "product_properties": ("products", "product_id"),
    "product_images": ("products", "product_id"),
    "order_lines": ("orders", "order_id"),
}
_LIMIT = 5  # problems listed per check; the rest counted


def _norm(value: Any) -> Any:
    """Decimals compared by value (``100.00`` == ``100``), everything else as is."""
    return value.normalize() if isinstance(value, Decimal) else value


def _tuple(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(_norm(v) for v in values)


def _report(problems: list[str], title: str, items: Sequence[Any]) -> None:
    if items:
        shown = ", ".join(map(str, items[:_LIMIT]))
        more = f" (+{len(items) - _LIMIT} more)" if len(items) > _LIMIT else ""
        problems.append(f"{title}: {len(items)}: {shown}{more}")


async def _rows(db: AsyncConnection, sql: str) -> list[Any]:
    return list((await db.execute(text(sql))).all())


async def _select(db: AsyncConnection, table: str, columns: Sequence[str]) -> list[Any]:
    """Rows through the table's column types (decimals stored as text on SQLite come back as Decimal)."""
    t = Base.metadata.tables[table]
    return list((await db.execute(select(*(t.c[c] for c in columns)))).all())


async def _check_entities(db: AsyncConnection, table: str, want: dict[str, EntityRow]) -> list[str]:
    problems: list[str] = []
    got = {r.id: r for r in await _select(db, table, ("id", "content_hash", "active"))}
    _report(problems, f"{table} missing", sorted(set(want) - set(got)))
    _report(problems, f"{table} not in any source file", sorted(set(got) - set(want)))
    _report(
        problems,
        f"{table} with other content than the file",
        sorted(i for i in set(want) & set(got) if got[i].content_hash != want[i].content_hash),
    )
    _report(problems, f"{table} inactive", sorted(i for i, r in got.items() if not r.active))
    return problems


async def _check_children(db: AsyncConnection, child: str, want: dict[str, EntityRow]) -> list[str]:
    columns = CHILD_COLUMNS[child]
    expected = Counter(_tuple(c) for row in want.values() for c in row.children.get(child, ()))
    got = Counter(_tuple(r) for r in await _select(db, child, columns))
    problems: list[str] = []
    _report(problems, f"{child} rows missing", sorted(map(str, expected - got)))
    _report(problems, f"{child} rows not in the files", sorted(map(str, got - expected)))
    return problems


async def check_store(url: str, expected: Expected, site_orders: Sequence[Document]) -> list[str]:
    """Every catalog entity, offer part and order exactly once, with the content of the files."""
    engine = make_engine(url)
    problems: list[str] = []
    try:
        async with engine.connect() as db:
            for kind in (Kind.GROUP, Kind.PROPERTY, Kind.PRICE_TYPE, Kind.WAREHOUSE, Kind.UNIT, Kind.PRODUCT):
                want = expected.entities.get(str(kind), {})
                problems += await _check_entities(db, str(kind), want)
            for child, (parent, _) in _CHILDREN.items():
                if parent != "orders":
                    problems += await _check_children(db, child, expected.entities.get(parent, {}))
            problems += await _check_offers(db, expected.offers)
            problems += await _check_orders(db, expected.orders, site_orders)
    finally:
        await engine.dispose()
    return problems


async def _check_offers(db: AsyncConnection, want: dict[str, dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    got = {
        r.id: r
        for r in await _select(
            db,
            "offers",
            ("id", "product_id", "content_hash", "prices_hash", "stock_hash", "quantity", "active"),
        )
    }
    _report(problems, "offers missing", sorted(set(want) - set(got)))
    _report(problems, "offers not in any source file", sorted(set(got) - set(want)))
    wrong = []
    for offer_id in sorted(set(want) & set(got)):
        state, row = want[offer_id], got[offer_id]
        if (
            row.product_id != state["product_id"]
            or row.content_hash != state.get("content_hash")
            or row.prices_hash != state.get("prices_hash")
            or row.stock_hash != state.get("stock_hash")
            or _norm(row.quantity) != _norm(state.get("quantity"))
            or not row.active
        ):
            wrong.append(offer_id)
    _report(problems, "offers with other content than the file", wrong)
    prices = Counter(_tuple(r) for r in await _select(db, "offer_prices", PRICE_COLUMNS))
    want_prices = Counter(_tuple(p) for s in want.values() for p in s.get("prices", {}).values())
    _report(problems, "offer prices missing", sorted(map(str, want_prices - prices)))
    _report(problems, "offer prices not in the files", sorted(map(str, prices - want_prices)))
    stock = Counter(_tuple(r) for r in await _select(db, "offer_stock", STOCK_COLUMNS))
    want_stock = Counter(
        _tuple((offer_id, w, q)) for offer_id, s in want.items() for w, q in s.get("stock", {}).items()
    )
    _report(problems, "offer stock missing", sorted(map(str, want_stock - stock)))
    _report(problems, "offer stock not in the files", sorted(map(str, stock - want_stock)))
    return problems


async def _check_orders(
    db: AsyncConnection, from_1c: dict[str, EntityRow], site: Sequence[Document]
) -> list[str]:
    problems: list[str] = []
    site_rows = {d.id: order_row(d) for d in site}
    want = {**from_1c, **site_rows}
    got = {
        r.id: r
        for r in await _select(
            db, "orders", ("id", "content_hash", "changed_by", "revision", "exported_revision")
        )
    }
    _report(problems, "orders missing", sorted(set(want) - set(got)))
    _report(problems, "orders not sent by anyone", sorted(set(got) - set(want)))
    common = set(want) & set(got)
    _report(
        problems,
        "orders with other content than the file",
        sorted(i for i in common if got[i].content_hash != want[i].content_hash),
    )
    _report(
        problems,
        "1C orders written more than once or marked as site changes",
        sorted(i for i in common & set(from_1c) if (got[i].changed_by, got[i].revision) != ("1c", 1)),
    )
    _report(
        problems,
        "site orders not confirmed by mode=success",
        sorted(i for i in common & set(site_rows) if got[i].exported_revision != got[i].revision),
    )
    problems += await _check_children(db, "order_lines", want)
    return problems


def check_queries(
    answers: Iterable[tuple[int, Sequence[tuple[str, str | None]]]], site: Sequence[Document]
) -> list[str]:
    """Each ``mode=query`` answer: site orders only, none twice; every site order handed out at least once."""
    problems: list[str] = []
    site_ids = {d.id for d in site}
    seen: set[str] = set()
    for node, documents in answers:
        ids = [order_id for order_id, _ in documents]
        _report(
            problems,
            f"node {node}: query answer repeats orders",
            sorted(i for i, n in Counter(ids).items() if n > 1),
        )
        _report(problems, f"node {node}: query answer holds orders 1C sent", sorted(set(ids) - site_ids))
        seen.update(ids)
    _report(problems, "site orders no query handed out", sorted(site_ids - seen))
    return problems


async def check_journal(
    url: str, requests: Counter[str], *, catalog_files: int, order_files: int
) -> list[str]:
    """The journal holds every request, session and package the nodes made, none failed.

    Args:
        requests: requests sent per mode (``checkauth``, ``init``, ...), as the client counted them.
        catalog_files / order_files: XML files every package together imported.
    """
    engine = make_engine(url)
    problems: list[str] = []
    try:
        async with engine.connect() as db:
            steps = Counter(
                {
                    r.mode: r.n
                    for r in await _rows(db, "SELECT mode, count(*) AS n FROM exchange_steps GROUP BY mode")
                }
            )
            if steps != requests:
                problems.append(f"journal steps per mode {dict(steps)} != requests sent {dict(requests)}")
            bad = await _rows(
                db,
                "SELECT mode, filename, status, reply FROM exchange_steps "
                "WHERE status NOT IN ('success', 'progress', 'xml', 'init')",
            )
            _report(problems, "journal steps that failed", [tuple(r) for r in bad])
            sessions = await _rows(db, "SELECT state, count(*) AS n FROM exchange_sessions GROUP BY state")
            total = sum(r.n for r in sessions)
            if total != requests["checkauth"]:
                problems.append(f"journal sessions {total} != checkauth requests {requests['checkauth']}")
            _report(problems, "journal sessions in error", [r for r in sessions if r.state == "error"])
            packages = (await db.execute(text("SELECT count(*) FROM exchange_packages"))).scalar_one()
            if packages != requests["init"]:
                problems.append(f"journal packages {packages} != init requests {requests['init']}")
            files = defaultdict(Counter)
            for r in await _rows(
                db,
                "SELECT p.kind, f.import_state, count(*) AS n FROM exchange_files f "
                "JOIN exchange_packages p ON p.id = f.package_id WHERE NOT f.is_archive "
                "GROUP BY p.kind, f.import_state",
            ):
                files[r.kind][r.import_state] += r.n
            if files["catalog"] != Counter({"done": catalog_files}):
                problems.append(
                    f"journal catalog files {dict(files['catalog'])}, expected {catalog_files} done"
                )
            if files["sale"] != Counter({"done": order_files}):
                problems.append(f"journal order files {dict(files['sale'])}, expected {order_files} done")
    finally:
        await engine.dispose()
    return problems
