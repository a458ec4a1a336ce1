"""How the 1C catalog maps onto the portal: the ``[b24]`` table of the settings file, validated at start.

Pure pydantic, no I/O. Every choice the operator can make lives here (bitrix24.md §3, Appendix A):

* ``price_types``: ``"all"`` or the 1C price types (``Ид`` or name) to send; ``base_price_type`` is
  the one mapped onto the portal's base price type (default: the first one sent, by ``Ид``);
* ``properties``: 1C property ``Ид`` -> portal field ``propertyN``; ``article_property`` and
  ``barcode_property`` say where the article and the barcode go. ``catalog.product.*`` has no field
  of its own for either (bitrix24.md §3.5; the product card's barcodes are not reachable through
  REST), so the default ``"auto"`` uses the portal's string property with the usual code (article:
  ``ARTNUMBER`` or ``CML2_ARTICLE``; barcode: ``CML2_BAR_CODE`` or ``BARCODE``) in the products and
  the offers catalog, and adds ``CML2_ARTICLE`` / ``CML2_BAR_CODE`` where it is missing
  (``catalog.productProperty.add``, when ``create_properties``). ``"propertyN"`` names the field
  yourself; ``"off"`` sends nothing;
* ``stores``: 1C warehouse ``Ид`` -> an existing portal store id (unmapped warehouses become new
  stores keyed by ``xmlId``); ``stock_mode``: ``auto`` (stores when inventory management is on, else
  ``quantity``), ``stores``, ``quantity`` or ``off``;
* ``vat``: 1C rate text (``"20"``, ``"Без налога"``) -> portal VAT rate in percent (``null`` = no VAT);
* ``measures``: 1C unit code or name -> OKEI code, for units whose code is not the OKEI number.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["AUTO", "DEFAULT_VAT", "OFF", "MappingConfig", "normalize_rate"]

_PROPERTY_FIELD: Final = re.compile(r"^property\d+$")
AUTO: Final = "auto"
OFF: Final = "off"

DEFAULT_VAT: Final[dict[str, float | None]] = {
    "22": 22.0,
    "20": 20.0,
    "18": 18.0,
    "10": 10.0,
    "0": 0.0,
    "без налога": None,
    "без ндс": None,
}


def normalize_rate(text: str) -> str:
    """The lookup key of a 1C rate: ``"20%"``, ``" 20 "``, ``"20.00"`` -> ``"20"``; words lower-cased."""
    raw = text.strip().rstrip("%").strip().replace(",", ".")
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return " ".join(text.lower().split())
    return format(number.normalize(), "f") if number != number.to_integral() else str(int(number))


class MappingConfig(BaseModel):
    """The ``[b24]`` table: what goes to the portal and how (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    price_types: Literal["all"] | tuple[str, ...] = Field(
        default="all", description='"all" or the 1C price types (Ид or name) to send.'
    )
    base_price_type: str | None = Field(
        default=None, description="1C price type (Ид or name) mapped onto the portal's base price type."
    )
    currency: str = Field(
        default="RUB", min_length=3, max_length=3, description="Currency of prices without one."
    )
    properties: dict[str, str] = Field(
        default_factory=dict, description="1C property Ид -> portal field propertyN."
    )
    article_property: str = Field(
        default=AUTO,
        description='Portal field for the article: "auto" (find or add the ARTNUMBER/CML2_ARTICLE '
        'property), "propertyN", or "off".',
    )
    barcode_property: str = Field(
        default=AUTO,
        description='Portal field for the barcode: "auto" (find or add the CML2_BAR_CODE/BARCODE '
        'property), "propertyN", or "off".',
    )
    create_properties: bool = Field(
        default=True,
        description="Add the article and barcode properties missing from the portal "
        "(catalog.productProperty.add).",
    )
    stores: dict[str, int] = Field(
        default_factory=dict, description="1C warehouse Ид -> existing portal store id."
    )
    stock_mode: Literal["auto", "stores", "quantity", "off"] = "auto"
    responsible_id: int = Field(default=1, ge=1, description="Portal user responsible for stock documents.")
    vat: dict[str, float | None] = Field(
        default_factory=lambda: dict(DEFAULT_VAT),
        description="1C rate -> portal VAT rate (percent, null = none).",
    )
    vat_included: bool = True
    measures: dict[str, int] = Field(default_factory=dict, description="1C unit code or name -> OKEI code.")
    create_measures: bool = Field(
        default=True, description="Add units missing from the portal's measures (catalog.measure.add)."
    )
    images: bool = Field(default=True, description="Send the pictures of the goods.")
    max_attempts: int = Field(default=8, ge=1, le=100, description="Failures after which a job is parked.")
    backoff_seconds: float = Field(default=2.0, gt=0, le=3600)
    backoff_max_seconds: float = Field(default=300.0, gt=0, le=86400)
    idle_seconds: float = Field(
        default=5.0, ge=0, le=3600, description="Quiet time after an import before planning."
    )
    poll_seconds: float = Field(
        default=2.0, gt=0, le=3600, description="How often the worker looks for work."
    )
    wake_on_package: bool = Field(
        default=True,
        description="Plan and push as soon as a catalog package finishes (complete/deactivate or the last "
        "import); false: only after idle_seconds of quiet, found by the poll.",
    )

    @field_validator("price_types", mode="before")
    @classmethod
    def _price_types(cls, value: object) -> object:
        if isinstance(value, list):
            if not value:
                raise ValueError('price_types: name at least one price type, or "all"')
            return tuple(value)
        return value

    @field_validator("properties")
    @classmethod
    def _property_fields(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(f"{k} -> {v}" for k, v in value.items() if not _PROPERTY_FIELD.match(v))
        if bad:
            raise ValueError(f"properties: portal fields must look like property123, got {', '.join(bad)}")
        return value

    @field_validator("article_property", "barcode_property", mode="before")
    @classmethod
    def _one_field(cls, value: object) -> object:
        if value is None or value == "":
            return OFF
        if isinstance(value, str) and value not in (AUTO, OFF) and not _PROPERTY_FIELD.match(value):
            raise ValueError(f'must be "auto", "off" or look like property123, got {value!r}')
        return value

    @field_validator("vat")
    @classmethod
    def _vat(cls, value: dict[str, float | None]) -> dict[str, float | None]:
        for rate in value.values():
            if rate is not None and not 0 <= rate <= 100:
                raise ValueError(f"vat: rates are percentages within 0..100, got {rate}")
        return {normalize_rate(k): v for k, v in value.items()}

    @field_validator("measures")
    @classmethod
    def _measures(cls, value: dict[str, int]) -> dict[str, int]:
        bad = sorted(k for k, v in value.items() if v <= 0)
        if bad:
            raise ValueError(f"measures: OKEI codes are positive integers ({', '.join(bad)})")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MappingConfig:
        used = list(self.properties.values()) + [
            f for f in (self.article_property, self.barcode_property) if _PROPERTY_FIELD.match(f)
        ]
        twice = sorted({f for f in used if used.count(f) > 1})
        if twice:
            raise ValueError(f"portal fields used for two things: {', '.join(twice)}")
        if (
            self.base_price_type is not None
            and self.price_types != "all"
            and self.base_price_type not in self.price_types
        ):
            raise ValueError(
                f"base_price_type {self.base_price_type!r} is not among price_types {list(self.price_types)}"
            )
        if self.backoff_max_seconds < self.backoff_seconds:
            raise ValueError("backoff_max_seconds must be >= backoff_seconds")
        return self

    def sends(self, what: str) -> bool:
        """Whether the ``article`` or the ``barcode`` goes to the portal at all."""
        return bool(getattr(self, f"{what}_property") != OFF)

    def wants_price_type(self, ident: str, name: str) -> bool:
        return self.price_types == "all" or ident in self.price_types or name in self.price_types

    def vat_rate(self, text: str) -> tuple[bool, float | None]:
        """``(known, rate)`` for a 1C rate text."""
        key = normalize_rate(text)
        if key in self.vat:
            return True, self.vat[key]
        return False, None

    def okei(self, code: str | None, name: str | None) -> int | None:
        """The OKEI code of a 1C unit: the mapping first, then the code itself when numeric."""
        for candidate in (code, name):
            if candidate is not None and candidate in self.measures:
                return self.measures[candidate]
        if code is not None and code.strip().isdigit():
            return int(code.strip())
        return None
