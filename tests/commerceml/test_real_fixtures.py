"""Conformance over the real CommerceML collection (``CML_REAL_FIXTURES``): issue 2 acceptance.

Every real file is read with the streaming reader and must give exactly the role, version, encoding,
flag and counts of the literal table in ``real_expectations.py``, plus the sampled field values.
Two meta-tests keep the table honest: it must cover every CommerceML file of the folder, and its
counts (and header facts) are re-derived here with a plain lxml parse and XPath on ``local-name()``,
a code path that shares nothing with the reader. Broken copies of real files, made in ``tmp_path``,
must fail with a located error, also through ``cml-exchange inspect``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from commerceml import errors
from commerceml.model import (
    CatalogInfo,
    ClassifierInfo,
    Document,
    Group,
    Offer,
    OfferPackageInfo,
    PriceType,
    Product,
    Property,
    Warehouse,
)
from commerceml.reader import iter_file, read_summary
from exchange_server.cli import main
from tests.commerceml.real_expectations import (
    COUNT_KEYS,
    EXPECTATIONS,
    MALFORMED,
    Damage,
    Expectation,
    Sample,
)

BY_NAME = {expectation.name: expectation for expectation in EXPECTATIONS}
COMMERCEML_SUFFIXES = (".xml", ".done")

# --- resolving a sample against the model -------------------------------------------------------

KINDS: dict[str, type] = {
    "group": Group,
    "property": Property,
    "price_type": PriceType,
    "warehouse": Warehouse,
    "product": Product,
    "offer": Offer,
    "document": Document,
    "classifier": ClassifierInfo,
    "catalog": CatalogInfo,
    "package": OfferPackageInfo,
}


class _Missing:
    """What a path step gives when the entity has no such item; never equal to an expectation."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()

_NAME = re.compile(r"[A-Za-z_]\w*")
_INDEX = re.compile(r"\[(\d+)\]")

Step = tuple[str, str | None, int | None]


def parse_field(path: str) -> list[Step]:
    """Split ``price(pt).value`` / ``owner.address.fields[2].value`` into (name, argument, index) steps.

    The argument may itself hold dots and balanced parentheses (``characteristic(Цвет. (Доп))``).
    """
    steps: list[Step] = []
    pos = 0
    while pos < len(path):
        match = _NAME.match(path, pos)
        if match is None:
            raise ValueError(f"bad field path {path!r} at {pos}")
        name = match.group()
        pos = match.end()
        argument = None
        if pos < len(path) and path[pos] == "(":
            depth = 0
            for end in range(pos, len(path)):
                depth += {"(": 1, ")": -1}.get(path[end], 0)
                if depth == 0:
                    break
            else:
                raise ValueError(f"unbalanced parentheses in {path!r}")
            argument = path[pos + 1 : end]
            pos = end + 1
        index = None
        match = _INDEX.match(path, pos)
        if match is not None:
            index = int(match.group(1))
            pos = match.end()
        if pos < len(path):
            if path[pos] != ".":
                raise ValueError(f"bad field path {path!r} at {pos}")
            pos += 1
        steps.append((name, argument, index))
    return steps


def _find(items: Iterable[Any] | None, attribute: str, key: str) -> Any:
    for item in items or ():
        if getattr(item, attribute) == key:
            return item
    return MISSING


def _call(value: Any, name: str, argument: str) -> Any:
    if name == "requisite":
        requisite = _find(value.requisites, "name", argument)
        return MISSING if requisite is MISSING else requisite.value
    if name == "property":
        found = _find(value.property_values, "property_id", argument)
        return MISSING if found is MISSING else found.values
    if name == "variant":
        found = _find(value.variants, "id", argument)
        return MISSING if found is MISSING else found.value
    if name == "price":
        return _find(value.prices, "price_type_id", argument)
    if name == "stock":
        found = _find(value.stock, "warehouse_id", argument)
        return MISSING if found is MISSING else found.quantity
    if name == "characteristic":
        found = _find(value.characteristics, "name", argument)
        return MISSING if found is MISSING else found.value
    if name == "line":
        return _find(value.lines, "id", argument)
    raise ValueError(f"unknown accessor {name}()")


def resolve(entity: Any, path: str) -> Any:
    """The value ``path`` names on ``entity`` (grammar in ``real_expectations``), or ``MISSING``."""
    value = entity
    for name, argument, index in parse_field(path):
        if value is MISSING or value is None:
            return MISSING
        if argument is not None:
            value = _call(value, name, argument)
        else:
            value = getattr(value, name, MISSING)
        if index is not None and value is not MISSING:
            try:
                value = value[index]
            except (IndexError, TypeError):
                return MISSING
    return value


def same(expected: object, got: object) -> bool:
    """Equal and of the same type (a Decimal is not a str, a datetime is not a date)."""
    if expected is None or got is None:
        return expected is got
    if isinstance(expected, tuple):
        return (
            isinstance(got, tuple)
            and len(expected) == len(got)
            and all(same(e, g) for e, g in zip(expected, got, strict=True))
        )
    return type(got) is type(expected) and got == expected


def check_samples(entities: list[Any], samples: Iterable[Sample]) -> list[str]:
    """Every sample that does not hold, as 'kind id field: expected X, got Y'."""
    mismatches = []
    for sample in samples:
        cls = KINDS[sample.kind]
        found = [e for e in entities if isinstance(e, cls) and getattr(e, "id", None) == sample.id]
        if not found:
            got: object = f"<no {cls.__name__} with this Ид>"
        else:
            got = resolve(found[0], sample.field)
        if not same(sample.expected, got):
            mismatches.append(
                f"{sample.kind} {sample.id!r} {sample.field}: expected {sample.expected!r}, got {got!r}"
            )
    return mismatches


def expected_json(expectation: Expectation) -> dict[str, Any]:
    """The ``inspect --json`` object the issue specifies for this file."""
    return {
        "role": expectation.role,
        "schema_version": expectation.schema_version,
        "encoding": expectation.encoding,
        "changes_only": expectation.changes_only,
        "counts": dict(expectation.counts),
    }


def _ids(expectations: Iterable[Expectation]) -> list[str]:
    return [expectation.name for expectation in expectations]


# --- the table against the reader ----------------------------------------------------------------


@pytest.mark.parametrize("expectation", EXPECTATIONS, ids=_ids(EXPECTATIONS))
def test_summary(real_fixtures: Path, expectation: Expectation) -> None:
    summary = read_summary(real_fixtures / expectation.name)
    got = {
        "role": str(summary.role),
        "schema_version": summary.schema_version,
        "encoding": summary.encoding,
        "changes_only": summary.changes_only,
        "counts": dict(summary.counts),
    }
    want = expected_json(expectation)
    diff = {key: (want[key], got[key]) for key in want if want[key] != got[key]}
    assert not diff, f"{expectation.name}: field: (expected, got): {diff}"


@pytest.mark.parametrize("expectation", EXPECTATIONS, ids=_ids(EXPECTATIONS))
def test_sampled_values(real_fixtures: Path, expectation: Expectation) -> None:
    entities = list(iter_file(real_fixtures / expectation.name))
    mismatches = check_samples(entities, expectation.samples)
    assert not mismatches, f"{expectation.name}:\n  " + "\n  ".join(mismatches)


@pytest.mark.parametrize("expectation", EXPECTATIONS, ids=_ids(EXPECTATIONS))
def test_entity_stream_matches_the_counts(real_fixtures: Path, expectation: Expectation) -> None:
    """Not only the summary: every counted element comes out of ``iter_file`` as an entity.

    The one exception: an empty ``<Предложение/>`` (27 in the ERP offers file) has no Ид, so it is
    counted but cannot become an Offer; the reader reports it as a warning instead.
    """
    path = real_fixtures / expectation.name
    entities = list(iter_file(path))
    tree = etree.parse(str(path), etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True))
    empty_offers = _count(tree, f"//{_local('Предложение')}[not(*) and not(normalize-space())]")
    streamed = {
        "groups": sum(isinstance(e, Group) for e in entities),
        "properties": sum(isinstance(e, Property) for e in entities),
        "price_types": sum(isinstance(e, PriceType) for e in entities),
        "warehouses": sum(isinstance(e, Warehouse) for e in entities),
        "products": sum(isinstance(e, Product) for e in entities),
        "offers": sum(isinstance(e, Offer) for e in entities),
        "prices": sum(len(e.prices or ()) for e in entities if isinstance(e, Offer)),
        "documents": sum(isinstance(e, Document) for e in entities),
    }
    assert streamed == {**expectation.counts, "offers": expectation.counts["offers"] - empty_offers}


CHUNKED_FILES = (
    "Kremenchuk__parseXML/data__original_file__to_site__to.xml",
    "bigperson__exchange1c/tests__xml__offers.xml",
    "gillbeits__commerceml/tests__import.xml",
    "solopovsergey__bxmaker.kits/upload__1c_catalog__import.xml",
    "irpsv__commerceml/tests__assets__off-doc-1c__orders.xml",
)


@pytest.mark.parametrize("name", CHUNKED_FILES)
def test_small_chunks_give_the_same_entities(real_fixtures: Path, name: str) -> None:
    path = real_fixtures / name
    assert list(iter_file(path, chunk_size=61)) == list(iter_file(path))


def test_the_sample_checker_can_fail() -> None:
    """The comparison is strict: a wrong value, a wrong type and an absent entity all count."""
    product = Product(id="p", name="Товар", base_unit=None, requisites=())
    samples = (
        Sample("product", "p", "name", "Товар"),
        Sample("product", "p", "name", "Другой"),
        Sample("product", "p", "weight", Decimal("0")),
        Sample("product", "p", "requisite(Вес)", "0"),
        Sample("product", "q", "name", "Товар"),
    )
    mismatches = check_samples([product], samples)
    assert len(mismatches) == 4
    assert not same(Decimal("1"), "1")
    assert not same(dt.date(2007, 10, 16), dt.datetime(2007, 10, 16))
    assert same(Decimal("1.00"), Decimal("1"))
    assert parse_field("characteristic(Цвет. (Доп)).value") == [
        ("characteristic", "Цвет. (Доп)", None),
        ("value", None, None),
    ]
    assert parse_field("owner.address.fields[2].value")[2] == ("fields", None, 2)


# --- the table itself: complete, and its counts re-derived without the reader --------------------


def commerceml_files(folder: Path) -> Iterator[str]:
    """Every CommerceML document of the collection (the official .xsd schemas are not)."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in COMMERCEML_SUFFIXES:
            yield path.relative_to(folder).as_posix()


def test_table_covers_every_real_file(real_fixtures: Path) -> None:
    on_disk = set(commerceml_files(real_fixtures))
    in_table = [expectation.name for expectation in EXPECTATIONS]
    assert len(in_table) == len(set(in_table)), "a file is listed twice"
    assert sorted(on_disk - set(in_table)) == [], "real files without an entry in real_expectations.py"
    assert sorted(set(in_table) - on_disk) == [], "entries whose file is not in the collection"


def test_table_counts_keys_and_roles_are_well_formed() -> None:
    roles = {"classifier", "goods", "offers", "prices", "rests", "documents", "counterparties"}
    for expectation in EXPECTATIONS:
        assert tuple(expectation.counts) == COUNT_KEYS, expectation.name
        assert expectation.role in roles, expectation.name
        assert expectation.encoding in ("utf-8", "windows-1251"), expectation.name
        assert len(expectation.samples) >= 2, expectation.name
        for sample in expectation.samples:
            assert sample.kind in KINDS, sample
            parse_field(sample.field)


def _local(name: str) -> str:
    return f"*[local-name()='{name}']"


INDEPENDENT_COUNTS = {
    "groups": f"//{_local('Классификатор')}//{_local('Группа')}",
    "properties": f"//{_local('Свойства')}/*[local-name()='Свойство' or local-name()='СвойствоНоменклатуры']",
    "price_types": f"//{_local('ТипыЦен')}/{_local('ТипЦены')}",
    "warehouses": f"//{_local('Склады')}/{_local('Склад')}",
    "products": f"//{_local('Каталог')}/{_local('Товары')}/{_local('Товар')}",
    "offers": f"//{_local('Предложение')}",
    "prices": f"//{_local('Цены')}/{_local('Цена')}",
    "documents": f"//{_local('Документ')}",
}
_DECLARED = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _count(tree: Any, xpath: str) -> int:
    result = tree.xpath(f"count({xpath})")
    assert isinstance(result, float)
    return int(result)


def _elements(root: Any, xpath: str) -> list[Any]:
    result = root.xpath(xpath)
    assert isinstance(result, list)
    return result


def _children(element: Any, name: str) -> list[Any]:
    return [child for child in element if isinstance(child.tag, str) and etree.QName(child).localname == name]


def independent_role(root: Any) -> str:
    """protocol.md §5.3 by content, written against a full lxml tree."""
    if _children(root, "Документ") or _children(root, "Контейнер"):
        return "documents"
    if _children(root, "Контрагенты"):
        return "counterparties"
    if any(_children(catalog, "Товары") for catalog in _children(root, "Каталог")):
        return "goods"
    packages = _children(root, "ПакетПредложений")
    if packages:
        offers = _elements(root, f"//{_local('Предложение')}")
        prices = any(_children(offer, "Цены") for offer in offers)
        stock = any(_children(offer, name) for offer in offers for name in ("Остатки", "Количество", "Склад"))
        if prices and stock:
            return "offers"
        if prices:
            return "prices"
        return "rests" if stock else "offers"
    return "classifier" if _children(root, "Классификатор") else "unknown"


@pytest.mark.parametrize("expectation", EXPECTATIONS, ids=_ids(EXPECTATIONS))
def test_table_agrees_with_plain_lxml(real_fixtures: Path, expectation: Expectation) -> None:
    path = real_fixtures / expectation.name
    parser = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True, load_dtd=False)
    tree = etree.parse(str(path), parser)
    root = tree.getroot()
    counted = {key: _count(tree, xpath) for key, xpath in INDEPENDENT_COUNTS.items()}
    assert counted == dict(expectation.counts)

    declared = _DECLARED.match(path.read_bytes()[:512])
    assert (declared.group(1).decode().lower() if declared else "utf-8") == expectation.encoding
    assert root.get("ВерсияСхемы") == expectation.schema_version
    flags = [e.get("СодержитТолькоИзменения") for e in root.iter() if "СодержитТолькоИзменения" in e.attrib]
    flags += [(e.text or "").strip() for e in _elements(root, f"//{_local('СодержитТолькоИзменения')}")]
    assert len(set(flags)) <= 1, f"conflicting flags {flags}"
    assert (flags[0] == "true" if flags else None) == expectation.changes_only
    assert independent_role(root) == expectation.role


# --- the CLI -------------------------------------------------------------------------------------

CLI_FILES = (
    "Kremenchuk__parseXML/data__from_ERP__example__import.xml",
    "gillbeits__commerceml/example__import___b815e2db-7a65-4265-9241-5f0c4f0565a7.xml",
    "Sergey37-iv__txt/offers.xml",
    "wagood__commerceml/example__commerce-ml3__prices___478f43af-4dba-47c9-b3fa-d9737c14a30f.xml",
    "gillbeits__commerceml/example__rests___1af6e7b8-a026-4690-9752-1c9d64cb914d.xml",
    "carono__php-commerceml/tests__xml__orders.xml",
    "sosloow__node-CommerceML-parser/spec__files__offers.test.done",
)


@pytest.mark.parametrize("name", CLI_FILES)
def test_inspect_json(real_fixtures: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["inspect", str(real_fixtures / name), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    last = out.rstrip("\n").splitlines()[-1]
    assert json.loads(last) == expected_json(BY_NAME[name])


# --- broken copies of real files ------------------------------------------------------------------


def damaged_copy(folder: Path, damage: Damage, into: Path) -> Path:
    """Write the broken copy of ``damage.source`` into ``into`` and return its path."""
    source = folder / damage.source
    data = source.read_bytes()
    target = into / Path(damage.source).name
    if damage.action == "as_is":
        target.write_bytes(data)
        return target
    encoding = "cp1251" if b'encoding="windows-1251"' in data[:100] else "utf-8"
    lines = data.split(b"\n")
    index = damage.line - 1

    def encoded(text: str | bytes) -> bytes:
        return text if isinstance(text, bytes) else text.encode(encoding)

    if damage.action == "truncate":
        cut = lines[index][: len(lines[index]) // 2]
        lines = [*lines[:index], cut]
    elif damage.action == "replace":
        old = encoded(damage.old)
        assert old in lines[index], f"{damage.id}: {damage.old!r} is not on line {damage.line}"
        lines[index] = lines[index].replace(old, encoded(damage.new), 1)
    elif damage.action == "insert":
        lines.insert(index, encoded(damage.new))
    else:
        raise ValueError(f"unknown damage action {damage.action}")
    target.write_bytes(b"\n".join(lines))
    return target


@pytest.mark.parametrize("damage", MALFORMED, ids=[damage.id for damage in MALFORMED])
def test_broken_file_gives_a_located_error(real_fixtures: Path, damage: Damage, tmp_path: Path) -> None:
    path = damaged_copy(real_fixtures, damage, tmp_path)
    with pytest.raises(errors.CommerceMLError) as caught:
        for _entity in iter_file(path):
            pass
    error = caught.value
    assert type(error).__name__ == damage.error, f"{type(error).__name__}: {error}"
    assert error.line == damage.line, str(error)
    assert error.filename == str(path)
    assert f"line {damage.line}" in str(error)
    if damage.path_part is not None:
        assert damage.path_part in (error.path or ""), f"path {error.path!r} of {error}"


@pytest.mark.parametrize(
    "damage",
    [d for d in MALFORMED if d.id in ("truncated-windows-1251", "mismatched-end-tag", "bad-price-number")],
    ids=lambda damage: damage.id,
)
def test_inspect_broken_file_exits_2_naming_the_line(
    real_fixtures: Path, damage: Damage, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = damaged_copy(real_fixtures, damage, tmp_path)
    code = main(["inspect", str(path), "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert f"line {damage.line}" in captured.err + captured.out
