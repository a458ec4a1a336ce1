"""Element -> model converters, one function per CommerceML element. No I/O.

Each converter walks the children of one complete element once, matching them by local name
(namespace-agnostic) and stripping every value. Children it does not model are flattened into
``extra`` as ``(path, value)`` pairs, so nothing is dropped silently. Child order is never relied
upon: 1C configurations disagree on it (protocol.md §9.9).

``path`` arguments are the element's location for error messages, e.g. ``Каталог/Товары/Товар[12]``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from commerceml import _values
from commerceml.errors import CommerceMLError, InvalidValue, MissingElement
from commerceml.model import (
    Address,
    AddressField,
    BankAccount,
    CatalogInfo,
    Characteristic,
    ClassifierInfo,
    Contact,
    Counterparty,
    Discount,
    Document,
    Extra,
    Group,
    Manufacturer,
    Offer,
    OfferPackageInfo,
    OrderLine,
    Price,
    PriceType,
    Product,
    Property,
    PropertyValue,
    Representative,
    Requisite,
    Stock,
    Tax,
    TaxRate,
    TaxSum,
    Unit,
    UnitRecalculation,
    ValueVariant,
    Warehouse,
)

# lxml-stubs type attributes and sourceline imprecisely (bytes tags, Ellipsis lines); the converters
# only ever see elements of a parsed document, so they take them untyped.
Element = Any
T = TypeVar("T")


class _LocalNames(dict[Any, str]):
    """``LOCAL[el.tag]``: the local name of a tag, computed once per distinct tag (a C-level lookup
    on the hot path; comments and processing instructions, whose tag is not a string, map to '')."""

    def __missing__(self, tag: Any) -> str:
        if not isinstance(tag, str):
            return ""
        brace = tag.rfind("}")
        name = tag[brace + 1 :] if brace >= 0 else tag
        self[tag] = name
        return name


LOCAL = _LocalNames()


def ln(tag: Any) -> str:
    """Local name of a tag (``{urn:...}Товар`` -> ``Товар``)."""
    return LOCAL[tag]


def text(el: Element) -> str:
    """The element's own text, stripped ('' when empty)."""
    value = el.text
    return value.strip() if value else ""


def opt(el: Element) -> str | None:
    value = el.text
    if not value:
        return None
    value = value.strip()
    return value or None


def attr(el: Element, name: str) -> str | None:
    """An attribute by local name (attributes are unqualified in every real file), stripped."""
    value = el.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _read(parse: Callable[[str | None], T], raw: str | None, el: Element, path: str) -> T:
    try:
        return parse(raw)
    except ValueError as exc:
        raise InvalidValue(str(exc), line=el.sourceline, path=path) from None


_PLAIN_NUMBER = _values.PLAIN_NUMBER.fullmatch
_TRUE_FALSE = {"true": True, "false": False}


def dec(el: Element, path: str) -> Decimal | None:
    """The element's number; the path for the error message is built only when there is one."""
    raw = el.text
    if raw is not None:
        value = raw.strip()
        if _PLAIN_NUMBER(value):  # the fast path: what 1C writes almost always
            return Decimal(value)
    try:
        return _values.parse_decimal(raw)
    except ValueError as exc:
        raise InvalidValue(str(exc), line=el.sourceline, path=f"{path}/{LOCAL[el.tag]}") from None


def flag(el: Element, path: str) -> bool | None:
    raw = el.text
    if raw is not None:
        value = _TRUE_FALSE.get(raw.strip())
        if value is not None:
            return value
    try:
        return _values.parse_bool(raw)
    except ValueError as exc:
        raise InvalidValue(str(exc), line=el.sourceline, path=f"{path}/{LOCAL[el.tag]}") from None


def flatten(el: Element, prefix: str, out: list[tuple[str, str]]) -> None:
    """Append ``el`` as leaf ``(path, value)`` pairs: attributes as ``@name``, text of leaves."""
    for key, value in el.attrib.items():
        out.append((f"{prefix}/@{ln(key)}", value.strip()))
    children = [c for c in el if isinstance(c.tag, str)]
    if not children:
        if not el.attrib or (el.text or "").strip():
            out.append((prefix, (el.text or "").strip()))
        return
    for child in children:
        flatten(child, f"{prefix}/{LOCAL[child.tag]}", out)


def _extra_attrs(el: Element, known: frozenset[str], out: list[tuple[str, str]]) -> None:
    for key, value in el.attrib.items():
        name = ln(key)
        if name not in known and not key.startswith("{http://www.w3.org/2001/XMLSchema-instance}"):
            out.append((f"@{name}", value.strip()))


def _require(value: str | None, el: Element, path: str, what: str) -> str:
    if not value:
        raise MissingElement(f"{what} has no Ид", line=el.sourceline, path=path)
    return value


def _ids(el: Element, spill: list[tuple[str, str]], prefix: str) -> tuple[str, ...]:
    """The ``Ид`` children of a list such as a product's ``Группы`` (3.1 may hold several)."""
    ids: list[str] = []
    for child in el:
        if LOCAL[child.tag] == "Ид":
            if value := (child.text or "").strip():
                ids.append(value)
        elif isinstance(child.tag, str):
            flatten(child, f"{prefix}/{LOCAL[child.tag]}", spill)
    return tuple(ids)


# --- small shared pieces --------------------------------------------------------------------


Spill = list[tuple[str, str]] | None
"""Where a sub-converter puts what it does not model: the entity's ``extra`` (or None: dropped on purpose)."""


def _spill(child: Element, prefix: str, spill: Spill) -> None:
    """Keep an unmodelled child of a nested structure in the owning entity's ``extra``."""
    if spill is not None and isinstance(child.tag, str):
        flatten(child, f"{prefix}/{LOCAL[child.tag]}", spill)


def requisites(el: Element, spill: Spill = None, prefix: str = "ЗначенияРеквизитов") -> tuple[Requisite, ...]:
    """``ЗначенияРеквизитов``: name + one or more ``Значение`` (some configurations send several)."""
    result: list[Requisite] = []
    for item in el:
        if LOCAL[item.tag] != "ЗначениеРеквизита":
            _spill(item, prefix, spill)
            continue
        name = ""
        values: list[str] = []
        for child in item:
            tag = LOCAL[child.tag]
            if tag == "Наименование":
                name = (child.text or "").strip()
            elif tag == "Значение":
                values.append((child.text or "").strip())
            else:
                _spill(child, f"{prefix}/ЗначениеРеквизита", spill)
        result.append(Requisite(name, tuple(values)))
    return tuple(result)


def property_values(
    el: Element, spill: Spill = None, prefix: str = "ЗначенияСвойств"
) -> tuple[PropertyValue, ...]:
    result: list[PropertyValue] = []
    for item in el:
        if LOCAL[item.tag] not in ("ЗначенияСвойства", "ЗначениеСвойства"):
            _spill(item, prefix, spill)
            continue
        pid = ""
        name: str | None = None
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
                _spill(child, f"{prefix}/{LOCAL[item.tag]}", spill)
        result.append(PropertyValue(pid, tuple(values), name))
    return tuple(result)


def tax_rates(el: Element, spill: Spill = None, prefix: str = "СтавкиНалогов") -> tuple[TaxRate, ...]:
    result: list[TaxRate] = []
    for item in el:
        if LOCAL[item.tag] != "СтавкаНалога":
            _spill(item, prefix, spill)
            continue
        name = rate = ""
        for child in item:
            tag = LOCAL[child.tag]
            if tag == "Наименование":
                name = (child.text or "").strip()
            elif tag == "Ставка":
                rate = (child.text or "").strip()
            else:
                _spill(child, f"{prefix}/СтавкаНалога", spill)
        result.append(TaxRate(name, rate))
    return tuple(result)


def tax(el: Element, path: str, spill: Spill = None, prefix: str = "Налог") -> Tax:
    name = ""
    included = excise = None
    for child in el:
        tag = LOCAL[child.tag]
        if tag == "Наименование":
            name = (child.text or "").strip()
        elif tag == "УчтеноВСумме":
            included = flag(child, path)
        elif tag == "Акциз":
            excise = flag(child, path)
        else:
            _spill(child, prefix, spill)
    return Tax(name, included, excise)


def tax_sums(el: Element, path: str, spill: Spill = None, prefix: str = "Налоги") -> tuple[TaxSum, ...]:
    result: list[TaxSum] = []
    for item in el:
        if LOCAL[item.tag] != "Налог":
            _spill(item, prefix, spill)
            continue
        name = ""
        included = None
        amount = None
        rate = None
        for child in item:
            tag = LOCAL[child.tag]
            if tag == "Наименование":
                name = (child.text or "").strip()
            elif tag == "УчтеноВСумме":
                included = flag(child, f"{path}/Налог")
            elif tag == "Сумма":
                amount = dec(child, f"{path}/Налог")
            elif tag == "Ставка":
                rate = (child.text or "").strip() or None
            else:
                _spill(child, f"{prefix}/Налог", spill)
        result.append(TaxSum(name, included, amount, rate))
    return tuple(result)


def discounts(el: Element, path: str, spill: Spill = None, prefix: str = "Скидки") -> tuple[Discount, ...]:
    result: list[Discount] = []
    for item in el:
        if LOCAL[item.tag] != "Скидка":
            _spill(item, prefix, spill)
            continue
        name = None
        amount = percent = None
        included = None
        for child in item:
            tag = LOCAL[child.tag]
            if tag == "Наименование":
                name = (child.text or "").strip() or None
            elif tag == "Сумма":
                amount = dec(child, f"{path}/Скидка")
            elif tag == "Процент":
                percent = dec(child, f"{path}/Скидка")
            elif tag == "УчтеноВСумме":
                included = flag(child, f"{path}/Скидка")
            else:
                _spill(child, f"{prefix}/Скидка", spill)
        result.append(Discount(name, amount, percent, included))
    return tuple(result)


def characteristics(
    el: Element, spill: Spill = None, prefix: str = "ХарактеристикиТовара"
) -> tuple[Characteristic, ...]:
    result: list[Characteristic] = []
    for item in el:
        if LOCAL[item.tag] != "ХарактеристикаТовара":
            _spill(item, prefix, spill)
            continue
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
                _spill(child, f"{prefix}/ХарактеристикаТовара", spill)
        result.append(Characteristic(name, value, cid))
    return tuple(result)


_UNIT_ATTRIBUTES = frozenset({"Код", "НаименованиеПолное", "МеждународноеСокращение"})


def base_unit(el: Element, path: str, spill: Spill = None, prefix: str = "БазоваяЕдиница") -> Unit:
    """``БазоваяЕдиница``: 2.0x attributes + text, or 3.1 text reference, plus ``Пересчет``."""
    recalculations: list[UnitRecalculation] = []
    for child in el if len(el) else ():
        if LOCAL[child.tag] == "Пересчет":
            unit = ""
            ratio = None
            for part in child:
                tag = LOCAL[part.tag]
                if tag == "Единица":
                    unit = (part.text or "").strip()
                elif tag == "Коэффициент":
                    ratio = dec(part, f"{path}/БазоваяЕдиница/Пересчет")
                else:
                    _spill(part, f"{prefix}/Пересчет", spill)
            recalculations.append(UnitRecalculation(unit, ratio))
        else:
            _spill(child, prefix, spill)
    get = el.get
    code = get("Код")
    full_name = get("НаименованиеПолное")
    international = get("МеждународноеСокращение")
    name = (el.text or "").strip() or None
    if code is not None:
        code = code.strip() or None
    if full_name is not None:
        full_name = full_name.strip() or None
    if international is not None:
        international = international.strip() or None
    if spill is not None and len(el.attrib) > (code is not None) + (full_name is not None) + (
        international is not None
    ):
        for key, value in el.attrib.items():
            if LOCAL[key] not in _UNIT_ATTRIBUTES:
                spill.append((f"{prefix}/@{LOCAL[key]}", value.strip()))
    if code is None and full_name is None and international is None and name is not None:
        # 3.1: the text is a reference into Классификатор/ЕдиницыИзмерения (protocol.md §6.2).
        return Unit(ref=name, recalculations=tuple(recalculations))
    return Unit(
        code=code,
        name=name,
        full_name=full_name,
        international=international,
        recalculations=tuple(recalculations),
    )


_UNIT_FIELDS = {
    "Код": "code",
    "НаименованиеКраткое": "name",
    "НаименованиеПолное": "full_name",
    "МеждународноеСокращение": "international",
    "Ид": "id",
    "НомерВерсии": "version",
}


def unit_element(el: Element, path: str, spill: Spill = None, prefix: str = "Единица") -> Unit:
    """``ЕдиницаИзмерения`` of the classifier, or an order line's ``Единица``: element form."""
    values: dict[str, Any] = {}
    extra: list[tuple[str, str]] = [] if spill is None else spill
    for child in el:
        tag = LOCAL[child.tag]
        field_name = _UNIT_FIELDS.get(tag)
        if field_name is not None:
            values[field_name] = (child.text or "").strip() or None
        elif tag == "ПометкаУдаления":
            values["deleted"] = bool(flag(child, path))
        elif isinstance(child.tag, str):
            flatten(child, tag if spill is None else f"{prefix}/{tag}", extra)
    if spill is None:
        values["extra"] = tuple(extra)
    return Unit(**values)


def address(el: Element, spill: Spill = None, prefix: str = "Адрес") -> Address:
    presentation = None
    fields: list[AddressField] = []
    for child in el:
        tag = LOCAL[child.tag]
        if tag == "Представление":
            presentation = (child.text or "").strip() or None
        elif tag == "АдресноеПоле":
            ftype = value = ""
            for part in child:
                ptag = LOCAL[part.tag]
                if ptag == "Тип":
                    ftype = (part.text or "").strip()
                elif ptag == "Значение":
                    value = (part.text or "").strip()
                else:
                    _spill(part, f"{prefix}/АдресноеПоле", spill)
            fields.append(AddressField(ftype, value))
        else:
            _spill(child, prefix, spill)
    return Address(presentation, tuple(fields))


def contacts(el: Element, spill: Spill = None, prefix: str = "Контакты") -> tuple[Contact, ...]:
    result: list[Contact] = []
    for item in el:
        if LOCAL[item.tag] != "Контакт":
            _spill(item, prefix, spill)
            continue
        ctype = value = ""
        comment = None
        for child in item:
            tag = LOCAL[child.tag]
            if tag == "Тип":
                ctype = (child.text or "").strip()
            elif tag == "Значение":
                value = (child.text or "").strip()
            elif tag == "Комментарий":
                comment = (child.text or "").strip() or None
            else:
                _spill(child, f"{prefix}/Контакт", spill)
        result.append(Contact(ctype, value, comment))
    return tuple(result)


def bank_accounts(
    el: Element, spill: Spill = None, prefix: str = "РасчетныеСчета"
) -> tuple[BankAccount, ...]:
    result: list[BankAccount] = []
    index = 0
    for item in el:
        if LOCAL[item.tag] != "РасчетныйСчет":
            _spill(item, prefix, spill)
            continue
        index += 1
        here = f"{prefix}/РасчетныйСчет[{index}]"
        number = bank_name = bik = bank_address = corr = None
        for child in item:
            tag = LOCAL[child.tag]
            if tag == "НомерСчета":
                number = (child.text or "").strip() or None
            elif tag == "Банк":
                for part in child:
                    ptag = LOCAL[part.tag]
                    if ptag == "Наименование":
                        bank_name = (part.text or "").strip() or None
                    elif ptag == "БИК":
                        bik = (part.text or "").strip() or None
                    elif ptag == "СчетКорреспондентский":
                        corr = (part.text or "").strip() or None
                    elif ptag == "Адрес":
                        bank_address = address(part, spill, f"{here}/Банк/Адрес").presentation
                    else:
                        _spill(part, f"{here}/Банк", spill)
            else:
                # БанкКорреспондент, Комментарий ...: kept, numbered per account.
                _spill(child, here, spill)
        result.append(BankAccount(number, bank_name, bik, bank_address, corr))
    return tuple(result)


_COUNTERPARTY_TEXT = {
    "Ид": "id",
    "Наименование": "name",
    "ПолноеНаименование": "full_name",
    "ОфициальноеНаименование": "official_name",
    "Фамилия": "last_name",
    "Имя": "first_name",
    "Отчество": "middle_name",
    "ИНН": "inn",
    "КПП": "kpp",
    "ОКПО": "okpo",
    "КодПоОКПО": "okpo",
    "Роль": "role",
    "НомерВерсии": "version",
}


def counterparty(el: Element, path: str) -> Counterparty:
    """``Контрагент`` or ``Владелец``."""
    values: dict[str, Any] = {}
    extra: list[tuple[str, str]] = []
    reps: list[Representative] = []
    for child in el:
        tag = LOCAL[child.tag]
        field_name = _COUNTERPARTY_TEXT.get(tag)
        if field_name is not None:
            values[field_name] = (child.text or "").strip() or None
        elif tag == "ПометкаУдаления":
            values["deleted"] = bool(flag(child, path))
        elif tag == "АдресРегистрации":
            values["registration_address"] = address(child, extra, tag)
        elif tag == "ЮридическийАдрес":
            values["legal_address"] = address(child, extra, tag)
        elif tag == "Адрес":
            values["address"] = address(child, extra, tag)
        elif tag == "Контакты":
            values["contacts"] = contacts(child, extra, tag)
        elif tag == "РасчетныеСчета":
            values["bank_accounts"] = bank_accounts(child, extra, tag)
        elif tag == "Представители":
            for rep in child:
                if LOCAL[rep.tag] == "Представитель":
                    reps.append(_representative(rep, extra, f"{tag}/Представитель[{len(reps) + 1}]"))
                else:
                    _spill(rep, tag, extra)
        elif isinstance(child.tag, str):
            flatten(child, tag, extra)
    return Counterparty(**values, representatives=tuple(reps), extra=tuple(extra))


def _representative(el: Element, spill: Spill = None, prefix: str = "Представитель") -> Representative:
    # Either <Представитель><Контрагент>{Отношение, Ид, Наименование}</...> or the fields directly.
    holder = el
    for child in el:
        if LOCAL[child.tag] == "Контрагент":
            holder = child
            prefix = f"{prefix}/Контрагент"
    relation = rid = name = full_name = None
    for child in holder:
        tag = LOCAL[child.tag]
        if tag == "Отношение":
            relation = (child.text or "").strip() or None
        elif tag == "Ид":
            rid = (child.text or "").strip() or None
        elif tag == "Наименование":
            name = (child.text or "").strip() or None
        elif tag == "ПолноеНаименование":
            full_name = (child.text or "").strip() or None
        elif tag != "Контрагент":
            _spill(child, prefix, spill)
    return Representative(relation, rid, name or full_name)


# --- classifier -----------------------------------------------------------------------------


def group_tree(
    el: Element, path: str, parent_id: str | None, out: list[Group], stray: list[tuple[str, int | None]]
) -> None:
    """Flatten ``Группы`` (recursive) into ``out`` in pre-order: every parent before its children.

    Elements other than ``Группа`` in a list are reported in ``stray`` (path, line).
    """
    index = 0
    for item in el:
        if LOCAL[item.tag] != "Группа":
            if isinstance(item.tag, str):
                stray.append((f"{path}/{LOCAL[item.tag]}", item.sourceline))
            continue
        index += 1
        here = f"{path}/Группа[{index}]"
        gid = name = ""
        description = version = None
        deleted = False
        nested: list[Element] = []
        extra: list[tuple[str, str]] = []
        for child in item:
            tag = LOCAL[child.tag]
            if tag == "Ид":
                gid = (child.text or "").strip()
            elif tag == "Наименование":
                name = (child.text or "").strip()
            elif tag == "Описание":
                description = (child.text or "").strip() or None
            elif tag == "НомерВерсии":
                version = (child.text or "").strip() or None
            elif tag == "ПометкаУдаления":
                deleted = bool(flag(child, here))
            elif tag == "Группы":
                nested.append(child)
            elif isinstance(child.tag, str):
                flatten(child, tag, extra)
        gid = _require(gid, item, here, "Группа")
        out.append(Group(gid, name, parent_id, description, version, deleted, tuple(extra)))
        for sub in nested:
            group_tree(sub, f"{here}/Группы", gid, out, stray)


def property_def(el: Element, path: str) -> Property:
    values: dict[str, Any] = {}
    variants: list[ValueVariant] = []
    extra: list[tuple[str, str]] = []
    for child in el:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            values["id"] = (child.text or "").strip()
        elif tag == "Наименование":
            values["name"] = (child.text or "").strip()
        elif tag == "ТипЗначений":
            values["value_type"] = (child.text or "").strip() or None
        elif tag == "Обязательное":
            values["required"] = flag(child, path)
        elif tag == "Множественное":
            values["multiple"] = flag(child, path)
        elif tag == "ДляТоваров":
            values["for_products"] = flag(child, path)
        elif tag == "ДляПредложений":
            values["for_offers"] = flag(child, path)
        elif tag == "ДляДокументов":
            values["for_documents"] = flag(child, path)
        elif tag == "НомерВерсии":
            values["version"] = (child.text or "").strip() or None
        elif tag == "ПометкаУдаления":
            values["deleted"] = bool(flag(child, path))
        elif tag == "ВариантыЗначений":
            for variant in child:
                vtag = LOCAL[variant.tag]
                if vtag == "Справочник":
                    vid = value = ""
                    for part in variant:
                        ptag = LOCAL[part.tag]
                        if ptag == "ИдЗначения":
                            vid = (part.text or "").strip()
                        elif ptag == "Значение":
                            value = (part.text or "").strip()
                        else:
                            _spill(part, "ВариантыЗначений/Справочник", extra)
                    variants.append(ValueVariant(vid, value))
                elif vtag == "Значение":
                    # Older form: a bare list of allowed literal values.
                    variants.append(ValueVariant("", (variant.text or "").strip()))
                else:
                    _spill(variant, "ВариантыЗначений", extra)
        elif isinstance(child.tag, str):
            flatten(child, tag, extra)
    pid = _require(values.pop("id", ""), el, path, "Свойство")
    name = values.pop("name", "")
    return Property(pid, name, **values, variants=tuple(variants), extra=tuple(extra))


def price_type(el: Element, path: str) -> PriceType:
    pid = name = ""
    currency = version = None
    tax_: Tax | None = None
    deleted = False
    extra: list[tuple[str, str]] = []
    for child in el:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            pid = (child.text or "").strip()
        elif tag == "Наименование":
            name = (child.text or "").strip()
        elif tag == "Валюта":
            currency = (child.text or "").strip() or None
        elif tag == "Налог":
            tax_ = tax(child, f"{path}/Налог", extra)
        elif tag == "НомерВерсии":
            version = (child.text or "").strip() or None
        elif tag == "ПометкаУдаления":
            deleted = bool(flag(child, path))
        elif isinstance(child.tag, str):
            flatten(child, tag, extra)
    return PriceType(_require(pid, el, path, "ТипЦены"), name, currency, tax_, version, deleted, tuple(extra))


def warehouse(el: Element, path: str) -> Warehouse:
    wid = ""
    values: dict[str, Any] = {}
    extra: list[tuple[str, str]] = []
    for child in el:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            wid = (child.text or "").strip()
        elif tag == "Наименование":
            values["name"] = (child.text or "").strip() or None
        elif tag == "Комментарий":
            values["comment"] = (child.text or "").strip() or None
        elif tag == "Адрес":
            values["address"] = address(child, extra)
        elif tag == "Контакты":
            values["contacts"] = contacts(child, extra)
        elif tag == "НомерВерсии":
            values["version"] = (child.text or "").strip() or None
        elif tag == "ПометкаУдаления":
            values["deleted"] = bool(flag(child, path))
        elif isinstance(child.tag, str):
            flatten(child, tag, extra)
    return Warehouse(_require(wid, el, path, "Склад"), **values, extra=tuple(extra))


_HEADER_LISTS = frozenset(
    {"Группы", "Свойства", "ТипыЦен", "Склады", "ЕдиницыИзмерения", "Товары", "Предложения"}
)


def _header(el: Element, path: str) -> tuple[dict[str, Any], Extra]:
    """Common header fields of Классификатор / Каталог / ПакетПредложений (their lists removed)."""
    values: dict[str, Any] = {}
    extra: list[tuple[str, str]] = []
    changes = attr(el, "СодержитТолькоИзменения")
    if changes is not None:
        values["changes_only"] = _read(_values.parse_bool, changes, el, f"{path}/@СодержитТолькоИзменения")
    _extra_attrs(el, frozenset({"СодержитТолькоИзменения", "Ид"}), extra)
    if attr(el, "Ид") is not None:
        values["id"] = attr(el, "Ид")
    for child in el:
        tag = LOCAL[child.tag]
        if tag in _HEADER_LISTS or not isinstance(child.tag, str):
            continue
        if tag == "Ид":
            values["id"] = (child.text or "").strip() or None
        elif tag == "Наименование":
            values["name"] = (child.text or "").strip() or None
        elif tag == "ИдКлассификатора":
            values["classifier_id"] = (child.text or "").strip() or None
        elif tag == "ИдКаталога":
            values["catalog_id"] = (child.text or "").strip() or None
        elif tag == "Описание":
            values["description"] = (child.text or "").strip() or None
        elif tag == "Владелец":
            values["owner"] = counterparty(child, f"{path}/Владелец")
        elif tag == "СодержитТолькоИзменения":
            values["changes_only"] = flag(child, path)
        elif tag == "НомерВерсии":
            values["version"] = (child.text or "").strip() or None
        elif tag == "ПометкаУдаления":
            values["deleted"] = bool(flag(child, path))
        else:
            flatten(child, tag, extra)
    return values, tuple(extra)


def classifier_info(el: Element, path: str) -> ClassifierInfo:
    values, extra = _header(el, path)
    if "classifier_id" in values:
        extra = (("ИдКлассификатора", values.pop("classifier_id") or ""),) + extra
    values.pop("catalog_id", None)
    values.pop("description", None)
    return ClassifierInfo(id=values.pop("id", None), name=values.pop("name", None), **values, extra=extra)


def catalog_info(el: Element, path: str) -> CatalogInfo:
    values, extra = _header(el, path)
    for key in ("catalog_id", "version", "deleted"):
        if key in values:
            extra = extra + ((key, str(values.pop(key))),)
    return CatalogInfo(
        id=values.pop("id", None),
        classifier_id=values.pop("classifier_id", None),
        name=values.pop("name", None),
        **values,
        extra=extra,
    )


def offer_package_info(el: Element, path: str) -> OfferPackageInfo:
    values, extra = _header(el, path)
    for key in ("description", "version", "deleted"):
        if key in values:
            extra = extra + ((key, str(values.pop(key))),)
    return OfferPackageInfo(id=values.pop("id", None), name=values.pop("name", None), **values, extra=extra)


# --- goods ----------------------------------------------------------------------------------


_DIMENSIONS = {"Вес": "weight", "Длина": "length", "Ширина": "width", "Высота": "height"}


def product(el: Element, path: str) -> Product:
    pid = name = ""
    version = barcode = article = description = country = None
    unit: Unit | None = None
    maker: Manufacturer | None = None
    props: tuple[PropertyValue, ...] = ()
    rates: tuple[TaxRate, ...] = ()
    reqs: tuple[Requisite, ...] = ()
    chars: tuple[Characteristic, ...] = ()
    dimensions: dict[str, Decimal | None] = {}
    groups: list[str] = []
    images: list[str] = []
    extra: list[tuple[str, str]] = []
    status = None
    if el.keys():
        status = attr(el, "Статус")
        _extra_attrs(el, frozenset({"Статус"}), extra)
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
            unit = base_unit(child, path, extra)
        elif tag == "Группы":
            groups.extend(_ids(child, extra, tag))
        elif tag == "Описание":
            description = (child.text or "").strip() or None
        elif tag == "Картинка":
            if image := (child.text or "").strip():
                images.append(image)
        elif tag == "ЗначенияСвойств":
            props = property_values(child, extra)
        elif tag == "СтавкиНалогов":
            rates = tax_rates(child, extra)
        elif tag == "ЗначенияРеквизитов":
            reqs = requisites(child, extra)
        elif tag in ("Штрихкод", "ШтрихКод"):
            barcode = (child.text or "").strip() or None
        elif tag == "Картинки":
            images.extend(v for c in child if (v := (c.text or "").strip()))
        elif tag == "ХарактеристикиТовара":
            chars = characteristics(child, extra)
        elif tag == "НомерВерсии":
            version = (child.text or "").strip() or None
        elif tag == "ПометкаУдаления":
            deleted = deleted or bool(flag(child, path))
        elif tag == "Статус":
            status = (child.text or "").strip() or None
        elif tag == "Страна":
            country = (child.text or "").strip() or None
        elif tag == "Изготовитель":
            maker = _manufacturer(child, extra)
        elif tag in _DIMENSIONS:
            dimensions[_DIMENSIONS[tag]] = dec(child, path)
        elif isinstance(child.tag, str):
            flatten(child, tag, extra)
    pid = _require(pid, el, path, "Товар")
    return Product(
        pid,
        name,
        version=version,
        deleted=deleted or status == "Удален",
        status=status,
        barcode=barcode,
        article=article,
        base_unit=unit,
        group_ids=tuple(groups),
        description=description,
        images=tuple(images),
        country=country,
        manufacturer=maker,
        property_values=props,
        tax_rates=rates,
        requisites=reqs,
        characteristics=chars,
        extra=tuple(extra),
        **dimensions,
    )


def _manufacturer(el: Element, spill: Spill = None, prefix: str = "Изготовитель") -> Manufacturer:
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
            _spill(child, prefix, spill)
    return Manufacturer(mid, name, official)


# --- offers ---------------------------------------------------------------------------------


def prices(el: Element, path: str) -> tuple[Price, ...]:
    result: list[Price] = []
    index = 0
    try:
        for item in el:
            if LOCAL[item.tag] != "Цена":
                continue
            index += 1
            result.append(_price(item))
    except CommerceMLError as exc:
        # Paths inside a price are relative ("/ЦенаЗаЕдиницу"); the price's own is built only now.
        exc.path = f"{path}/Цены/Цена[{index}]{exc.path or ''}"
        raise
    return tuple(result)


def _price(item: Element) -> Price:
    type_id = ""
    value = ratio = min_quantity = None
    currency = unit = presentation = None
    tax_: Tax | None = None
    extra: list[tuple[str, str]] = []
    for child in item:
        tag = LOCAL[child.tag]
        if tag == "ИдТипаЦены":
            type_id = (child.text or "").strip()
        elif tag == "ЦенаЗаЕдиницу":
            value = dec(child, "")
        elif tag == "Валюта":
            currency = (child.text or "").strip() or None
        elif tag == "Коэффициент":
            ratio = dec(child, "")
        elif tag == "Представление":
            presentation = (child.text or "").strip() or None
        elif tag == "Единица":
            unit = (child.text or "").strip() or None
        elif tag in ("МинКоличество", "КоличествоОт"):
            min_quantity = dec(child, "")
        elif tag == "Налог":
            tax_ = tax(child, "/Налог", extra, "Цены/Цена/Налог")
        elif isinstance(child.tag, str):
            flatten(child, tag, extra)
    if not type_id:
        raise MissingElement("Цена has no ИдТипаЦены", line=item.sourceline)
    if value is None:
        raise MissingElement("Цена has no ЦенаЗаЕдиницу", line=item.sourceline)
    return Price(
        type_id,
        value,
        currency=currency,
        unit=unit,
        ratio=ratio,
        presentation=presentation,
        min_quantity=min_quantity,
        tax=tax_,
        extra=tuple(extra),
    )


def _rests(el: Element, path: str, stock: list[Stock], spill: Spill = None) -> Decimal | None:
    """``Остатки/Остаток/{Склад{Ид, Количество} | Количество}``; returns the total when given."""
    total: Decimal | None = None
    for rest in el:
        if LOCAL[rest.tag] != "Остаток":
            _spill(rest, "Остатки", spill)
            continue
        for child in rest:
            tag = LOCAL[child.tag]
            if tag == "Склад":
                wid = ""
                qty: Decimal | None = None
                for part in child:
                    ptag = LOCAL[part.tag]
                    if ptag == "Ид":
                        wid = (part.text or "").strip()
                    elif ptag == "Количество":
                        qty = dec(part, f"{path}/Остатки/Остаток/Склад")
                    else:
                        _spill(part, "Остатки/Остаток/Склад", spill)
                if not wid:
                    raise MissingElement(
                        "Остаток/Склад has no Ид", line=child.sourceline, path=f"{path}/Остатки/Остаток/Склад"
                    )
                stock.append(Stock(wid, qty if qty is not None else Decimal(0)))
            elif tag == "Количество":
                quantity = dec(child, f"{path}/Остатки/Остаток")
                if quantity is not None:
                    total = quantity if total is None else total + quantity
            else:
                _spill(child, "Остатки/Остаток", spill)
    return total


def _stock_attr(el: Element, path: str) -> Stock:
    """``<Склад ИдСклада="..." КоличествоНаСкладе="7"/>`` (2.04+; ``Количество`` also seen)."""
    get = el.get
    wid = (get("ИдСклада") or "").strip()
    raw = get("КоличествоНаСкладе")
    if raw is None:
        raw = get("Количество")
    if not wid:
        raise MissingElement("Склад has no ИдСклада", line=el.sourceline, path=f"{path}/Склад")
    if raw is not None and _PLAIN_NUMBER(raw.strip()):
        return Stock(wid, Decimal(raw.strip()))
    qty = _read(_values.parse_decimal, raw, el, f"{path}/Склад/@КоличествоНаСкладе")
    return Stock(wid, qty if qty is not None else Decimal(0))


def _stock_list(el: Element, path: str, stock: list[Stock], spill: Spill = None) -> None:
    """``КоличествоНаСкладах/КоличествоНаСкладе{ИдСклада, Количество}`` (1C-Bitrix vocabulary)."""
    for item in el:
        if LOCAL[item.tag] != "КоличествоНаСкладе":
            _spill(item, "КоличествоНаСкладах", spill)
            continue
        wid = ""
        qty: Decimal | None = None
        for child in item:
            tag = LOCAL[child.tag]
            if tag in ("ИдСклада", "Ид"):
                wid = (child.text or "").strip()
            elif tag == "Количество":
                qty = dec(child, f"{path}/КоличествоНаСкладах/КоличествоНаСкладе")
            else:
                _spill(child, "КоличествоНаСкладах/КоличествоНаСкладе", spill)
        if not wid:
            raise MissingElement(
                "КоличествоНаСкладе has no ИдСклада",
                line=item.sourceline,
                path=f"{path}/КоличествоНаСкладах",
            )
        stock.append(Stock(wid, qty if qty is not None else Decimal(0)))


def offer(el: Element, path: str) -> Offer:
    oid = ""
    name = version = barcode = article = None
    unit: Unit | None = None
    chars: tuple[Characteristic, ...] = ()
    props: tuple[PropertyValue, ...] = ()
    reqs: tuple[Requisite, ...] = ()
    price_list: tuple[Price, ...] | None = None
    quantity: Decimal | None = None
    stock: list[Stock] | None = None
    images: list[str] = []
    extra: list[tuple[str, str]] = []
    status = None
    if el.keys():
        status = attr(el, "Статус")
        _extra_attrs(el, frozenset({"Статус"}), extra)
    deleted = False
    for child in el:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            oid = (child.text or "").strip()
        elif tag == "Цены":
            price_list = prices(child, path)
        elif tag == "Склад":
            if stock is None:
                stock = []
            stock.append(_stock_attr(child, path))
        elif tag == "Количество":
            quantity = dec(child, path)
        elif tag == "Наименование":
            name = (child.text or "").strip() or None
        elif tag == "Артикул":
            article = (child.text or "").strip() or None
        elif tag == "БазоваяЕдиница":
            unit = base_unit(child, path, extra)
        elif tag == "ХарактеристикиТовара":
            chars = characteristics(child, extra)
        elif tag in ("Штрихкод", "ШтрихКод"):
            barcode = (child.text or "").strip() or None
        elif tag == "Остатки":
            if stock is None:
                stock = []
            total = _rests(child, path, stock, extra)
            if total is not None:
                quantity = total
        elif tag == "КоличествоНаСкладах":
            if stock is None:
                stock = []
            _stock_list(child, path, stock, extra)
        elif tag == "ЗначенияСвойств":
            props = property_values(child, extra)
        elif tag == "ЗначенияРеквизитов":
            reqs = requisites(child, extra)
        elif tag == "НомерВерсии":
            version = (child.text or "").strip() or None
        elif tag == "ПометкаУдаления":
            deleted = deleted or bool(flag(child, path))
        elif tag == "Статус":
            status = (child.text or "").strip() or None
        elif tag == "Картинка":
            if image := (child.text or "").strip():
                images.append(image)
        elif isinstance(child.tag, str):
            flatten(child, tag, extra)
    oid = _require(oid, el, path, "Предложение")
    if status is not None:
        extra.insert(0, ("Статус", status))
    return Offer(
        oid,
        name=name,
        version=version,
        deleted=deleted or status == "Удален",
        barcode=barcode,
        article=article,
        base_unit=unit,
        characteristics=chars,
        property_values=props,
        prices=price_list,
        quantity=quantity,
        stock=tuple(stock) if stock is not None else None,
        requisites=reqs,
        images=tuple(images),
        extra=tuple(extra),
    )


# --- documents ------------------------------------------------------------------------------


_LINE_DECIMALS = {
    "ЦенаЗаЕдиницу": "price",
    "Цена": "price",
    "Количество": "quantity",
    "Сумма": "amount",
    "Коэффициент": "ratio",
}


def order_line(el: Element, path: str) -> OrderLine:
    lid = ""
    values: dict[str, Any] = {}
    extra: list[tuple[str, str]] = []
    for child in el:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            lid = (child.text or "").strip()
        elif tag in _LINE_DECIMALS:
            values[_LINE_DECIMALS[tag]] = dec(child, path)
        elif tag == "Наименование":
            values["name"] = (child.text or "").strip() or None
        elif tag == "ИдКаталога":
            values["catalog_id"] = (child.text or "").strip() or None
        elif tag == "Артикул":
            values["article"] = (child.text or "").strip() or None
        elif tag == "БазоваяЕдиница":
            values["unit"] = base_unit(child, path, extra)
        elif tag == "Единица":
            values["unit"] = unit_element(child, f"{path}/Единица", extra)
        elif tag == "Скидки":
            values["discounts"] = discounts(child, f"{path}/Скидки", extra)
        elif tag == "СтавкиНалогов":
            values["tax_rates"] = tax_rates(child, extra)
        elif tag == "Налоги":
            values["taxes"] = tax_sums(child, f"{path}/Налоги", extra)
        elif tag == "ХарактеристикиТовара":
            values["characteristics"] = characteristics(child, extra)
        elif tag == "ЗначенияРеквизитов":
            values["requisites"] = requisites(child, extra)
        elif isinstance(child.tag, str):
            flatten(child, tag, extra)
    return OrderLine(_require(lid, el, path, "Товар документа"), **values, extra=tuple(extra))


def document(el: Element, path: str, container: int | None) -> Document:
    did = ""
    values: dict[str, Any] = {}
    extra: list[tuple[str, str]] = []
    parties: list[Counterparty] = []
    lines: list[OrderLine] = []
    stores: list[Warehouse] = []
    for child in el:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            did = (child.text or "").strip()
        elif tag == "Номер":
            values["number"] = (child.text or "").strip() or None
        elif tag == "Дата":
            values["date"] = _read(_values.parse_date, child.text, child, f"{path}/Дата")
        elif tag == "Время":
            values["time"] = _read(_values.parse_time, child.text, child, f"{path}/Время")
        elif tag == "ХозОперация":
            values["operation"] = (child.text or "").strip() or None
        elif tag == "Роль":
            values["role"] = (child.text or "").strip() or None
        elif tag == "Валюта":
            values["currency"] = (child.text or "").strip() or None
        elif tag == "Курс":
            values["rate"] = dec(child, path)
        elif tag == "Сумма":
            values["amount"] = dec(child, path)
        elif tag == "НомерВерсии":
            values["version"] = (child.text or "").strip() or None
        elif tag == "Номер1С":
            values["number_1c"] = (child.text or "").strip() or None
        elif tag == "Дата1С":
            values["date_1c"] = _read(_values.parse_date, child.text, child, f"{path}/Дата1С")
        elif tag == "ПометкаУдаления":
            values["deleted"] = flag(child, path)
        elif tag == "Основание":
            values["basis"] = (child.text or "").strip() or None
        elif tag == "Комментарий":
            values["comment"] = (child.text or "").strip() or None
        elif tag == "Контрагенты":
            index = 0
            for item in child:
                if LOCAL[item.tag] == "Контрагент":
                    index += 1
                    parties.append(counterparty(item, f"{path}/Контрагенты/Контрагент[{index}]"))
                else:
                    _spill(item, tag, extra)
        elif tag == "Налоги":
            values["taxes"] = tax_sums(child, f"{path}/Налоги", extra)
        elif tag == "Скидки":
            values["discounts"] = discounts(child, f"{path}/Скидки", extra)
        elif tag == "Склады":
            index = 0
            for item in child:
                if LOCAL[item.tag] == "Склад":
                    index += 1
                    stores.append(warehouse(item, f"{path}/Склады/Склад[{index}]"))
                else:
                    _spill(item, tag, extra)
        elif tag == "Товары":
            index = 0
            for item in child:
                if LOCAL[item.tag] == "Товар":
                    index += 1
                    lines.append(order_line(item, f"{path}/Товары/Товар[{index}]"))
                else:
                    _spill(item, tag, extra)
        elif tag == "ЗначенияРеквизитов":
            values["requisites"] = requisites(child, extra)
        elif isinstance(child.tag, str):
            flatten(child, tag, extra)
    return Document(
        _require(did, el, path, "Документ"),
        **values,
        counterparties=tuple(parties),
        warehouses=tuple(stores),
        lines=tuple(lines),
        container=container,
        extra=tuple(extra),
    )
