"""The catalog tables' rows as plain dicts, to compare two ways of importing the same files."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchange_server.db import tables

__all__ = ["CATALOG_TABLES", "table_rows"]

CATALOG_TABLES: tuple[type[Any], ...] = (
    tables.Group,
    tables.Property,
    tables.PropertyVariant,
    tables.PriceType,
    tables.Warehouse,
    tables.Unit,
    tables.Product,
    tables.ProductGroup,
    tables.ProductProperty,
    tables.ProductImage,
    tables.Offer,
    tables.OfferPrice,
    tables.OfferStock,
)
"""Every table an import writes the catalog into, parents before children."""


async def table_rows(
    maker: async_sessionmaker[AsyncSession], models: Sequence[type[Any]], *, without: Collection[str]
) -> dict[str, list[dict[str, Any]]]:
    """Each table's rows in primary-key order, by table name, leaving out the columns named in ``without``."""
    out: dict[str, list[dict[str, Any]]] = {}
    async with maker() as session:
        for model in models:
            table = cast(Table, model.__table__)
            result = await session.execute(select(table).order_by(*table.primary_key.columns))
            out[table.name] = [
                {k: v for k, v in r._mapping.items() if k not in without} for r in result.all()
            ]
    return out
