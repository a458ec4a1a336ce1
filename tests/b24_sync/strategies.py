"""Hypothesis strategies: catalog snapshots as the store could hold them."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from b24_bridge.sync.snapshot import (
    CatalogSnapshot,
    GroupRow,
    OfferRow,
    PriceRow,
    PriceTypeRow,
    ProductRow,
    StockRow,
    WarehouseRow,
)

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
amounts = st.decimals(min_value=Decimal(0), max_value=Decimal(10**6), places=2, allow_nan=False)


@st.composite
def snapshots(draw: st.DrawFn, max_products: int = 8) -> CatalogSnapshot:
    group_count = draw(st.integers(0, 5))
    groups = []
    for i in range(group_count):
        parent = draw(st.one_of(st.none(), st.sampled_from([f"g{j}" for j in range(group_count)])))
        groups.append(GroupRow(f"g{i}", draw(names), parent, active=draw(st.booleans())))
    price_types = tuple(PriceTypeRow(f"pt{i}", f"Type {i}", "RUB") for i in range(draw(st.integers(1, 3))))
    warehouses = tuple(WarehouseRow(f"w{i}", f"Store {i}") for i in range(draw(st.integers(0, 3))))
    products = []
    offers = []
    for i in range(draw(st.integers(0, max_products))):
        pid = f"p{i}"
        products.append(
            ProductRow(
                pid,
                draw(names),
                active=draw(st.booleans()),
                article=draw(st.one_of(st.none(), names)),
                unit_code=draw(st.sampled_from([None, "796", "166"])),
                group_ids=tuple(draw(st.lists(st.sampled_from([g.id for g in groups]), max_size=2)))
                if groups
                else (),
                tax_rates=draw(st.sampled_from([(), (("НДС", "20"),), (("НДС", "Без налога"),)])),
            )
        )
        chars = draw(st.integers(0, 3))
        ids = [pid] if chars == 0 else [f"{pid}#c{j}" for j in range(chars)]
        for oid in ids:
            prices = tuple(PriceRow(p.id, draw(amounts)) for p in price_types if draw(st.booleans()))
            stock = tuple(StockRow(w.id, draw(amounts)) for w in warehouses if draw(st.booleans()))
            offers.append(
                OfferRow(
                    oid,
                    pid,
                    None if oid == pid else oid.split("#")[1],
                    name=draw(st.one_of(st.none(), names)),
                    active=draw(st.booleans()),
                    prices=draw(st.sampled_from([None, prices])),
                    stock=draw(st.sampled_from([None, stock])),
                )
            )
    return CatalogSnapshot(tuple(groups), price_types, warehouses, tuple(products), tuple(offers))
