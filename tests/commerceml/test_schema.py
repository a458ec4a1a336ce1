"""Schema validation over real files and the official XSDs (found in CML_REAL_FIXTURES).

Real 1C exports are often not valid against their own schema: the violations asserted here are
the specific ones found in those files, so a change in how we locate or map them shows up.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from commerceml.errors import ForbiddenXML, MalformedXML, SchemaError, UnsupportedDocument
from commerceml.schema import (
    SCHEMA_DIR_ENV,
    SchemaNotFound,
    Violation,
    assert_valid_orders_document,
    find_schemas,
    validate,
    validate_file,
)
from exchange_server.cli import main

REAL = Path(
    os.environ.get(
        "CML_REAL_FIXTURES", Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "real"
    )
)
FIXED_205 = (
    "schema xsd__cml205.xsd declares targetNamespace 'urn:1C.ru:commerceml 2', which is not a valid URI "
    "(lxml refuses it); it was loaded with the namespace corrected to 'urn:1C.ru:commerceml_2'"
)


def real(name: str) -> Path:
    path = REAL / name
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"real fixture {path} missing (CML_REAL_FIXTURES={REAL}) and CI is set")
        pytest.skip(f"real fixture {path} not available; set CML_REAL_FIXTURES to the collection")
    return path


@pytest.fixture(name="schemas")
def fixture_schemas() -> Path:
    real("imega-teleport__xml2db/xsd__cml205.xsd")
    return REAL


def order_document(version: str = "2.08", *, amount: str = "1500.00", namespace: bool = True) -> bytes:
    xmlns = ' xmlns="urn:1C.ru:commerceml_2"' if namespace else ""
    text = f"""<?xml version="1.0" encoding="windows-1251"?>
<КоммерческаяИнформация{xmlns} ВерсияСхемы="{version}" ДатаФормирования="2024-06-10T12:00:00">
\t<Документ>
\t\t<Ид>17</Ид>
\t\t<Номер>17</Номер>
\t\t<Дата>2024-06-10</Дата>
\t\t<ХозОперация>Заказ товара</ХозОперация>
\t\t<Роль>Продавец</Роль>
\t\t<Валюта>руб</Валюта>
\t\t<Курс>1</Курс>
\t\t<Сумма>{amount}</Сумма>
\t\t<Контрагенты>
\t\t\t<Контрагент>
\t\t\t\t<Ид>5#buyer</Ид>
\t\t\t\t<Наименование>Иванов Иван</Наименование>
\t\t\t\t<ПолноеНаименование>Иванов Иван Иванович</ПолноеНаименование>
\t\t\t\t<Роль>Покупатель</Роль>
\t\t\t</Контрагент>
\t\t</Контрагенты>
\t\t<Время>12:00:00</Время>
\t\t<Товары>
\t\t\t<Товар>
\t\t\t\t<Ид>a1b2c3d4-0000-4000-8000-000000000101</Ид>
\t\t\t\t<Наименование>Кроссовки Runner</Наименование>
\t\t\t\t<БазоваяЕдиница Код="796" НаименованиеПолное="Штука">шт</БазоваяЕдиница>
\t\t\t\t<ЦенаЗаЕдиницу>1500</ЦенаЗаЕдиницу>
\t\t\t\t<Количество>1</Количество>
\t\t\t\t<Сумма>1500</Сумма>
\t\t\t</Товар>
\t\t</Товары>
\t</Документ>
</КоммерческаяИнформация>
"""
    return text.encode("cp1251")


def test_schemas_are_identified_by_their_version_attribute(schemas: Path) -> None:
    found = find_schemas(schemas)
    assert sorted(found) == ["2.05", "2.06", "2.07", "2.08", "2.09", "2.10"]
    assert found["2.10"].path.name == "files__doc__commerceML 2.10.xsd"
    assert found["2.08"].path.name == "xsd__CommerceML2.0.8.XSD"  # first of the two 2.08 copies
    assert found["2.05"].target_namespace == "urn:1C.ru:commerceml 2"


def test_a_misleading_file_name_does_not_matter(schemas: Path, tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    shutil.copy(schemas / "imega-teleport__xml2db/xsd__cml207.xsd", nested / "cml209.XSD")
    (tmp_path / "notes.xsd").write_text("not a schema")
    found = find_schemas(tmp_path)
    assert list(found) == ["2.07"]
    assert found["2.07"].path == nested / "cml209.XSD"
    result = validate(real("carono__php-commerceml/tests__xml__offers.xml"), tmp_path)
    assert result.valid and result.schema.path == nested / "cml209.XSD"


@pytest.mark.parametrize(
    "name",
    [
        "carono__php-commerceml/tests__xml__import.xml",
        "carono__php-commerceml/tests__xml__offers.xml",
        "carono__php-commerceml/tests__xml__import_wo_classifier.xml",
    ],
)
def test_valid_real_2_07_files(schemas: Path, name: str) -> None:
    result = validate(real(name), schemas)
    assert result.schema_version == "2.07"
    assert result.notes == ()
    assert result.violations == ()
    assert validate_file(real(name), schemas) == []


def test_2_05_schema_is_loaded_with_its_namespace_corrected(schemas: Path) -> None:
    result = validate(real("devsandk__bitrix_utf8/upload__1c_catalog__offers.xml"), schemas)
    assert result.schema_version == "2.05"
    assert result.document_namespace == "urn:1C.ru:commerceml_2"
    assert result.notes == (FIXED_205,)
    assert result.violations == ()


def test_document_without_namespace_is_mapped_and_its_bad_date_reported(schemas: Path) -> None:
    result = validate(real("sosloow__node-CommerceML-parser/spec__files__offers.test.done"), schemas)
    assert result.notes == (
        FIXED_205,
        "the document declares no namespace; its elements were validated as if in "
        "'urn:1C.ru:commerceml_2', the target namespace of the 2.05 schema",
    )
    assert [(v.line, v.path) for v in result.violations] == [(2, "/КоммерческаяИнформация")]
    assert "ДатаФормирования='2014-11-25T8:00:00'" in result.violations[0].message


def test_2_07_export_with_unknown_elements(schemas: Path) -> None:
    violations = validate_file(real("alfredotg__parser1c/tests__data__import.xml"), schemas)
    product = "/КоммерческаяИнформация/Каталог/Товары/Товар[1]"
    assert [(v.line, v.path) for v in violations] == [
        (3, "/КоммерческаяИнформация/Классификатор"),
        (11, "/КоммерческаяИнформация/Каталог/Товары"),
        (17, f"{product}/Код"),
        (18, f"{product}/Вес"),
        (19, f"{product}/Марки"),
        (20, f"{product}/Комментарий"),
        (27, "/КоммерческаяИнформация/Каталог/Товары/Товар[2]/Код"),
        (28, "/КоммерческаяИнформация/Каталог/Товары/Товар[2]/Вес"),
        (29, "/КоммерческаяИнформация/Каталог/Товары/Товар[2]/Взаимозаменяемости"),
    ]
    assert violations[0].message == (
        "The content of element 'Классификатор' is not complete. Tag 'cml:Владелец' expected."
    )
    assert (
        violations[2].message
        == "Unexpected child with tag 'Код' at position 5. Tag 'cml:БазоваяЕдиница' expected."
    )
    assert str(violations[3]) == f"line 18: {product}/Вес: Unexpected child with tag 'Вес' at position 6."


def test_2_08_file_in_the_commerceml_210_namespace(schemas: Path) -> None:
    result = validate(real("Katy248__electrotech/example__offers.xml"), schemas)
    assert result.document_namespace == "urn:1C.ru:commerceml_210"
    assert result.notes == (
        "the document declares 'urn:1C.ru:commerceml_210'; its elements were validated as if in "
        "'urn:1C.ru:commerceml_2', the target namespace of the 2.08 schema",
    )
    offer = "/КоммерческаяИнформация/ПакетПредложений/Предложения/Предложение"
    assert [(v.line, v.path, v.message) for v in result.violations[:2]] == [
        (
            63,
            f"{offer}[1]/Артикул",
            "Unexpected child with tag 'Артикул' at position 4. Tag 'cml:Цены' expected.",
        ),
        (70, f"{offer}[1]/Цены/Цена/Единица", "value length cannot be lesser than 3"),
    ]
    assert len(result.violations) == 6


def test_2_05_export_with_changes_only_on_the_classifier(schemas: Path) -> None:
    violations = validate_file(real("irpsv__commerceml/tests__assets__ready-script__import.xml"), schemas)
    assert violations[0] == Violation(
        3,
        "/КоммерческаяИнформация/Классификатор",
        "'СодержитТолькоИзменения' attribute not allowed for element",
    )
    assert (violations[1].line, violations[1].path) == (
        5,
        "/КоммерческаяИнформация/Классификатор/ИдКлассификатора",
    )
    assert len(violations) == 7


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("wagood__commerceml/example__commerce-ml3__rests___9ebdccc5-f70a-43db-8c03-0103301aad32.xml", "3.1"),
        ("carono__php-commerceml/tests__xml__orders.xml", "2.03"),
    ],
)
def test_no_schema_for_the_version(schemas: Path, name: str, version: str) -> None:
    with pytest.raises(SchemaNotFound, match=rf"no official XSD for CommerceML {version} in .*2\.05, 2\.06"):
        validate(real(name), schemas)


def test_schema_dir_from_the_environment(schemas: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SCHEMA_DIR_ENV, str(schemas))
    assert validate(real("carono__php-commerceml/tests__xml__offers.xml")).valid
    monkeypatch.setenv(SCHEMA_DIR_ENV, str(schemas / "missing"))
    with pytest.raises(SchemaNotFound, match="does not exist"):
        validate(real("carono__php-commerceml/tests__xml__offers.xml"))


@pytest.mark.parametrize(
    ("data", "error", "text"),
    [
        (b'<?xml version="1.0"?>\n<a>\n<b></a>', MalformedXML, "line 3"),
        (b'<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>', ForbiddenXML, "DOCTYPE"),
        (b"<Catalog/>", UnsupportedDocument, "the root element is 'Catalog'"),
        ("<КоммерческаяИнформация/>".encode(), SchemaError, "no ВерсияСхемы attribute"),
    ],
)
def test_unreadable_documents(schemas: Path, data: bytes, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text):
        validate(data, schemas)


def test_cli_exit_codes(schemas: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "validate",
                str(real("carono__php-commerceml/tests__xml__offers.xml")),
                "--schema-dir",
                str(schemas),
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip().endswith("valid")

    assert (
        main(
            [
                "validate",
                str(real("alfredotg__parser1c/tests__data__import.xml")),
                "--schema-dir",
                str(schemas),
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert "line 18: /КоммерческаяИнформация/Каталог/Товары/Товар[1]/Вес: Unexpected child" in out
    assert out.strip().endswith("invalid: 9 violation(s)")

    broken = tmp_path / "broken.xml"
    broken.write_bytes(
        '<?xml version="1.0"?>\n<КоммерческаяИнформация ВерсияСхемы="2.08">\n<Каталог>'.encode()
    )
    assert main(["validate", str(broken), "--schema-dir", str(schemas)]) == 2
    assert "broken.xml, line 3: not well-formed XML" in capsys.readouterr().err

    rests = real("wagood__commerceml/example__commerce-ml3__rests___9ebdccc5-f70a-43db-8c03-0103301aad32.xml")
    assert main(["validate", str(rests), "--schema-dir", str(schemas)]) == 2
    assert "no official XSD for CommerceML 3.1" in capsys.readouterr().err

    assert main(["validate", str(tmp_path / "absent.xml"), "--schema-dir", str(schemas)]) == 2
    assert "cannot read the file" in capsys.readouterr().err


@pytest.mark.parametrize("version", ["2.05", "2.08", "2.09", "2.10"])
@pytest.mark.parametrize("namespace", [True, False])
def test_orders_helper_accepts_a_valid_order(schemas: Path, version: str, namespace: bool) -> None:
    result = assert_valid_orders_document(order_document(version, namespace=namespace), schemas)
    assert result.schema_version == version
    assert (FIXED_205 in result.notes) == (version == "2.05")


def test_orders_helper_reports_every_violation(schemas: Path, tmp_path: Path) -> None:
    path = tmp_path / "orders.xml"
    path.write_bytes(order_document(amount="1500,00"))
    with pytest.raises(AssertionError) as caught:
        assert_valid_orders_document(path, schemas)
    message = str(caught.value)
    assert "1 violation(s) of the CommerceML 2.08 schema" in message
    assert (
        "line 11: /КоммерческаяИнформация/Документ/Сумма: invalid value '1500,00' for xs:decimal" in message
    )


def test_orders_helper_refuses_a_catalog(schemas: Path) -> None:
    with pytest.raises(AssertionError, match="not an orders document"):
        assert_valid_orders_document(real("carono__php-commerceml/tests__xml__offers.xml"), schemas)
