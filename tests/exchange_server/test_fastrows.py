"""The fast row builders (``store.fastrows``) against the slow path, element by element and file by file.

Differential: for every ``Товар`` / ``Предложение`` the reader meets, the fast builder's row must equal
the slow path's (``entity_to_row(conv.product(...))`` / ``offer_row(conv.offer(...))``) field by field
whenever the fast builder returns one, and when the slow path would raise or warn, the fast builder must
decline. Whole files: ``produce_batches`` with and without the fast path gives the same batches, the
same summary and the same warnings. Inputs: the real fixture collection, generated catalogs (both
forms, both encodings, several seeds), and hypothesis-built elements mixing known and unknown children
with odd values.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commerceml import _convert as conv
from commerceml.errors import CommerceMLError
from commerceml.generator import CatalogForm, CatalogSpec, generate_catalog
from commerceml.reader import Reader, ReadSummary
from exchange_server.store import fastrows, parsing
from exchange_server.store.rows import EntityRow, OfferRow, offer_row
from tests.exchange_server.conftest import REAL_FIXTURES

Counts = collections.Counter[str]


# --- the differential checks -------------------------------------------------------------------


def _same_entity_row(fast: EntityRow, slow: EntityRow) -> None:
    assert fast == slow
    assert list(fast.values) == list(slow.values)  # the same columns in the same order
    assert list(fast.children) == list(slow.children)
    assert fast.data_json == slow.data_json


def check_product(el: Any, file_dir: str, counts: Counts) -> EntityRow | None:
    """The fast product row and the slow one for the same element; asserts they agree."""
    fast = fastrows.product_row(el, file_dir, parsing.resolve_image)
    counts["products"] += 1
    warnings: list[str] = []
    try:
        slow = parsing.entity_to_row(conv.product(el, "Товар"), file_dir, warnings)[1]
    except CommerceMLError:
        assert fast is None, "the slow path raises but the fast path built a row"
        return None
    if fast is None:
        return None
    counts["fast_products"] += 1
    assert not warnings, f"the slow path warns ({warnings}) but the fast path built a row"
    assert isinstance(slow, EntityRow)
    _same_entity_row(fast, slow)
    return fast


def check_offer(el: Any, counts: Counts) -> OfferRow | None:
    """The fast offer row and facts and the slow ones for the same element; asserts they agree."""
    facts = fastrows.offer_facts(el)
    counts["offers"] += 1
    try:
        offer = conv.offer(el, "Предложение")
    except CommerceMLError:
        assert facts is None, "the slow path raises but the fast path built a row"
        return None
    if facts is None:
        return None
    counts["fast_offers"] += 1
    slow = offer_row(offer)
    fast = facts.item
    assert isinstance(fast, OfferRow)
    assert fast == slow
    if slow.description is not None:
        assert fast.description is not None
        _same_entity_row(fast.description, slow.description)
    assert facts.prices == (None if offer.prices is None else len(offer.prices))
    assert facts.stocked == (offer.stock is not None or offer.quantity is not None)
    assert facts.descriptive == bool(
        offer.characteristics
        or offer.property_values
        or any(getattr(offer, f) is not None for f in ("name", "article", "barcode", "base_unit"))
    )
    return fast


def checking_converters(file_dir: str, counts: Counts) -> dict[str, Callable[[Any], Any]]:
    """Fast converters for the reader that compare both paths on each element, then decline."""

    def product(el: Any) -> None:
        check_product(el, file_dir, counts)

    def offer(el: Any) -> None:
        check_offer(el, counts)

    return {"Товар": product, "Предложение": offer}


def read_checked(data: bytes, file_dir: str = "", chunk: int = 1 << 16) -> Counts:
    """Read ``data`` with the element-by-element check; a file the reader refuses is fine (counts so far)."""
    counts: Counts = collections.Counter()
    reader = Reader("x.xml", fast=checking_converters(file_dir, counts))
    try:
        for start in range(0, len(data), chunk):
            reader.feed(data[start : start + chunk])
        reader.close()
    except CommerceMLError:
        pass
    return counts


def batches(path: Path, file_dir: str, *, fast: bool) -> tuple[Any, ...]:
    summary = ReadSummary(filename=str(path))
    warnings: list[str] = []
    out: list[Any] = []
    error: str | None = None
    try:
        parsing.produce_batches(
            path,
            file_dir,
            batch_size=97,
            chunk_size=4096,
            summary=summary,
            warnings=warnings,
            put=out.append,
            fast=fast,
        )
    except CommerceMLError as exc:
        error = repr(exc)
    return out, summary, warnings, error


def assert_same_file(path: Path, file_dir: str = "") -> None:
    """``produce_batches`` gives the same batches, summary, warnings (and error) with the fast path."""
    fast = batches(path, file_dir, fast=True)
    slow = batches(path, file_dir, fast=False)
    assert fast[1] == slow[1]  # ReadSummary: counts, role, flags, warnings
    assert fast[2] == slow[2]
    assert fast[3] == slow[3]
    assert len(fast[0]) == len(slow[0])
    for (fast_kind, fast_rows), (slow_kind, slow_rows) in zip(fast[0], slow[0], strict=True):
        assert fast_kind == slow_kind
        assert fast_rows == slow_rows


# --- real files ----------------------------------------------------------------------------------


def _real_files() -> list[Path]:
    if not REAL_FIXTURES.is_dir():
        return []
    return sorted(p for p in REAL_FIXTURES.rglob("*.xml") if p.is_file())


REAL_FILES = _real_files()


def test_the_real_collection_is_there() -> None:
    if not REAL_FILES:
        pytest.skip(f"real fixtures not available at {REAL_FIXTURES}; set CML_REAL_FIXTURES")
    assert len(REAL_FILES) > 20


@pytest.mark.parametrize("path", REAL_FILES, ids=[str(p.relative_to(REAL_FIXTURES)) for p in REAL_FILES])
def test_real_files_element_by_element(path: Path) -> None:
    read_checked(path.read_bytes(), "pkg/dir")


@pytest.mark.parametrize("path", REAL_FILES, ids=[str(p.relative_to(REAL_FIXTURES)) for p in REAL_FILES])
def test_real_files_whole(path: Path) -> None:
    assert_same_file(path, "pkg")


def test_fast_path_share_on_real_files(capsys: pytest.CaptureFixture[str]) -> None:
    """Reports how much of the real collection takes the fast path (and holds that it is used at all)."""
    if not REAL_FILES:
        pytest.skip(f"real fixtures not available at {REAL_FIXTURES}")
    total: Counts = collections.Counter()
    for path in REAL_FILES:
        total.update(read_checked(path.read_bytes(), ""))
    with capsys.disabled():
        print(
            f"\nfast path on the real fixtures: products {total['fast_products']}/{total['products']}, "
            f"offers {total['fast_offers']}/{total['offers']}"
        )
    assert total["fast_products"] > total["products"] // 2
    assert total["fast_offers"] > total["offers"] // 2


# --- generated catalogs ------------------------------------------------------------------------------


@pytest.mark.parametrize("form", list(CatalogForm))
@pytest.mark.parametrize("encoding", ["utf-8", "windows-1251"])
@pytest.mark.parametrize("seed", [1, 7, 42])
def test_generated_catalogs(tmp_path: Path, form: CatalogForm, encoding: str, seed: int) -> None:
    spec = CatalogSpec(products=150, form=form, encoding=encoding, seed=seed, characteristics_share=0.3)
    catalog = generate_catalog(tmp_path, spec)
    total: Counts = collections.Counter()
    for path in catalog.paths:
        total.update(read_checked(path.read_bytes(), "goods"))
        assert_same_file(path, "goods")
    assert total["products"] == spec.products
    assert total["offers"] == catalog.offers * (
        3 if form is CatalogForm.SPLIT31 else 1
    )  # offers, prices, rests
    # Coverage: the fast path is useless unless it takes (almost) everything our generator writes.
    assert total["fast_products"] >= 0.99 * total["products"]
    assert total["fast_offers"] >= 0.99 * total["offers"]


# --- the checks can fail --------------------------------------------------------------------------

_OFFER = """<КоммерческаяИнформация ВерсияСхемы="2.08"><ПакетПредложений><Предложения>{}
</Предложения></ПакетПредложений></КоммерческаяИнформация>"""
_PRODUCT = """<КоммерческаяИнформация ВерсияСхемы="2.08"><Каталог><Товары>{}
</Товары></Каталог></КоммерческаяИнформация>"""

_AN_OFFER = (
    "<Предложение><Ид>p1#c1</Ид><Наименование>Н</Наименование><Цены><Цена><ИдТипаЦены>t</ИдТипаЦены>"
    "<ЦенаЗаЕдиницу>10.50</ЦенаЗаЕдиницу><Валюта>руб</Валюта></Цена></Цены><Количество>3</Количество>"
    '<Склад ИдСклада="w" КоличествоНаСкладе="3"/></Предложение>'
)


def test_a_wrong_fast_row_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The differential check fails when the fast builder gets a price wrong (so the checks can fail)."""
    real = fastrows.offer_facts

    def wrong(el: Any) -> Any:
        facts = real(el)
        assert facts is not None
        row = facts.item
        assert row.prices is not None
        row.prices[0] = (*row.prices[0][:2], "10.5", *row.prices[0][3:])
        return facts

    assert read_checked(_OFFER.format(_AN_OFFER).encode())["fast_offers"] == 1
    monkeypatch.setattr(fastrows, "offer_facts", wrong)
    with pytest.raises(AssertionError):
        read_checked(_OFFER.format(_AN_OFFER).encode())


def test_a_different_element_gives_a_different_row_or_declines() -> None:
    base = _element(_OFFER.format(_AN_OFFER), "Предложение")
    changed = _element(_OFFER.format(_AN_OFFER.replace("10.50", "10.5")), "Предложение")
    unknown = _element(
        _OFFER.format(_AN_OFFER.replace("<Количество>", "<Х>1</Х><Количество>")), "Предложение"
    )
    first, second = fastrows.offer_facts(base), fastrows.offer_facts(changed)
    assert first is not None and second is not None
    assert first.item.prices != second.item.prices
    assert first.item.prices_hash != second.item.prices_hash
    assert fastrows.offer_facts(unknown) is None  # unknown child: the slow path keeps it in extra


def _element(document: str, tag: str) -> Any:
    found: list[Any] = []

    def keep(el: Any) -> None:
        found.append(el.__copy__())

    reader = Reader("x.xml", fast={tag: keep})
    reader.feed(document.encode())
    reader.close()
    assert len(found) == 1
    return found[0]


# --- hypothesis-built elements -----------------------------------------------------------------------

_TEXT = st.one_of(
    st.sampled_from(["", " ", "a", "  b c ", "\n\tЖ\n", "Удален", "x#y", "#", "p1#p1", "&<>\"'"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), max_codepoint=0xFFFD), max_size=8),
)
_GOOD_NUMBER = st.one_of(
    st.sampled_from(
        ["1", "0", "-0", "+5", "1E+2", "1e-3", " 12 ", "1 000,50", "1,5", "0.50", "007", "", "-0.0", "00.10",
         "1\u00a0000", "12345678901234567890123456789012.5", "-3.25", "10", "38", "13370.99"]
    ),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.integers(-(10**12), 10**12).map(str),
)  # fmt: skip
_NUMBER = _GOOD_NUMBER | st.sampled_from(["abc", "1.", ".5", "٣", "1..2", "--1", " "])
_FLAG = st.sampled_from(["true", "false", " true ", "истина", "1", "0", "", "нет", "maybe", "TRUE"])
_GOOD_ID = st.sampled_from(["a", "b", "a#b", "a#", "a#a", " a ", "b#c"])
_ID = _GOOD_ID | st.sampled_from(["", " ", "#b"])


def _leaf(tag: str, text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return text.map(lambda t: f"<{tag}>{escape(t)}</{tag}>") | st.just(f"<{tag}/>")


def _node(tag: str, children: st.SearchStrategy[list[str]], attrs: str = "") -> st.SearchStrategy[str]:
    return children.map(lambda c: f"<{tag}{attrs}>{''.join(c)}</{tag}>")


def _some(*parts: st.SearchStrategy[str], max_size: int = 6) -> st.SearchStrategy[list[str]]:
    return st.lists(st.one_of(*parts), max_size=max_size)


def _mostly(
    good: st.SearchStrategy[str], bad: st.SearchStrategy[str], max_size: int
) -> st.SearchStrategy[list[str]]:
    """Children mostly of a known shape, now and then one bad one, in any order."""
    return st.tuples(st.lists(good, max_size=max_size), st.lists(bad, max_size=1)).flatmap(
        lambda t: st.permutations(t[0] + t[1])
    )


_UNKNOWN = _leaf("Неизвестный", _TEXT) | st.just("<Код>1</Код>") | st.just("<Статус>Удален</Статус>")
_TAX = _node(
    "Налог",
    _some(
        _leaf("Наименование", _TEXT),
        _leaf("УчтеноВСумме", _FLAG),
        _leaf("Акциз", _FLAG),
        _UNKNOWN,
        max_size=3,
    ),
)
_PRICE = _node(
    "Цена",
    _some(
        _leaf("ИдТипаЦены", _ID),
        _leaf("ЦенаЗаЕдиницу", _NUMBER),
        _leaf("Валюта", _TEXT),
        _leaf("Коэффициент", _NUMBER),
        _leaf("Представление", _TEXT),
        _leaf("Единица", _TEXT),
        _leaf("МинКоличество", _NUMBER),
        _leaf("КоличествоОт", _NUMBER),
        _TAX,
        _UNKNOWN,
        max_size=7,
    ),
)
_GOOD_PRICE = st.tuples(_GOOD_ID, _GOOD_NUMBER.filter(str.strip)).map(
    lambda t: (
        f"<Цена><ИдТипаЦены>{escape(t[0])}</ИдТипаЦены><ЦенаЗаЕдиницу>{escape(t[1])}</ЦенаЗаЕдиницу></Цена>"
    )
)
_PRICES = _node("Цены", _some(_PRICE, _GOOD_PRICE, _GOOD_PRICE, _UNKNOWN, max_size=4))
_RECALC = _node(
    "Пересчет", _some(_leaf("Единица", _TEXT), _leaf("Коэффициент", _NUMBER), _UNKNOWN, max_size=3)
)
_GOOD_RECALC = _node(
    "Пересчет", _some(_leaf("Единица", _TEXT), _leaf("Коэффициент", _GOOD_NUMBER), max_size=2)
)


def _unit(names: list[str], recalculation: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    attrs = st.lists(st.sampled_from(names), unique=True, max_size=3)
    return st.tuples(
        attrs, st.lists(_TEXT, min_size=3, max_size=3), _TEXT, st.lists(recalculation, max_size=2)
    ).map(
        lambda t: (
            "<БазоваяЕдиница"
            + "".join(f" {name}={quoteattr(value)}" for name, value in zip(t[0], t[1], strict=False))
            + f">{escape(t[2])}{''.join(t[3])}</БазоваяЕдиница>"
        )
    )


_GOOD_UNIT = _unit(["Код", "НаименованиеПолное", "МеждународноеСокращение"], _GOOD_RECALC)
_UNIT = _unit(["Код", "НаименованиеПолное", "МеждународноеСокращение", "Другое"], _RECALC | _UNKNOWN)
_CHARS = _node(
    "ХарактеристикиТовара",
    _some(
        _node(
            "ХарактеристикаТовара",
            _some(
                _leaf("Наименование", _TEXT), _leaf("Значение", _TEXT), _leaf("Ид", _ID), _UNKNOWN, max_size=4
            ),
        ),
        _UNKNOWN,
        max_size=3,
    ),
)
_PROPS = _node(
    "ЗначенияСвойств",
    _some(
        _node(
            "ЗначенияСвойства",
            _some(
                _leaf("Ид", _ID),
                _leaf("Значение", _TEXT),
                _leaf("ИдЗначения", _ID),
                _leaf("Наименование", _TEXT),
            ),
        ),
        _node("ЗначениеСвойства", _some(_leaf("Ид", _ID), _leaf("Значение", _TEXT), _UNKNOWN, max_size=3)),
        _UNKNOWN,
        max_size=3,
    ),
)
_REQS = _node(
    "ЗначенияРеквизитов",
    _some(
        _node(
            "ЗначениеРеквизита",
            _some(_leaf("Наименование", _TEXT), _leaf("Значение", _TEXT), _UNKNOWN, max_size=3),
        ),
        _UNKNOWN,
        max_size=3,
    ),
)
_STOCK_ATTRS = st.lists(
    st.tuples(st.sampled_from(["ИдСклада", "КоличествоНаСкладе", "Количество", "Другое"]), _NUMBER | _ID),
    unique_by=lambda t: t[0],
    max_size=3,
)
_STOCK = _STOCK_ATTRS.map(lambda a: "<Склад" + "".join(f" {k}={quoteattr(v)}" for k, v in a) + "/>")
_GOOD_STOCK = st.tuples(_GOOD_ID, _GOOD_NUMBER).map(
    lambda t: f"<Склад ИдСклада={quoteattr(t[0])} КоличествоНаСкладе={quoteattr(t[1])}/>"
)
_RESTS = _node(
    "Остатки",
    _some(
        _node(
            "Остаток",
            _some(
                _node("Склад", _some(_leaf("Ид", _ID), _leaf("Количество", _NUMBER), _UNKNOWN, max_size=3)),
                _leaf("Количество", _NUMBER),
                _UNKNOWN,
                max_size=3,
            ),
        ),
        _UNKNOWN,
        max_size=2,
    ),
)
_OFFER_CHILDREN = _mostly(
    st.one_of(
        _leaf("Наименование", _TEXT),
        _leaf("Артикул", _TEXT),
        _leaf("Штрихкод", _TEXT),
        _leaf("ШтрихКод", _TEXT),
        _leaf("НомерВерсии", _TEXT),
        _leaf("ПометкаУдаления", st.sampled_from(["true", "false", " true ", "истина", "0", ""])),
        _leaf("Количество", _GOOD_NUMBER),
        _leaf("Картинка", _TEXT),
        _node("Цены", st.lists(_GOOD_PRICE, max_size=3)),
        _GOOD_STOCK,
        _GOOD_STOCK,
        _GOOD_UNIT,
        _CHARS,
        _PROPS,
        _REQS,
        _PRICES,
        _RESTS,
    ),
    st.one_of(
        _leaf("Ид", _ID), _STOCK, _UNKNOWN, _leaf("ПометкаУдаления", _FLAG), _leaf("Количество", _NUMBER)
    ),
    max_size=8,
)
_OFFER_ATTRS = st.sampled_from(["", "", "", "", ' Статус="Удален"', ' Статус=" "', ' Другое="x"'])
_OFFERS = st.lists(
    st.tuples(_OFFER_ATTRS, _leaf("Ид", _GOOD_ID), _OFFER_CHILDREN).flatmap(
        lambda t: st.permutations([t[1], *t[2]]).map(
            lambda c: f"<Предложение{t[0]}>{''.join(c)}</Предложение>"
        )
    ),
    min_size=1,
    max_size=4,
)

_GROUPS = _node("Группы", _some(_leaf("Ид", _ID), _leaf("Ид", _ID), _UNKNOWN, max_size=3))
_IMAGE = st.sampled_from(
    ["a.jpg", " import_files/a b.jpg ", "../x.jpg", "/abs.jpg", "c:\\x.jpg", "a\\b.jpg", ""]
)
_PRODUCT_CHILDREN = _mostly(
    st.one_of(
        _leaf("Наименование", _TEXT),
        _leaf("Артикул", _TEXT),
        _leaf("Штрихкод", _TEXT),
        _leaf("ШтрихКод", _TEXT),
        _leaf("Описание", _TEXT),
        _leaf("НомерВерсии", _TEXT),
        _leaf("ПометкаУдаления", st.sampled_from(["true", "false", " true ", "истина", "0", ""])),
        _leaf("Статус", _TEXT),
        _leaf("Страна", _TEXT),
        _leaf("Картинка", _IMAGE),
        _node("Картинки", _some(_leaf("Картинка", _IMAGE), _leaf("Другое", _IMAGE), max_size=3)),
        _leaf("Вес", _GOOD_NUMBER),
        _leaf("Длина", _GOOD_NUMBER),
        _leaf("Ширина", _GOOD_NUMBER),
        _leaf("Высота", _GOOD_NUMBER),
        _node(
            "Изготовитель",
            _some(_leaf("Ид", _ID), _leaf("Наименование", _TEXT), _leaf("ОфициальноеНаименование", _TEXT)),
        ),
        _node(
            "СтавкиНалогов",
            _some(
                _node("СтавкаНалога", _some(_leaf("Наименование", _TEXT), _leaf("Ставка", _TEXT))), max_size=2
            ),
        ),
        _GOOD_UNIT,
        _GROUPS,
        _CHARS,
        _PROPS,
        _REQS,
    ),
    st.one_of(
        _leaf("Ид", _ID),
        _UNKNOWN,
        _leaf("ПометкаУдаления", _FLAG),
        _leaf("Вес", _NUMBER),
        _UNIT,
        _node("Изготовитель", _some(_UNKNOWN, max_size=1)),
        _node("СтавкиНалогов", _some(_node("СтавкаНалога", _some(_UNKNOWN)), _UNKNOWN, max_size=2)),
    ),
    max_size=10,
)
_PRODUCT_ATTRS = st.sampled_from(["", "", "", ' Статус="Удален"', ' Статус=" x "', ' Другое="x"'])
_PRODUCTS = st.lists(
    st.tuples(_PRODUCT_ATTRS, _leaf("Ид", _GOOD_ID), _PRODUCT_CHILDREN).flatmap(
        lambda t: st.permutations([t[1], *t[2]]).map(lambda c: f"<Товар{t[0]}>{''.join(c)}</Товар>")
    ),
    min_size=1,
    max_size=4,
)
_HYPOTHESIS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _whole(tmp: Path, document: str) -> None:
    path = tmp / "x.xml"
    path.write_bytes(document.encode())
    assert_same_file(path, "pkg")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fastrows")


@_HYPOTHESIS
@given(offers=_OFFERS)
def test_hypothesis_offers(scratch: Path, offers: list[str]) -> None:
    document = _OFFER.format("\n".join(offers))
    read_checked(document.encode())
    _whole(scratch, document)


@_HYPOTHESIS
@given(products=_PRODUCTS)
def test_hypothesis_products(scratch: Path, products: list[str]) -> None:
    document = _PRODUCT.format("\n".join(products))
    read_checked(document.encode(), "pkg/dir")
    _whole(scratch, document)


def test_hypothesis_strategies_reach_the_fast_path(capsys: pytest.CaptureFixture[str]) -> None:
    """The strategies are not all declines: a good share of the generated elements take the fast path."""
    counts: Counts = collections.Counter()

    @settings(max_examples=200, deadline=None, database=None, derandomize=True)
    @given(offers=_OFFERS, products=_PRODUCTS)
    def run(offers: list[str], products: list[str]) -> None:
        counts.update(read_checked(_OFFER.format("\n".join(offers)).encode()))
        counts.update(read_checked(_PRODUCT.format("\n".join(products)).encode()))

    run()
    with capsys.disabled():
        print(f"\nfast path on hypothesis elements: {dict(counts)}")
    assert counts["fast_offers"] >= counts["offers"] // 8
    assert counts["fast_products"] >= counts["products"] // 8
