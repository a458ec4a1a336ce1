"""The catalog generator: well-formed, both forms and encodings, counts checked by an independent
lxml pass, deterministic by seed, and the classic form valid against the official 2.08 XSD."""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from commerceml.generator import CatalogForm, CatalogSpec, GeneratedCatalog, generate_catalog
from commerceml.model import FileRole
from commerceml.schema import validate
from exchange_server.cli import main

REAL = Path(
    os.environ.get(
        "CML_REAL_FIXTURES", Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "real"
    )
)
CML2 = "urn:1C.ru:commerceml_2"
CML3 = "urn:1C.ru:commerceml_3"
ROOT = "КоммерческаяИнформация"

SMALL = {
    "products": 40,
    "characteristics_share": 0.25,
    "characteristics_per_product": 3,
    "price_types": 3,
    "warehouses": 2,
    "groups": 12,
    "properties": 5,
}


def schema_dir() -> Path:
    if not REAL.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"official XSDs missing: {REAL} (CML_REAL_FIXTURES) and CI is set")
        pytest.skip(f"official XSDs not available at {REAL}; set CML_REAL_FIXTURES to the collection")
    return REAL


def element_paths(path: Path) -> tuple[Counter[str], str, dict[str, str]]:
    """Independent count: every element by its un-indexed local-name path; plus namespace and root attrs."""
    counts: Counter[str] = Counter()
    stack: list[str] = []
    namespaces: set[str] = set()
    root_attrib: dict[str, str] = {}
    for event, node in etree.iterparse(str(path), events=("start", "end"), resolve_entities=False):
        qname = etree.QName(node)
        if event == "start":
            namespaces.add(qname.namespace or "")
            stack.append(qname.localname)
            counts["/".join(stack)] += 1
            if len(stack) == 1:
                root_attrib = dict(node.attrib)
        else:
            stack.pop()
            if len(stack) > 1:
                node.clear()
    assert len(namespaces) == 1, namespaces
    return counts, namespaces.pop(), root_attrib


def matching(counts: Counter[str], suffix: str, prefix: str = ROOT) -> int:
    return sum(n for key, n in counts.items() if key.startswith(prefix) and key.endswith(suffix))


def generate(tmp_path: Path, **overrides: object) -> GeneratedCatalog:
    spec = CatalogSpec(**{**SMALL, **overrides})  # type: ignore[arg-type]
    return generate_catalog(tmp_path / "out", spec)


def check_counts(catalog: GeneratedCatalog) -> None:
    """Every file's counts and the totals agree with an independent lxml count of the files."""
    spec = catalog.spec
    totals: Counter[str] = Counter()
    for item in catalog.files:
        counts, namespace, attrib = element_paths(item.path)
        assert namespace == (CML2 if spec.form is CatalogForm.CLASSIC else CML3)
        assert attrib["ВерсияСхемы"] == ("2.08" if spec.form is CatalogForm.CLASSIC else "3.1")
        found = {
            "groups": matching(counts, "/Группы/Группа", f"{ROOT}/Классификатор/"),
            "properties": counts[f"{ROOT}/Классификатор/Свойства/Свойство"],
            "price_types": matching(counts, "/ТипыЦен/ТипЦены"),
            "warehouses": matching(counts, "/Склады/Склад"),
            "products": counts[f"{ROOT}/Каталог/Товары/Товар"],
            "offers": counts[f"{ROOT}/ПакетПредложений/Предложения/Предложение"],
            "prices": matching(counts, "/Предложение/Цены/Цена"),
            "stock_rows": matching(counts, "/Предложение/Склад") + matching(counts, "/Остаток/Склад"),
            "units": matching(counts, "/ЕдиницыИзмерения/ЕдиницаИзмерения"),
            "documents": matching(counts, "/Документ"),
        }
        expected = {key: getattr(item.counts, key) for key in found}
        assert found == expected, item.path
        totals.update(found)
    assert totals["products"] == catalog.products == spec.products
    assert totals["prices"] == catalog.prices == catalog.offers * spec.price_types
    assert totals["stock_rows"] == catalog.stock_rows == catalog.offers * spec.warehouses
    with_chars = round(spec.products * spec.characteristics_share)
    assert catalog.offers == spec.products - with_chars + with_chars * spec.characteristics_per_product
    offers_files = catalog.by_role(FileRole.OFFERS)
    assert totals["offers"] == catalog.offers * (1 if spec.form is CatalogForm.CLASSIC else 3)
    assert len(offers_files) == 1


@pytest.mark.parametrize("encoding", ["utf-8", "windows-1251"])
@pytest.mark.parametrize("form", [CatalogForm.CLASSIC, CatalogForm.SPLIT31])
def test_counts_match_an_independent_lxml_count(tmp_path: Path, form: CatalogForm, encoding: str) -> None:
    catalog = generate(tmp_path, form=form, encoding=encoding)
    check_counts(catalog)
    assert catalog.characteristic_offers == 10 * 3


def test_classic_layout_and_xml_declaration(tmp_path: Path) -> None:
    catalog = generate(tmp_path)
    assert [(f.role, f.path.name) for f in catalog.files] == [
        (FileRole.GOODS, "import.xml"),
        (FileRole.OFFERS, "offers.xml"),
    ]
    head = catalog.files[0].path.read_bytes()[:60]
    assert head.startswith(b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\n<')


def test_windows_1251_bytes(tmp_path: Path) -> None:
    catalog = generate(tmp_path, encoding="windows-1251")
    data = catalog.files[0].path.read_bytes()
    assert data.startswith(b'<?xml version="1.0" encoding="windows-1251"?>\n')
    assert "<Наименование>".encode("cp1251") in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    names = [n.text for n in etree.parse(str(catalog.files[0].path)).iter(f"{{{CML2}}}Наименование")]
    assert "Классификатор (Основной каталог товаров)" in names


def test_split31_layout(tmp_path: Path) -> None:
    catalog = generate(tmp_path, form="split31")
    relative = [(f.role, f.path.relative_to(catalog.out_dir)) for f in catalog.files]
    assert [role for role, _ in relative] == [
        FileRole.CLASSIFIER, FileRole.GOODS, FileRole.OFFERS, FileRole.PRICES, FileRole.RESTS,
    ]  # fmt: skip
    kinds = ["import", "import", "offers", "prices", "rests"]
    folders = [Path("."), *[Path("goods/1")] * 4]
    for (_, rel), kind, folder in zip(relative, kinds, folders, strict=True):
        assert rel.parent == folder
        assert rel.name.startswith(f"{kind}___") and rel.suffix == ".xml"
        assert len(rel.stem.split("___")[1]) == 36  # a GUID


def test_split31_offers_carry_no_prices_or_stock_and_rests_use_warehouse_rows(tmp_path: Path) -> None:
    catalog = generate(tmp_path, form="split31")
    offers = element_paths(catalog.by_role(FileRole.OFFERS)[0].path)[0]
    assert not [key for key in offers if "/Цены" in key or "/Остатки" in key or key.endswith("/Количество")]
    rests = element_paths(catalog.by_role(FileRole.RESTS)[0].path)[0]
    base = f"{ROOT}/ПакетПредложений/Предложения/Предложение/Остатки/Остаток/Склад"
    assert rests[f"{base}/Ид"] == rests[f"{base}/Количество"] == catalog.offers * 2
    classifier = element_paths(catalog.by_role(FileRole.CLASSIFIER)[0].path)[0]
    assert classifier[f"{ROOT}/Классификатор/ЕдиницыИзмерения/ЕдиницаИзмерения/Код"] == 4
    goods = element_paths(catalog.by_role(FileRole.GOODS)[0].path)[0]
    assert goods[f"{ROOT}/Каталог/Товары/Товар/ПометкаУдаления"] == catalog.products


def references(path: Path) -> dict[str, list[str]]:
    tree = etree.parse(str(path))
    ns = {"c": etree.QName(tree.getroot()).namespace}

    def texts(xpath: str) -> list[str]:
        found = tree.xpath(xpath, namespaces=ns)
        assert isinstance(found, list)
        return [str(value) for value in found]

    return {
        "groups": texts("//c:Классификатор//c:Группа/c:Ид/text()"),
        "product_groups": texts("//c:Товар/c:Группы/c:Ид/text()"),
        "properties": texts("//c:Свойство/c:Ид/text()"),
        "variants": texts("//c:Справочник/c:ИдЗначения/text()"),
        "value_props": texts("//c:ЗначенияСвойства/c:Ид/text()"),
        "values": texts("//c:ЗначенияСвойства/c:Значение/text()"),
        "products": texts("//c:Товары/c:Товар/c:Ид/text()"),
        "offers": texts("//c:Предложения/c:Предложение/c:Ид/text()"),
        "price_types": texts("//c:ТипыЦен/c:ТипЦены/c:Ид/text()"),
        "price_refs": texts("//c:Цена/c:ИдТипаЦены/text()"),
        "warehouses": texts("//c:Склады/c:Склад/c:Ид/text()"),
        "stock_refs": texts("//c:Предложение/c:Склад/@ИдСклада | //c:Остаток/c:Склад/c:Ид/text()"),
        "barcodes": texts("//c:Товар/c:Штрихкод/text()"),
    }


def test_references_resolve_and_ids_look_like_1c(tmp_path: Path) -> None:
    catalog = generate(tmp_path, products=120)
    ref: dict[str, list[str]] = {}
    for item in catalog.files:
        for key, values in references(item.path).items():
            ref.setdefault(key, []).extend(values)
    assert set(ref["product_groups"]) <= set(ref["groups"])
    assert set(ref["value_props"]) <= set(ref["properties"])
    assert set(ref["price_refs"]) == set(ref["price_types"])
    assert set(ref["stock_refs"]) == set(ref["warehouses"])
    assert len(set(ref["products"])) == 120
    assert len(set(ref["offers"])) == len(ref["offers"]) == catalog.offers
    with_char = [o for o in ref["offers"] if "#" in o]
    assert len(with_char) == catalog.characteristic_offers
    assert {o.split("#")[0] for o in ref["offers"]} == set(ref["products"])
    assert all(len(part) == 36 for o in with_char for part in o.split("#"))
    reference_values = [v for v in ref["values"] if v in set(ref["variants"])]
    assert reference_values  # Справочник values point at ИдЗначения
    assert ref["barcodes"]
    for code in ref["barcodes"]:
        digits = [int(d) for d in code]
        weighted = sum(digits[0:12:2]) + 3 * sum(digits[1:12:2])
        assert len(code) == 13 and digits[12] == (10 - weighted % 10) % 10, code


def test_deterministic_by_seed_and_the_same_products_in_both_forms(tmp_path: Path) -> None:
    first = generate_catalog(tmp_path / "a", CatalogSpec(**SMALL, seed=5))  # type: ignore[arg-type]
    second = generate_catalog(tmp_path / "b", CatalogSpec(**SMALL, seed=5))  # type: ignore[arg-type]
    other = generate_catalog(tmp_path / "c", CatalogSpec(**SMALL, seed=6))  # type: ignore[arg-type]
    for a, b in zip(first.files, second.files, strict=True):
        assert a.path.read_bytes() == b.path.read_bytes()
    assert first.files[0].path.read_bytes() != other.files[0].path.read_bytes()
    split = generate_catalog(tmp_path / "d", CatalogSpec(**SMALL, seed=5, form=CatalogForm.SPLIT31))  # type: ignore[arg-type]
    classic_ids = references(first.files[0].path)["products"]
    split_ids = references(split.by_role(FileRole.GOODS)[0].path)["products"]
    assert classic_ids == split_ids


@pytest.mark.parametrize("encoding", ["utf-8", "windows-1251"])
def test_classic_form_is_valid_against_the_official_2_08_xsd(tmp_path: Path, encoding: str) -> None:
    directory = schema_dir()
    catalog = generate(tmp_path, encoding=encoding, products=60)
    for item in catalog.files:
        result = validate(item.path, directory)
        assert result.schema_version == "2.08"
        assert result.notes == ()
        assert result.violations == (), "\n".join(map(str, result.violations[:20]))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("products", -1, "products must be >= 0"),
        ("characteristics_share", 1.5, "within 0..1"),
        ("characteristics_per_product", 0, "characteristics per product must be >= 1"),
        ("price_types", 0, "price types must be >= 1"),
        ("groups", 0, "groups must be >= 1"),
        ("encoding", "koi8-r", "encoding must be one of utf-8, windows-1251"),
        ("form", "xml3", "is not a valid CatalogForm"),
    ],
)
def test_bad_spec_is_refused(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CatalogSpec(**{**SMALL, field: value})  # type: ignore[arg-type]


def test_a_failed_run_leaves_no_partial_files(tmp_path: Path) -> None:
    blocker = tmp_path / "out" / "goods"
    blocker.parent.mkdir()
    blocker.write_text("a file where the goods folder should be")
    with pytest.raises(OSError):
        generate_catalog(tmp_path / "out", CatalogSpec(products=3, form=CatalogForm.SPLIT31))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["goods"]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    products=st.integers(0, 25),
    share=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    per_product=st.integers(1, 4),
    price_types=st.integers(1, 3),
    warehouses=st.integers(0, 3),
    groups=st.integers(1, 15),
    properties=st.integers(0, 4),
    form=st.sampled_from(list(CatalogForm)),
    encoding=st.sampled_from(["utf-8", "windows-1251"]),
    seed=st.integers(0, 2**32),
)
def test_any_spec_gives_the_announced_counts(
    products: int, share: float, per_product: int, price_types: int, warehouses: int, groups: int,
    properties: int, form: CatalogForm, encoding: str, seed: int,
) -> None:  # fmt: skip
    spec = CatalogSpec(
        products=products, characteristics_share=share, characteristics_per_product=per_product,
        price_types=price_types, warehouses=warehouses, groups=groups, properties=properties,
        form=form, encoding=encoding, seed=seed,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        check_counts(generate_catalog(tmp, spec))


def test_cli_generates_and_reports_counts_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    args = ["--products", "30", "--price-types", "2", "--warehouses", "3", "--form", "split31"]
    code = main(["generate-catalog", *args, "--encoding", "windows-1251", "--seed", "9", "--out", str(out)])
    assert code == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["form"] == "split31" and report["encoding"] == "windows-1251" and report["seed"] == 9
    assert report["totals"]["products"] == 30
    assert report["totals"]["offers"] == 24 + 6 * 3
    assert report["totals"]["stock_rows"] == report["totals"]["offers"] * 3
    roles = [f["role"] for f in report["files"]]
    assert roles == ["classifier", "goods", "offers", "prices", "rests"]
    assert all(Path(f["path"]).is_file() for f in report["files"])
    assert report["files"][3]["counts"]["prices"] == report["totals"]["offers"] * 2


def test_cli_refuses_a_bad_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["generate-catalog", "--products", "5", "--characteristics-share", "2", "--out", str(tmp_path)]
    )
    assert code == 2
    assert "characteristics share must be within 0..1" in capsys.readouterr().err
