"""Catalog and order tables: classifier, products, offers, prices, stock, images, orders.

Revision ID: 20261123_0001
Revises: (none)
Create Date: 2026-11-23

Self-contained on purpose: types are spelled out here rather than imported from
``exchange_server.db.tables``, so later changes to the models cannot change what this revision does.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261123_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=255)
# Exact decimals: NUMERIC on PostgreSQL, text on SQLite (see exchange_server.db.tables.DecimalText).
DECIMAL = sa.Numeric().with_variant(sa.String(length=64), "sqlite")
JSON_DATA = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _tracked() -> list[sa.Column[object]]:
    """The bookkeeping columns every 1C entity carries (exchange_server.db.tables.Tracked)."""
    return [
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("version", ID, nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("last_seen_package", ID, nullable=True),
        sa.Column("data", JSON_DATA, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("id", ID, nullable=False),
        sa.Column("parent_id", ID, nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        *_tracked(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
    )
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_groups_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "import_scopes",
        sa.Column("package_id", ID, nullable=False),
        sa.Column("file", sa.String(length=1024), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("changes_only", sa.Boolean(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("package_id", "file", "kind", name=op.f("pk_import_scopes")),
    )
    op.create_table(
        "offers",
        sa.Column("id", ID, nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("characteristic_id", ID, nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("article", sa.Text(), nullable=True),
        sa.Column("barcode", sa.Text(), nullable=True),
        sa.Column("quantity", DECIMAL, nullable=True),
        sa.Column("prices_hash", sa.String(length=64), nullable=True),
        sa.Column("stock_hash", sa.String(length=64), nullable=True),
        *_tracked(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offers_product_id"), ["product_id"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", ID, nullable=False),
        sa.Column("number", sa.Text(), nullable=True),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("operation", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("currency", sa.String(length=32), nullable=True),
        sa.Column("amount", DECIMAL, nullable=True),
        sa.Column("number_1c", sa.Text(), nullable=True),
        sa.Column("counterparty", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("exported_revision", sa.Integer(), nullable=False),
        sa.Column("changed_by", sa.String(length=16), nullable=False),
        *_tracked(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    op.create_table(
        "price_types",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=32), nullable=True),
        *_tracked(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_types")),
    )
    op.create_table(
        "products",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("article", sa.Text(), nullable=True),
        sa.Column("barcode", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("unit_code", sa.String(length=64), nullable=True),
        sa.Column("unit_name", sa.Text(), nullable=True),
        *_tracked(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    op.create_table(
        "properties",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("value_type", sa.String(length=64), nullable=True),
        sa.Column("multiple", sa.Boolean(), nullable=True),
        *_tracked(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_properties")),
    )
    op.create_table(
        "units",
        sa.Column("id", ID, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("full_name", sa.Text(), nullable=True),
        *_tracked(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
    )
    op.create_table(
        "warehouses",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        *_tracked(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warehouses")),
    )
    op.create_table(
        "offer_prices",
        sa.Column("offer_id", ID, nullable=False),
        sa.Column("price_type_id", ID, nullable=False),
        sa.Column("value", DECIMAL, nullable=False),
        sa.Column("currency", sa.String(length=32), nullable=True),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("ratio", DECIMAL, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["offer_id"], ["offers.id"], name=op.f("fk_offer_prices_offer_id_offers")),
        sa.PrimaryKeyConstraint("offer_id", "price_type_id", name=op.f("pk_offer_prices")),
    )
    op.create_table(
        "offer_stock",
        sa.Column("offer_id", ID, nullable=False),
        sa.Column("warehouse_id", ID, nullable=False),
        sa.Column("quantity", DECIMAL, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["offer_id"], ["offers.id"], name=op.f("fk_offer_stock_offer_id_offers")),
        sa.PrimaryKeyConstraint("offer_id", "warehouse_id", name=op.f("pk_offer_stock")),
    )
    op.create_table(
        "order_lines",
        sa.Column("order_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("price", DECIMAL, nullable=True),
        sa.Column("quantity", DECIMAL, nullable=True),
        sa.Column("amount", DECIMAL, nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_lines_order_id_orders")),
        sa.PrimaryKeyConstraint("order_id", "position", name=op.f("pk_order_lines")),
    )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_lines_product_id"), ["product_id"], unique=False)

    op.create_table(
        "product_groups",
        sa.Column("product_id", ID, nullable=False),
        sa.Column("group_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_product_groups_product_id_products")
        ),
        sa.PrimaryKeyConstraint("product_id", "group_id", name=op.f("pk_product_groups")),
    )
    op.create_table(
        "product_images",
        sa.Column("product_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_product_images_product_id_products")
        ),
        sa.PrimaryKeyConstraint("product_id", "position", name=op.f("pk_product_images")),
    )
    op.create_table(
        "product_properties",
        sa.Column("product_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("property_id", ID, nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_product_properties_product_id_products")
        ),
        sa.PrimaryKeyConstraint("product_id", "position", name=op.f("pk_product_properties")),
    )
    with op.batch_alter_table("product_properties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_properties_property_id"), ["property_id"], unique=False)

    op.create_table(
        "property_variants",
        sa.Column("property_id", ID, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["property_id"], ["properties.id"], name=op.f("fk_property_variants_property_id_properties")
        ),
        sa.PrimaryKeyConstraint("property_id", "id", name=op.f("pk_property_variants")),
    )


def downgrade() -> None:
    op.drop_table("property_variants")
    with op.batch_alter_table("product_properties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_properties_property_id"))

    op.drop_table("product_properties")
    op.drop_table("product_images")
    op.drop_table("product_groups")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_lines_product_id"))

    op.drop_table("order_lines")
    op.drop_table("offer_stock")
    op.drop_table("offer_prices")
    op.drop_table("warehouses")
    op.drop_table("units")
    op.drop_table("properties")
    op.drop_table("products")
    op.drop_table("price_types")
    op.drop_table("orders")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offers_product_id"))

    op.drop_table("offers")
    op.drop_table("import_scopes")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_groups_parent_id"))

    op.drop_table("groups")
