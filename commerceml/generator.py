"""A realistic CommerceML catalog generator, for tests and benchmarks.

``generate_catalog(out_dir, spec)`` writes a catalog the way a 1C node sends it and returns what it
wrote, with the counts a reader must find (:class:`GeneratedCatalog`). Two forms:

* ``classic``: ``import.xml`` (Классификатор + Каталог/Товары) and ``offers.xml``
  (ПакетПредложений with ТипыЦен, Склады and offers carrying Цены, Количество and
  ``<Склад ИдСклада КоличествоНаСкладе/>``), CommerceML 2.08 in ``urn:1C.ru:commerceml_2``. The
  files follow the element order of the official 2.08 XSD, so they validate against it.
* ``split31``: the 1C-Bitrix module's 3.1 package (``urn:1C.ru:commerceml_3``): a classifier
  ``import___<guid>.xml`` (groups, properties, price types, warehouses, units) and, under
  ``goods/1/``, ``import___`` (goods), ``offers___`` (no prices, no stock), ``prices___`` and
  ``rests___`` (``Остатки/Остаток/Склад/Ид+Количество``); the layout of protocol.md §5.1.

Streaming: every file is written with ``lxml.etree.xmlfile`` while the products are generated, one
product at a time, so memory stays flat whatever ``products`` is. Deterministic: the same spec
(seed included) gives byte-identical files, and the same products in either form.

Records are built as elements without a namespace and written inside the root element, which
declares the CommerceML namespace as the default one: in the output they are in that namespace
(``xmlfile`` would otherwise redeclare the namespace on every record, which 1C never does).
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import random
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from commerceml import _generator_forms as forms
from commerceml import _synthetic as synth
from commerceml.model import FileRole

__all__ = [
    "CatalogForm",
    "CatalogSpec",
    "FileCounts",
    "GeneratedCatalog",
    "GeneratedFile",
    "generate_catalog",
]

ENCODINGS: Final = ("utf-8", "windows-1251")


class CatalogForm(enum.StrEnum):
    CLASSIC = "classic"
    SPLIT31 = "split31"


@dataclass(frozen=True, slots=True)
class CatalogSpec:
    """What to generate.

    ``properties`` and ``description_sentences`` tune the file size: each product lists about
    30% of the properties (about 240 bytes per value) and 30% of the products carry a description
    of about that many sentences (about 220 bytes each in UTF-8). The defaults give about 480 MB
    for 100,000 products / 140,000 offers / 2 price types / 2 warehouses in UTF-8, about 330 MB
    in windows-1251 (Cyrillic takes one byte there).
    """

    products: int
    characteristics_share: float = 0.2
    characteristics_per_product: int = 3
    price_types: int = 2
    warehouses: int = 2
    groups: int = 40
    properties: int = 6
    form: CatalogForm = CatalogForm.CLASSIC
    encoding: str = "utf-8"
    seed: int = 1
    description_sentences: int = 2
    bom: bool = True
    created: dt.datetime = dt.datetime(2024, 6, 10, 9, 15, 0)

    def __post_init__(self) -> None:
        checks = (
            (self.products >= 0, f"products must be >= 0, got {self.products}"),
            (
                0.0 <= self.characteristics_share <= 1.0,
                f"characteristics share must be within 0..1, got {self.characteristics_share}",
            ),
            (
                self.characteristics_per_product >= 1,
                f"characteristics per product must be >= 1, got {self.characteristics_per_product}",
            ),
            (self.price_types >= 1, f"price types must be >= 1, got {self.price_types}"),
            (self.warehouses >= 0, f"warehouses must be >= 0, got {self.warehouses}"),
            (self.groups >= 1, f"groups must be >= 1, got {self.groups}"),
            (self.properties >= 0, f"properties must be >= 0, got {self.properties}"),
            (
                self.description_sentences >= 0,
                f"description sentences must be >= 0, got {self.description_sentences}",
            ),
            (
                self.encoding in ENCODINGS,
                f"encoding must be one of {', '.join(ENCODINGS)}, got {self.encoding!r}",
            ),
        )
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        object.__setattr__(self, "form", CatalogForm(self.form))

    @property
    def products_with_characteristics(self) -> int:
        return synth.characteristic_products(self.products, self.characteristics_share)

    @property
    def offers(self) -> int:
        with_chars = self.products_with_characteristics
        return self.products - with_chars + with_chars * self.characteristics_per_product


@dataclass(frozen=True, slots=True)
class FileCounts:
    """What one file holds, counted the way ``cml-exchange inspect --json`` counts (plus stock rows)."""

    groups: int = 0
    properties: int = 0
    price_types: int = 0
    warehouses: int = 0
    products: int = 0
    offers: int = 0
    prices: int = 0
    stock_rows: int = 0
    units: int = 0
    documents: int = 0

    def inspect_counts(self) -> dict[str, int]:
        """The ``counts`` object of ``inspect --json`` for this file."""
        return {
            "groups": self.groups,
            "properties": self.properties,
            "price_types": self.price_types,
            "warehouses": self.warehouses,
            "products": self.products,
            "offers": self.offers,
            "prices": self.prices,
            "documents": self.documents,
        }


@dataclass(frozen=True, slots=True)
class GeneratedFile:
    path: Path
    role: FileRole
    counts: FileCounts


@dataclass(frozen=True, slots=True)
class GeneratedCatalog:
    """The files written, in the order 1C would import them, and the totals a reader must find."""

    spec: CatalogSpec
    out_dir: Path
    files: tuple[GeneratedFile, ...]
    products: int
    offers: int
    characteristic_offers: int
    prices: int
    stock_rows: int
    groups: int
    properties: int
    price_types: int
    warehouses: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(f.path for f in self.files)

    @property
    def total_bytes(self) -> int:
        return sum(f.path.stat().st_size for f in self.files)

    def by_role(self, role: FileRole) -> tuple[GeneratedFile, ...]:
        return tuple(f for f in self.files if f.role is role)


def generate_catalog(out_dir: str | os.PathLike[str], spec: CatalogSpec) -> GeneratedCatalog:
    """Write the catalog described by ``spec`` into ``out_dir`` (created if needed).

    Existing files of the same names are overwritten. On any error the files written so far are
    removed and the error propagates.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(spec.seed)
    world = synth.make_world(
        rng,
        groups=spec.groups,
        properties=spec.properties,
        price_types=spec.price_types,
        warehouses=spec.warehouses,
    )
    classic = spec.form is CatalogForm.CLASSIC
    layout_of = forms.classic_layout if classic else forms.split31_layout
    layout = layout_of(out, random.Random(f"file-names:{spec.seed}"))
    written: list[Path] = []
    try:
        with ExitStack() as stack:
            docs: dict[FileRole, forms.XmlDoc] = {}
            for role, path in layout:
                doc = forms.XmlDoc(path, encoding=spec.encoding, bom=spec.bom, created=spec.created)
                written.append(path)
                docs[role] = stack.enter_context(doc)
            write = forms.write_classic if classic else forms.write_split31
            write(docs, world, products(rng, world, spec))
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    files = tuple(
        GeneratedFile(
            path, role, FileCounts(**forms.counts(classic, role, world, spec.products, spec.offers))
        )
        for role, path in layout
    )
    with_chars = spec.products_with_characteristics
    return GeneratedCatalog(
        spec=spec,
        out_dir=out,
        files=files,
        products=spec.products,
        offers=spec.offers,
        characteristic_offers=with_chars * spec.characteristics_per_product,
        prices=spec.offers * spec.price_types,
        stock_rows=spec.offers * spec.warehouses,
        groups=spec.groups,
        properties=spec.properties,
        price_types=spec.price_types,
        warehouses=spec.warehouses,
    )


def products(rng: random.Random, world: synth.World, spec: CatalogSpec) -> Iterator[synth.SynthProduct]:
    """The products of the catalog, generated one at a time."""
    with_chars = spec.products_with_characteristics
    for index in range(spec.products):
        chars = (
            spec.characteristics_per_product
            if synth.has_characteristics(index, spec.products, with_chars)
            else 0
        )
        yield synth.make_product(
            rng, world, index, characteristics=chars, description_sentences=spec.description_sentences
        )
