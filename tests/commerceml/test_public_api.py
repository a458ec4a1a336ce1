"""The commerceml package is pure (no aiohttp, SQLAlchemy, asyncio) and its public surface is pinned."""

from __future__ import annotations

import subprocess
import sys

import commerceml


def test_commerceml_imports_without_io_frameworks() -> None:
    code = (
        "import sys, commerceml, commerceml.reader, commerceml.writer, commerceml.schema, commerceml.generator\n"
        "bad = sorted(m for m in ('aiohttp', 'sqlalchemy', 'asyncio', 'asyncpg', 'aiosqlite') if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_public_names_are_pinned() -> None:
    assert sorted(commerceml.__all__) == sorted(
        [
            "Address", "AddressField", "BankAccount", "CatalogInfo", "Characteristic", "ClassifierInfo",
            "CommerceMLError", "Contact", "Counterparty", "Discount", "Document", "DocumentHeader", "Entity",
            "FileRole", "ForbiddenXML", "Group", "InvalidValue", "MalformedXML", "Manufacturer",
            "MissingElement", "Offer", "OfferPackageInfo", "OrderLine", "Price", "PriceType", "Product",
            "Property", "PropertyValue", "ReadSummary", "ReadWarning", "Reader", "Representative",
            "Requisite", "SchemaError", "Stock", "Tax", "TaxRate", "TaxSum", "Unit", "UnitRecalculation",
            "UnknownSection", "UnsupportedDocument", "ValueVariant", "Warehouse", "WriteError", "iter_file",
            "read_summary", "split_offer_id",
        ]
    )  # fmt: skip
    for name in commerceml.__all__:
        assert hasattr(commerceml, name), name
