"""Small hand-written CommerceML documents for the storage and importer tests."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def root(body: str, version: str = "2.08") -> str:
    return (
        f'{HEAD}<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="{version}" '
        f'ДатаФормирования="2024-06-11T10:00:00">{body}</КоммерческаяИнформация>'
    )


def product(
    pid: str,
    name: str,
    *,
    version: str | None = None,
    article: str | None = None,
    groups: Iterable[str] = (),
    status: str | None = None,
    deletion_mark: bool = False,
    images: Iterable[str] = (),
    properties: Iterable[tuple[str, str]] = (),
) -> str:
    parts = [f"<Ид>{pid}</Ид>"]
    if version is not None:
        parts.append(f"<НомерВерсии>{version}</НомерВерсии>")
    if deletion_mark:
        parts.append("<ПометкаУдаления>true</ПометкаУдаления>")
    if article is not None:
        parts.append(f"<Артикул>{article}</Артикул>")
    parts.append(f"<Наименование>{name}</Наименование>")
    parts.append('<БазоваяЕдиница Код="796" НаименованиеПолное="Штука">шт</БазоваяЕдиница>')
    group_list = list(groups)
    if group_list:
        parts.append("<Группы>" + "".join(f"<Ид>{g}</Ид>" for g in group_list) + "</Группы>")
    parts.extend(f"<Картинка>{image}</Картинка>" for image in images)
    props = list(properties)
    if props:
        parts.append(
            "<ЗначенияСвойств>"
            + "".join(
                f"<ЗначенияСвойства><Ид>{p}</Ид><Значение>{v}</Значение></ЗначенияСвойства>" for p, v in props
            )
            + "</ЗначенияСвойств>"
        )
    if status is not None:
        parts.append(f"<Статус>{status}</Статус>")
    return "<Товар>" + "".join(parts) + "</Товар>"


def classifier(groups: Iterable[tuple[str, str]] = (), properties: str = "") -> str:
    group_xml = "".join(f"<Группа><Ид>{g}</Ид><Наименование>{n}</Наименование></Группа>" for g, n in groups)
    return (
        "<Классификатор><Ид>cls-1</Ид><Наименование>Классификатор</Наименование>"
        f"<Группы>{group_xml}</Группы>{properties}</Классификатор>"
    )


def goods(
    products: Iterable[str], *, changes_only: bool = False, groups: Iterable[tuple[str, str]] = ()
) -> str:
    flag = "true" if changes_only else "false"
    return root(
        classifier(groups) + f'<Каталог СодержитТолькоИзменения="{flag}"><Ид>cat-1</Ид>'
        "<ИдКлассификатора>cls-1</ИдКлассификатора>"
        f"<Наименование>Каталог</Наименование><Товары>{''.join(products)}</Товары></Каталог>"
    )


def price(type_id: str, value: str, currency: str = "RUB") -> str:
    return (
        f"<Цена><Представление>{value} {currency}</Представление><ИдТипаЦены>{type_id}</ИдТипаЦены>"
        f"<ЦенаЗаЕдиницу>{value}</ЦенаЗаЕдиницу><Валюта>{currency}</Валюта></Цена>"
    )


def offer(
    oid: str,
    name: str | None = "Offer",
    *,
    prices: Iterable[str] | None = None,
    quantity: str | None = None,
    stock: Iterable[tuple[str, str]] | None = None,
    rests: Iterable[tuple[str, str]] | None = None,
    characteristics: Iterable[tuple[str, str]] = (),
    status: str | None = None,
) -> str:
    parts = [f"<Ид>{oid}</Ид>"]
    if name is not None:
        parts.append(f"<Наименование>{name}</Наименование>")
    chars = list(characteristics)
    if chars:
        parts.append(
            "<ХарактеристикиТовара>"
            + "".join(
                f"<ХарактеристикаТовара><Наименование>{n}</Наименование><Значение>{v}</Значение>"
                "</ХарактеристикаТовара>"
                for n, v in chars
            )
            + "</ХарактеристикиТовара>"
        )
    if status is not None:
        parts.append(f"<Статус>{status}</Статус>")
    if prices is not None:
        parts.append("<Цены>" + "".join(prices) + "</Цены>")
    if quantity is not None:
        parts.append(f"<Количество>{quantity}</Количество>")
    for warehouse, qty in stock or ():
        parts.append(f'<Склад ИдСклада="{warehouse}" КоличествоНаСкладе="{qty}"/>')
    if rests is not None:
        parts.append(
            "<Остатки>"
            + "".join(
                f"<Остаток><Склад><Ид>{w}</Ид><Количество>{q}</Количество></Склад></Остаток>"
                for w, q in rests
            )
            + "</Остатки>"
        )
    return "<Предложение>" + "".join(parts) + "</Предложение>"


def offers(
    items: Iterable[str],
    *,
    changes_only: bool = False,
    price_types: Iterable[tuple[str, str]] = (("pt-retail", "Розничная"),),
    warehouses: Iterable[tuple[str, str]] = (),
) -> str:
    flag = "true" if changes_only else "false"
    pts = "".join(
        f"<ТипЦены><Ид>{i}</Ид><Наименование>{n}</Наименование><Валюта>RUB</Валюта></ТипЦены>"
        for i, n in price_types
    )
    whs = "".join(f"<Склад><Ид>{i}</Ид><Наименование>{n}</Наименование></Склад>" for i, n in warehouses)
    return root(
        f'<ПакетПредложений СодержитТолькоИзменения="{flag}"><Ид>cat-1#</Ид>'
        "<Наименование>Пакет предложений</Наименование><ИдКаталога>cat-1</ИдКаталога>"
        f"<ИдКлассификатора>cls-1</ИдКлассификатора>"
        + (f"<ТипыЦен>{pts}</ТипыЦен>" if pts else "")
        + (f"<Склады>{whs}</Склады>" if whs else "")
        + f"<Предложения>{''.join(items)}</Предложения></ПакетПредложений>"
    )


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
