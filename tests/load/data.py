"""The files the load scenario's 1C nodes send, and what the store must hold afterwards.

Pure file generation and expectation building; no server, no database.

* Catalogs: every node sends a classic ``import.xml`` + ``offers.xml`` (CommerceML 2.08) built by the
  catalog generator's own writers. All nodes share one classifier (groups, properties, price types,
  warehouses: the same Ид everywhere, so nodes upsert the same rows at once), every node has its own
  products (Ид drawn from a per-node seed) and, in addition, a block of *shared* products that every
  node sends byte-identically (new products arriving from several nodes at the same moment). The files
  say ``СодержитТолькоИзменения="true"``: a node's package must not sweep (deactivate) the goods of the
  other nodes, which a full snapshot from one 1C base would rightly do.
* Orders from 1C: each node sends an orders file in its exchange; the burst of concurrent uploads
  sends one more file per upload. Every order Ид is unique (``load-<run>-n<node>-...``).
* Orders from the site: documents stored before the run with ``changed_by = site``; every node's
  ``mode=query`` must hand them out, ``mode=success`` must mark them exported.

The expectations are computed from the written files with the CommerceML reader and the store's own
row builders (``exchange_server.store.rows``), so the check compares the database with the source
files, not with what the generator meant to write.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from commerceml import _generator_forms as forms
from commerceml import _synthetic as synth
from commerceml.model import (
    Counterparty,
    Document,
    Group,
    Offer,
    OrderLine,
    PriceType,
    Product,
    Property,
    Requisite,
    Unit,
    Warehouse,
)
from commerceml.reader import iter_file
from commerceml.writer import write_orders
from exchange_server.store.rows import EntityRow, OfferRow, entity_row, offer_row, order_row

__all__ = [
    "CatalogFiles",
    "Expected",
    "LoadData",
    "OrderFile",
    "expected_from_files",
    "make_load_data",
    "site_orders",
]

CREATED: Final = dt.datetime(2024, 6, 10, 9, 15, 0)
FULL_LIST: Final = 'СодержитТолькоИзменения="false"'
CHANGES_ONLY: Final = 'СодержитТолькоИзменения="true"'
ORDER_STATUS: Final = "Статус заказа"


@dataclass(frozen=True, slots=True)
class CatalogFiles:
    """One node's catalog: exchange names and paths, in import order."""

    node: int
    files: tuple[tuple[str, Path], ...]


@dataclass(frozen=True, slots=True)
class OrderFile:
    """An orders file from 1C and the order Ид it holds."""

    path: Path
    order_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LoadData:
    catalogs: tuple[CatalogFiles, ...]
    node_orders: tuple[OrderFile, ...]  # one per node, sent during its exchange
    burst_orders: tuple[OrderFile, ...]  # one per concurrent upload
    site_orders: tuple[Document, ...]

    def catalog_paths(self) -> list[Path]:
        return [path for catalog in self.catalogs for _, path in catalog.files]

    def order_paths(self) -> list[Path]:
        return [f.path for f in (*self.node_orders, *self.burst_orders)]


def _changes_only(path: Path) -> None:
    """Turn the generator's full-list header into a changes-only one (it appears once per file)."""
    raw = path.read_bytes()
    marker = FULL_LIST.encode("utf-8")
    if raw.count(marker) != 1:
        raise ValueError(f"{path}: expected one {FULL_LIST!r}, found {raw.count(marker)}")
    path.write_bytes(raw.replace(marker, CHANGES_ONLY.encode("utf-8")))


def _products(rng: random.Random, world: synth.World, count: int, *, start: int) -> list[synth.SynthProduct]:
    with_chars = synth.characteristic_products(count, 0.2)
    return [
        synth.make_product(
            rng,
            world,
            start + i,
            characteristics=3 if synth.has_characteristics(i, count, with_chars) else 0,
            description_sentences=2,
        )
        for i in range(count)
    ]


def _write_catalog(out: Path, world: synth.World, products: Iterable[synth.SynthProduct]) -> None:
    layout = forms.classic_layout(out, random.Random(0))
    docs = {role: forms.XmlDoc(path, encoding="utf-8", bom=True, created=CREATED) for role, path in layout}
    for doc in docs.values():
        doc.__enter__()
    try:
        forms.write_classic(docs, world, products)
    finally:
        for doc in docs.values():
            doc.__exit__(None, None, None)
    for _, path in layout:
        _changes_only(path)


def _order(order_id: str, number: str, rng: random.Random, goods: Sequence[synth.SynthProduct]) -> Document:
    lines = []
    for product in rng.sample(list(goods), k=min(len(goods), rng.randrange(1, 5))):
        price = product.offers[0].prices[0]
        quantity = Decimal(rng.randrange(1, 6))
        lines.append(
            OrderLine(
                id=product.id, name=product.name, price=price, quantity=quantity, amount=price * quantity
            )
        )
    return Document(
        id=order_id,
        number=number,
        date=dt.date(2024, 6, 11),
        time=dt.time(12, rng.randrange(60), rng.randrange(60)),
        operation="Заказ товара",
        role="Продавец",
        currency="руб",
        rate=Decimal(1),
        amount=sum((line.amount or Decimal(0) for line in lines), Decimal(0)),
        version=synth.version_number(rng),
        number_1c=f"ЗК-{number}",
        counterparties=(
            Counterparty(id=f"{order_id}-buyer", name=f"Покупатель {number}", role="Покупатель"),
        ),
        lines=tuple(lines),
        requisites=(Requisite(ORDER_STATUS, (rng.choice(("[N] Принят", "[P] Оплачен", "[F] Выполнен")),)),),
    )


def _write_orders(path: Path, documents: Sequence[Document]) -> OrderFile:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        write_orders(out, documents, created=CREATED)
    return OrderFile(path, tuple(d.id for d in documents))


def make_load_data(
    out: Path,
    *,
    run: str,
    nodes: int,
    products: int,
    shared_products: int,
    orders_per_node: int,
    uploads: int,
    orders_per_upload: int,
    site_order_count: int,
) -> LoadData:
    """Write every file of a load run under ``out``; deterministic for the same arguments."""
    world = synth.make_world(
        random.Random(f"{run}:world"), groups=40, properties=6, price_types=2, warehouses=2
    )
    shared = _products(random.Random(f"{run}:shared"), world, shared_products, start=0)
    catalogs = []
    node_orders = []
    goods_of: list[list[synth.SynthProduct]] = []
    for node in range(nodes):
        own = _products(random.Random(f"{run}:node{node}"), world, products, start=shared_products)
        folder = out / f"node{node:02d}"
        # Shared products first and last: nodes that start together collide on them at once.
        half = len(shared) // 2
        _write_catalog(folder, world, [*shared[:half], *own, *shared[half:]])
        catalogs.append(
            CatalogFiles(node, (("import.xml", folder / "import.xml"), ("offers.xml", folder / "offers.xml")))
        )
        goods = own + shared
        goods_of.append(goods)
        rng = random.Random(f"{run}:orders{node}")
        documents = [
            _order(f"load-{run}-n{node:02d}-x{i:03d}", f"{node:02d}{i:04d}", rng, goods)
            for i in range(orders_per_node)
        ]
        node_orders.append(_write_orders(folder / f"orders-node{node:02d}.xml", documents))
    burst = []
    for upload in range(uploads):
        rng = random.Random(f"{run}:burst{upload}")
        goods = goods_of[upload % nodes]
        documents = [
            _order(f"load-{run}-u{upload:03d}-{i}", f"U{upload:03d}{i}", rng, goods)
            for i in range(orders_per_upload)
        ]
        burst.append(_write_orders(out / "burst" / f"orders-{upload:03d}.xml", documents))
    return LoadData(
        catalogs=tuple(catalogs),
        node_orders=tuple(node_orders),
        burst_orders=tuple(burst),
        site_orders=tuple(site_orders(run, site_order_count, shared or goods_of[0])),
    )


def site_orders(run: str, count: int, goods: Sequence[synth.SynthProduct]) -> list[Document]:
    """Orders placed on the site side: what ``mode=query`` must hand to every 1C node."""
    rng = random.Random(f"{run}:site")
    return [_order(f"load-{run}-site{i:03d}", f"S{i:04d}", rng, goods) for i in range(count)]


# --- expectations ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Expected:
    """What the store must hold: rows keyed by Ид, as the importer builds them from the files."""

    entities: dict[str, dict[str, EntityRow]] = field(default_factory=dict)  # table -> id -> row
    offers: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> merged parts
    orders: dict[str, EntityRow] = field(default_factory=dict)


def expected_from_files(catalog_paths: Iterable[Path], order_paths: Iterable[Path]) -> Expected:
    """Read the source files back with the CommerceML reader; every Ид must appear exactly once."""
    expected = Expected()
    for path in catalog_paths:
        for entity in iter_file(path):
            if isinstance(entity, Offer):
                _merge_offer(expected.offers, offer_row(entity))
            elif isinstance(entity, Product | Group | Property | PriceType | Warehouse | Unit):
                row = entity_row(entity)
                if row is None:
                    continue
                table = expected.entities.setdefault(str(row.kind), {})
                if row.id in table and table[row.id].content_hash != row.content_hash:
                    raise ValueError(f"{path}: {row.kind} {row.id} differs between files")
                table[row.id] = row
    for path in order_paths:
        for entity in iter_file(path):
            if isinstance(entity, Document):
                if entity.id in expected.orders:
                    raise ValueError(f"{path}: order {entity.id} sent twice by the generator")
                expected.orders[entity.id] = order_row(entity)
    return expected


def _merge_offer(offers: dict[str, dict[str, Any]], row: OfferRow) -> None:
    state = offers.setdefault(row.id, {"product_id": row.product_id})
    if row.description is not None:
        state["content_hash"] = row.description.content_hash
    # Rows carry decimals as their exact text (store.rows.OfferRow); the store reads back Decimals.
    if row.prices is not None:
        state["prices"] = {p[1]: (*p[:2], Decimal(p[2]), *p[3:5], _decimal(p[5])) for p in row.prices}
        state["prices_hash"] = row.prices_hash
    if row.stock_hash is not None:
        state["stock_hash"] = row.stock_hash
        state["quantity"] = _decimal(row.quantity)
    if row.stock is not None:
        state["stock"] = {s[1]: Decimal(s[2]) for s in row.stock}


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)
