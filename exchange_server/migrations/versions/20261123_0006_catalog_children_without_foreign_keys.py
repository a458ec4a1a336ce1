"""Catalog child rows without foreign keys: the importer's bulk inserts no longer pay for a check per row.

The child tables of the catalog (a product's groups, property values and images; an offer's prices
and stock; a property's variants) are written only by ``exchange_server.store.catalog``, always in the
transaction that upserts their parent, right after it, and catalog rows are never deleted (1C's
deletions and the sweep only deactivate). So the constraint could never refuse a row, while checking
it cost on every child row: on PostgreSQL a lookup with a row lock on the parent (45 % of an
``offer_prices`` batch insert, measured), on SQLite a parent index lookup (about 20 %). The order lines
keep theirs (orders are few and written through a different path).

Revision ID: 20261123_0006
Revises: 20261123_0005
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "20261123_0006"
down_revision: str | Sequence[str] | None = "20261123_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEYS: tuple[tuple[str, str, str, str], ...] = (
    ("product_groups", "product_id", "products", "fk_product_groups_product_id_products"),
    ("product_properties", "product_id", "products", "fk_product_properties_product_id_products"),
    ("product_images", "product_id", "products", "fk_product_images_product_id_products"),
    ("offer_prices", "offer_id", "offers", "fk_offer_prices_offer_id_offers"),
    ("offer_stock", "offer_id", "offers", "fk_offer_stock_offer_id_offers"),
    ("property_variants", "property_id", "properties", "fk_property_variants_property_id_properties"),
)
"""(table, column, parent table, constraint name) of every foreign key this revision drops."""


def upgrade() -> None:
    for table, _column, _parent, name in FOREIGN_KEYS:
        # SQLite cannot drop a constraint in place: batch mode copies the table without it.
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    for table, column, parent, name in FOREIGN_KEYS:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(name, parent, [column], ["id"])
