"""Table rows built straight from the lxml elements of the two hot entities. Pure: no I/O.

Theory of operation
-------------------
The slow path of a catalog import turns each ``Товар`` / ``Предложение`` element into a model
dataclass (``commerceml._convert``), then the model into a table row (:mod:`~exchange_server.store.rows`:
``encode`` to a JSON object, orjson, blake2b). Most of that work is building objects that are thrown
away a moment later. For the shapes real 1C files and our generator write almost always, the
functions here walk the element once and build the row's JSON object, columns, child rows and hashes
directly, with the same primitives the slow path uses (``Decimal`` parsing and ``format(d, "f")``,
:func:`~exchange_server.store.codec.dumps_and_hash`, :func:`~exchange_server.store.codec.content_hash`).

*Decline.* A fast builder handles a closed set of child elements and attributes. The moment it meets
anything else - an unknown child (which the slow path would keep in ``extra``; a product keeps an
unknown *leaf* child without attributes the way ``flatten`` does), an attribute, a missing ``Ид``, a
number or flag the slow path would refuse, an image path it would refuse with a warning - it gives up
(returns None) and the reader runs the model converter on the same element. So
every error, warning and located message is produced by the slow path, exactly as before; the fast
path only ever handles elements the slow path converts silently.

*Differential guarantee.* Whenever a fast builder returns a row it is equal, field by field, to what
the slow path gives for the same element (``entity_to_row(conv.product(el, path))``,
``offer_row(conv.offer(el, path))``): same ``values`` (same key order), same ``data_json`` bytes, same
hashes, same child rows; and the reader's summary ends the same (:class:`~commerceml.reader.OfferFacts`
carries what it counts). ``tests/exchange_server/test_fastrows.py`` holds it to that over the real
fixture collection, generated catalogs and hypothesis-built elements. Rows are unchanged, so
``ROW_FORMAT`` is too. Any change to the converters, the model, ``codec.encode`` or ``rows`` must be
mirrored here (or the shape dropped from the fast path); those tests catch a divergence.

JSON objects are built in the field order of the model, leaving out what ``encode`` leaves out
(None, empty tuples whose default is ``()``); the key order does not matter for ``data_json`` (sorted
keys) but is kept anyway.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

import orjson

from commerceml._convert.base import LOCAL, PLAIN_NUMBER_MATCH, TRUE_FALSE
from commerceml._values import parse_bool, parse_decimal
from commerceml.model import split_offer_id
from commerceml.reader import FastConverters, OfferFacts
from exchange_server.store.codec import content_hash, dumps_and_hash
from exchange_server.store.rows import EntityRow, Kind, OfferRow, decimal_text

__all__ = ["converters", "offer_facts", "product_row"]

Json = dict[str, Any]
Element = Any

_CANONICAL: Final = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?").fullmatch
"""A number whose ``format(Decimal(text), "f")`` is the text itself (no leading zeros, no exponent)."""
_ZERO: Final = Decimal(0)
_DIMENSIONS: Final = {"Вес": "weight", "Длина": "length", "Ширина": "width", "Высота": "height"}


_BLAKE: Final = hashlib.blake2b(digest_size=16)
_SORT_KEYS: Final = orjson.OPT_SORT_KEYS


def _text_and_hash(payload: Any) -> tuple[str, str]:
    """``codec.dumps_and_hash``, a copy of a prepared hasher instead of a new one (cheaper)."""
    try:
        raw = orjson.dumps(payload, option=_SORT_KEYS)
    except orjson.JSONEncodeError:
        return dumps_and_hash(payload)
    digest = _BLAKE.copy()
    digest.update(raw)
    return raw.decode("utf-8"), digest.hexdigest()


def _hash(payload: Any) -> str:
    """``codec.content_hash`` without decoding a text nobody keeps."""
    try:
        raw = orjson.dumps(payload, option=_SORT_KEYS)
    except orjson.JSONEncodeError:
        return content_hash(payload)
    digest = _BLAKE.copy()
    digest.update(raw)
    return digest.hexdigest()


class _Decline(Exception):
    """The element has a shape the fast path does not handle: the slow path takes it."""


class _Codes(dict[Any, int]):
    """Raw tag (``{urn:...}Цена``) -> a small int by local name, 0 for any other tag (computed once per tag).

    Saves the local-name lookup and a chain of string comparisons on every child element.
    """

    def __init__(self, *names: str) -> None:
        super().__init__()
        self._by_name = {name: code for code, name in enumerate(names, 1)}

    def __missing__(self, tag: Any) -> int:
        code = self._by_name.get(LOCAL[tag], 0) if isinstance(tag, str) else 0
        self[tag] = code
        return code


Resolve = Callable[[str, str], str | None]
"""``parsing.resolve_image``: an image path relative to the package directory, None when refused."""


def converters(file_dir: str, resolve: Resolve) -> FastConverters:
    """The fast converters for :class:`~commerceml.reader.Reader` (images resolved against ``file_dir``)."""

    def product(el: Element) -> EntityRow | None:
        return product_row(el, file_dir, resolve)

    return {"Товар": product, "Предложение": offer_facts}


# --- values -----------------------------------------------------------------------------------------


def _dec(el: Element) -> Decimal | None:
    """``commerceml._convert.base.dec``; a value it would refuse declines."""
    raw = el.text
    if raw is not None:
        value = raw.strip()
        if PLAIN_NUMBER_MATCH(value):
            return Decimal(value)
    try:
        return parse_decimal(raw)
    except ValueError:
        raise _Decline from None


def _flag(el: Element) -> bool | None:
    """``commerceml._convert.base.flag``; a value it would refuse declines."""
    raw = el.text
    if raw is not None:
        value = TRUE_FALSE.get(raw.strip())
        if value is not None:
            return value
    try:
        return parse_bool(raw)
    except ValueError:
        raise _Decline from None


def _number_text(el: Element) -> str | None:
    """``decimal_text(_dec(el))`` without the ``Decimal`` round trip when the text is already canonical."""
    raw: str | None = el.text
    if raw is not None:
        value = raw.strip()
        if _CANONICAL(value):
            return value
    number = _dec(el)
    return None if number is None else format(number, "f")


# --- shared parts -----------------------------------------------------------------------------------


def _base_unit(el: Element) -> tuple[Json, str | None, str | None]:
    """``parts.base_unit`` encoded: (JSON object, unit code or ref, unit name)."""
    recalculations: list[Json] = []
    if len(el):
        for child in el:
            if LOCAL[child.tag] != "Пересчет":
                raise _Decline
            unit = ""
            ratio = None
            for part in child:
                tag = LOCAL[part.tag]
                if tag == "Единица":
                    unit = (part.text or "").strip()
                elif tag == "Коэффициент":
                    ratio = _dec(part)
                else:
                    raise _Decline
            recalculation: Json = {"unit": unit}
            if ratio is not None:
                recalculation["ratio"] = format(ratio, "f")
            recalculations.append(recalculation)
    code = full_name = international = None
    count = len(el.attrib)
    if count:
        get = el.get
        code = get("Код")
        full_name = get("НаименованиеПолное")
        international = get("МеждународноеСокращение")
        if count != (code is not None) + (full_name is not None) + (international is not None):
            raise _Decline  # another attribute: the slow path keeps it in extra
        if code is not None:
            code = code.strip() or None
        if full_name is not None:
            full_name = full_name.strip() or None
        if international is not None:
            international = international.strip() or None
    name = (el.text or "").strip() or None
    out: Json
    if name is not None and code is None and full_name is None and international is None:
        # 3.1: the text is a reference into Классификатор/ЕдиницыИзмерения.
        out = {"ref": name}
        if recalculations:
            out["recalculations"] = recalculations
        out["deleted"] = False
        return out, name, None
    out = {}
    if code is not None:
        out["code"] = code
    if name is not None:
        out["name"] = name
    if full_name is not None:
        out["full_name"] = full_name
    if international is not None:
        out["international"] = international
    if recalculations:
        out["recalculations"] = recalculations
    out["deleted"] = False
    return out, code, name


def _characteristics(el: Element) -> list[Json]:
    out: list[Json] = []
    for item in el:
        if LOCAL[item.tag] != "ХарактеристикаТовара":
            raise _Decline
        name = value = ""
        cid = None
        for child in item:
            tag = LOCAL[child.tag]
            if tag == "Наименование":
                name = (child.text or "").strip()
            elif tag == "Значение":
                value = (child.text or "").strip()
            elif tag == "Ид":
                cid = (child.text or "").strip() or None
            else:
                raise _Decline
        characteristic: Json = {"name": name, "value": value}
        if cid is not None:
            characteristic["id"] = cid
        out.append(characteristic)
    return out


def _property_values(el: Element) -> list[tuple[str, list[str], str | None]]:
    out: list[tuple[str, list[str], str | None]] = []
    for item in el:
        if LOCAL[item.tag] not in ("ЗначенияСвойства", "ЗначениеСвойства"):
            raise _Decline
        pid = ""
        name = None
        values: list[str] = []
        for child in item:
            tag = LOCAL[child.tag]
            if tag == "Ид":
                pid = (child.text or "").strip()
            elif tag == "Значение" or tag == "ИдЗначения":
                values.append((child.text or "").strip())
            elif tag == "Наименование":
                name = (child.text or "").strip() or None
            else:
                raise _Decline
        out.append((pid, values, name))
    return out


def _encode_property_values(items: list[tuple[str, list[str], str | None]]) -> list[Json]:
    out: list[Json] = []
    for pid, values, name in items:
        encoded: Json = {"property_id": pid}
        if values:
            encoded["values"] = values
        if name is not None:
            encoded["name"] = name
        out.append(encoded)
    return out


def _requisites(el: Element) -> list[Json]:
    out: list[Json] = []
    for item in el:
        if LOCAL[item.tag] != "ЗначениеРеквизита":
            raise _Decline
        name = ""
        values: list[str] = []
        for child in item:
            tag = LOCAL[child.tag]
            if tag == "Наименование":
                name = (child.text or "").strip()
            elif tag == "Значение":
                values.append((child.text or "").strip())
            else:
                raise _Decline
        requisite: Json = {"name": name}
        if values:
            requisite["values"] = values
        out.append(requisite)
    return out


def _tax_rates(el: Element) -> list[Json]:
    out: list[Json] = []
    for item in el:
        if LOCAL[item.tag] != "СтавкаНалога":
            raise _Decline
        name = rate = ""
        for child in item:
            tag = LOCAL[child.tag]
            if tag == "Наименование":
                name = (child.text or "").strip()
            elif tag == "Ставка":
                rate = (child.text or "").strip()
            else:
                raise _Decline
        out.append({"name": name, "rate": rate})
    return out


def _tax(el: Element) -> Json:
    name = ""
    included = excise = None
    for child in el:
        tag = LOCAL[child.tag]
        if tag == "Наименование":
            name = (child.text or "").strip()
        elif tag == "УчтеноВСумме":
            included = _flag(child)
        elif tag == "Акциз":
            excise = _flag(child)
        else:
            raise _Decline
    out: Json = {"name": name}
    if included is not None:
        out["included"] = included
    if excise is not None:
        out["excise"] = excise
    return out


def _manufacturer(el: Element) -> Json:
    mid = name = official = None
    for child in el:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            mid = (child.text or "").strip() or None
        elif tag == "Наименование":
            name = (child.text or "").strip() or None
        elif tag == "ОфициальноеНаименование":
            official = (child.text or "").strip() or None
        else:
            raise _Decline
    out: Json = {}
    if mid is not None:
        out["id"] = mid
    if name is not None:
        out["name"] = name
    if official is not None:
        out["official_name"] = official
    return out


# --- products ---------------------------------------------------------------------------------------


def product_row(el: Element, file_dir: str, resolve: Resolve) -> EntityRow | None:
    """The row ``entity_to_row(conv.product(el, path), file_dir, warnings)`` gives, or None (decline)."""
    try:
        return _product_row(el, file_dir, resolve)
    except _Decline:
        return None


def _product_row(el: Element, file_dir: str, resolve: Resolve) -> EntityRow:
    pid = name = ""
    version = barcode = article = description = country = status = None
    unit: tuple[Json, str | None, str | None] | None = None
    maker: Json | None = None
    props: list[tuple[str, list[str], str | None]] = []
    rates: list[Json] = []
    reqs: list[Json] = []
    chars: list[Json] = []
    dimensions: dict[str, Decimal | None] = {}
    groups: list[str] = []
    images: list[str] = []
    extra: list[list[str]] = []
    if len(el.attrib):
        for key, raw in el.attrib.items():
            if key != "Статус":
                raise _Decline
            status = raw.strip() or None
    deleted = False
    for child in el:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            pid = (child.text or "").strip()
        elif tag == "Наименование":
            name = (child.text or "").strip()
        elif tag == "Артикул":
            article = (child.text or "").strip() or None
        elif tag == "БазоваяЕдиница":
            unit = _base_unit(child)
        elif tag == "Группы":
            for item in child:
                if LOCAL[item.tag] != "Ид":
                    raise _Decline
                if value := (item.text or "").strip():
                    groups.append(value)
        elif tag == "Описание":
            description = (child.text or "").strip() or None
        elif tag == "Картинка":
            if image := (child.text or "").strip():
                images.append(image)
        elif tag == "ЗначенияСвойств":
            props = _property_values(child)
        elif tag == "СтавкиНалогов":
            rates = _tax_rates(child)
        elif tag == "ЗначенияРеквизитов":
            reqs = _requisites(child)
        elif tag == "Штрихкод" or tag == "ШтрихКод":
            barcode = (child.text or "").strip() or None
        elif tag == "Картинки":
            for item in child:
                if not isinstance(item.tag, str):
                    raise _Decline
                if image := (item.text or "").strip():
                    images.append(image)
        elif tag == "ХарактеристикиТовара":
            chars = _characteristics(child)
        elif tag == "НомерВерсии":
            version = (child.text or "").strip() or None
        elif tag == "ПометкаУдаления":
            deleted = deleted or bool(_flag(child))
        elif tag == "Статус":
            status = (child.text or "").strip() or None
        elif tag == "Страна":
            country = (child.text or "").strip() or None
        elif tag == "Изготовитель":
            maker = _manufacturer(child)
        elif tag in _DIMENSIONS:
            dimensions[_DIMENSIONS[tag]] = _dec(child)
        elif tag and not len(child) and not len(child.attrib):
            # Another leaf (``Категория``, ``Код`` ...): ``flatten`` keeps it in extra as (tag, text).
            extra.append([tag, (child.text or "").strip()])
        else:
            raise _Decline
    if not pid:
        raise _Decline
    deleted = deleted or status == "Удален"
    resolved: list[str] = []
    for image in images:
        path = resolve(image, file_dir)
        if path is None:  # refused with a warning by the slow path
            raise _Decline
        resolved.append(path)

    data: Json = {"id": pid, "name": name}
    if version is not None:
        data["version"] = version
    data["deleted"] = deleted
    if status is not None:
        data["status"] = status
    if barcode is not None:
        data["barcode"] = barcode
    if article is not None:
        data["article"] = article
    if unit is not None:
        data["base_unit"] = unit[0]
    if groups:
        data["group_ids"] = groups
    if description is not None:
        data["description"] = description
    if resolved:
        data["images"] = resolved
    if country is not None:
        data["country"] = country
    if maker is not None:
        data["manufacturer"] = maker
    if props:
        data["property_values"] = _encode_property_values(props)
    if rates:
        data["tax_rates"] = rates
    if reqs:
        data["requisites"] = reqs
    if chars:
        data["characteristics"] = chars
    for field in ("weight", "length", "width", "height"):
        if (size := dimensions.get(field)) is not None:
            data[field] = format(size, "f")
    if extra:
        data["extra"] = extra

    if len(set(groups)) != len(groups):
        groups = list(dict.fromkeys(groups))
    properties: list[tuple[Any, ...]] = []
    for property_id, values, _name in props:
        for value in values:
            if value:
                properties.append((pid, len(properties), property_id, value))
    text, digest = _text_and_hash(data)
    return EntityRow(
        Kind.PRODUCT,
        pid,
        version,
        deleted,
        digest,
        {
            "name": name,
            "article": article,
            "barcode": barcode,
            "description": description,
            "unit_code": unit[1] if unit is not None else None,
            "unit_name": unit[2] if unit is not None else None,
        },
        text,
        {
            "product_groups": [(pid, gid, i) for i, gid in enumerate(groups)],
            "product_properties": properties,
            "product_images": [(pid, i, p) for i, p in enumerate(resolved)],
        },
    )


# --- offers -----------------------------------------------------------------------------------------

# A price as parsed: (type id, value, currency, unit, ratio, JSON object of the Price).
_Price = tuple[str, str, str | None, str | None, str | None, Json]

_PRICE_CODES: Final = _Codes(
    "Представление", "ИдТипаЦены", "ЦенаЗаЕдиницу", "Валюта", "Коэффициент", "Единица", "МинКоличество",
    "КоличествоОт", "Налог",
)  # fmt: skip


def _price(item: Element) -> _Price:
    type_id = ""
    value = ratio = min_quantity = None
    currency = unit = presentation = None
    tax = None
    codes = _PRICE_CODES
    for child in item:
        code = codes[child.tag]
        if code == 1:
            presentation = (child.text or "").strip() or None
        elif code == 2:
            type_id = (child.text or "").strip()
        elif code == 3:
            raw = child.text
            value = raw.strip() if raw is not None else ""
            if not _CANONICAL(value):
                value = _number_text(child)
        elif code == 4:
            currency = (child.text or "").strip() or None
        elif code == 5:
            raw = child.text
            ratio = raw.strip() if raw is not None else ""
            if not _CANONICAL(ratio):
                ratio = _number_text(child)
        elif code == 6:
            unit = (child.text or "").strip() or None
        elif code == 7 or code == 8:
            min_quantity = _number_text(child)
        elif code == 9:
            tax = _tax(child)
        else:
            raise _Decline
    if not type_id or value is None:
        raise _Decline
    encoded: Json = {"price_type_id": type_id, "value": value}
    if currency is not None:
        encoded["currency"] = currency
    if unit is not None:
        encoded["unit"] = unit
    if ratio is not None:
        encoded["ratio"] = ratio
    if presentation is not None:
        encoded["presentation"] = presentation
    if min_quantity is not None:
        encoded["min_quantity"] = min_quantity
    if tax is not None:
        encoded["tax"] = tax
    return type_id, value, currency, unit, ratio, encoded


def _prices(el: Element) -> list[_Price]:
    return [_price(item) for item in el if LOCAL[item.tag] == "Цена"]


def _stock_attr(el: Element) -> tuple[str, Decimal]:
    get = el.get
    wid = (get("ИдСклада") or "").strip()
    raw = get("КоличествоНаСкладе")
    if raw is None:
        raw = get("Количество")
    if not wid:
        raise _Decline
    if raw is not None:
        value = raw.strip()
        if PLAIN_NUMBER_MATCH(value):
            return wid, Decimal(value)
    try:
        quantity = parse_decimal(raw)
    except ValueError:
        raise _Decline from None
    return wid, quantity if quantity is not None else Decimal(0)


def _rests(el: Element, stock: list[tuple[str, Decimal]]) -> Decimal | None:
    total: Decimal | None = None
    for rest in el:
        if LOCAL[rest.tag] != "Остаток":
            raise _Decline
        for child in rest:
            tag = LOCAL[child.tag]
            if tag == "Склад":
                wid = ""
                quantity: Decimal | None = None
                for part in child:
                    ptag = LOCAL[part.tag]
                    if ptag == "Ид":
                        wid = (part.text or "").strip()
                    elif ptag == "Количество":
                        quantity = _dec(part)
                    else:
                        raise _Decline
                if not wid:
                    raise _Decline
                stock.append((wid, quantity if quantity is not None else Decimal(0)))
            elif tag == "Количество":
                quantity = _dec(child)
                if quantity is not None:
                    total = quantity if total is None else total + quantity
            else:
                raise _Decline
    return total


def offer_facts(el: Element) -> OfferFacts | None:
    """``offer_row(conv.offer(el, path))`` and the reader's summary facts, or None (decline)."""
    try:
        return _offer_facts(el)
    except _Decline:
        return None


_OFFER_CODES: Final = _Codes(
    "Ид", "Цены", "Склад", "Количество", "Наименование", "Артикул", "БазоваяЕдиница",
    "ХарактеристикиТовара", "Штрихкод", "ШтрихКод", "Остатки", "ЗначенияСвойств", "ЗначенияРеквизитов",
    "НомерВерсии", "ПометкаУдаления", "Картинка",
)  # fmt: skip


def _offer_facts(el: Element) -> OfferFacts:
    if len(el.attrib):  # Статус and anything else go to extra
        raise _Decline
    codes = _OFFER_CODES
    oid = ""
    name = version = barcode = article = None
    unit: tuple[Json, str | None, str | None] | None = None
    chars: list[Json] = []
    props: list[tuple[str, list[str], str | None]] = []
    reqs: list[Json] = []
    prices: list[_Price] | None = None
    quantity: Decimal | None = None
    stock: list[tuple[str, Decimal]] | None = None
    images: list[str] = []
    deleted = False
    for child in el:
        code = codes[child.tag]
        if code == 1:
            oid = (child.text or "").strip()
        elif code == 2:
            prices = _prices(child)
        elif code == 3:
            if stock is None:
                stock = []
            stock.append(_stock_attr(child))
        elif code == 4:
            quantity = _dec(child)
        elif code == 5:
            name = (child.text or "").strip() or None
        elif code == 6:
            article = (child.text or "").strip() or None
        elif code == 7:
            unit = _base_unit(child)
        elif code == 8:
            chars = _characteristics(child)
        elif code == 9 or code == 10:
            barcode = (child.text or "").strip() or None
        elif code == 11:
            if stock is None:
                stock = []
            total = _rests(child, stock)
            if total is not None:
                quantity = total
        elif code == 12:
            props = _property_values(child)
        elif code == 13:
            reqs = _requisites(child)
        elif code == 14:
            version = (child.text or "").strip() or None
        elif code == 15:
            deleted = deleted or bool(_flag(child))
        elif code == 16:
            if image := (child.text or "").strip():
                images.append(image)
        else:
            raise _Decline
    if not oid:
        raise _Decline
    product_id, characteristic_id = split_offer_id(oid)
    key = product_id if characteristic_id is None else f"{product_id}#{characteristic_id}"

    description: EntityRow | None = None
    if (prices is None and stock is None and quantity is None) or (
        name is not None
        or article is not None
        or barcode is not None
        or unit is not None
        or version is not None
        or deleted
        or chars
        or props
        or reqs
        or images
    ):
        data: Json = {"id": key}
        if name is not None:
            data["name"] = name
        if version is not None:
            data["version"] = version
        data["deleted"] = deleted
        if barcode is not None:
            data["barcode"] = barcode
        if article is not None:
            data["article"] = article
        if unit is not None:
            data["base_unit"] = unit[0]
        if chars:
            data["characteristics"] = chars
        if props:
            data["property_values"] = _encode_property_values(props)
        if reqs:
            data["requisites"] = reqs
        if images:
            data["images"] = images
        text, digest = _text_and_hash(data)
        description = EntityRow(
            Kind.OFFER,
            key,
            version,
            deleted,
            digest,
            {
                "product_id": product_id,
                "characteristic_id": characteristic_id,
                "name": name,
                "article": article,
                "barcode": barcode,
            },
            text,
            {},
        )

    price_rows: list[tuple[Any, ...]] | None = None
    prices_hash: str | None = None
    if prices is not None:
        unique = prices
        if len(prices) > 1:
            seen: dict[str, int] = {}
            unique = []
            for price in prices:  # a price type listed twice: the last wins, in first-seen position
                at = seen.get(price[0])
                if at is None:
                    seen[price[0]] = len(unique)
                    unique.append(price)
                else:
                    unique[at] = price
        price_rows = [(key, p[0], p[1], p[2], p[3], p[4]) for p in unique]
        prices_hash = _hash([p[5] for p in unique])

    stock_rows: list[tuple[Any, ...]] | None = None
    stock_hash: str | None = None
    total_quantity = quantity
    texts: dict[str, str] = {}
    if stock is not None:
        totals: dict[str, Decimal] = {}
        for wid, amount in stock:  # a warehouse listed twice: its quantities add up
            totals[wid] = totals.get(wid, _ZERO) + amount
        texts = {w: format(q, "f") for w, q in totals.items()}
        stock_rows = [(key, w, q) for w, q in texts.items()]
        if total_quantity is None:
            total_quantity = sum(totals.values(), _ZERO)
    quantity_text = decimal_text(total_quantity)
    if stock is not None or quantity is not None:
        stock_hash = _hash(
            {"quantity": quantity_text, "stock": None if stock_rows is None else sorted(texts.items())}
        )
    row = OfferRow(
        key,
        product_id,
        characteristic_id,
        description,
        price_rows,
        prices_hash,
        stock_rows,
        stock_hash,
        quantity_text,
    )
    return OfferFacts(
        row,
        None if prices is None else len(prices),
        stock is not None or quantity is not None,
        bool(
            chars
            or props
            or name is not None
            or article is not None
            or barcode is not None
            or unit is not None
        ),
    )
