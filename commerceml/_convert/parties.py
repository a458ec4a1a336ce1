"""Converters of counterparties: ``Контрагент``/``Владелец`` with addresses, contacts, bank accounts."""

from __future__ import annotations

from typing import Any

from commerceml._convert.base import LOCAL, Element, Spill, flag, flatten, keep_extra
from commerceml.model import (
    Address,
    AddressField,
    BankAccount,
    Contact,
    Counterparty,
    Representative,
)


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
                    keep_extra(part, f"{prefix}/АдресноеПоле", spill)
            fields.append(AddressField(ftype, value))
        else:
            keep_extra(child, prefix, spill)
    return Address(presentation, tuple(fields))


def contacts(el: Element, spill: Spill = None, prefix: str = "Контакты") -> tuple[Contact, ...]:
    result: list[Contact] = []
    for item in el:
        if LOCAL[item.tag] != "Контакт":
            keep_extra(item, prefix, spill)
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
                keep_extra(child, f"{prefix}/Контакт", spill)
        result.append(Contact(ctype, value, comment))
    return tuple(result)


def bank_accounts(
    el: Element, spill: Spill = None, prefix: str = "РасчетныеСчета"
) -> tuple[BankAccount, ...]:
    result: list[BankAccount] = []
    index = 0
    for item in el:
        if LOCAL[item.tag] != "РасчетныйСчет":
            keep_extra(item, prefix, spill)
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
                        keep_extra(part, f"{here}/Банк", spill)
            else:
                # БанкКорреспондент, Комментарий ...: kept, numbered per account.
                keep_extra(child, here, spill)
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
                    reps.append(representative(rep, extra, f"{tag}/Представитель[{len(reps) + 1}]"))
                else:
                    keep_extra(rep, tag, extra)
        elif isinstance(child.tag, str):
            flatten(child, tag, extra)
    return Counterparty(**values, representatives=tuple(reps), extra=tuple(extra))


def representative(el: Element, spill: Spill = None, prefix: str = "Представитель") -> Representative:
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
            keep_extra(child, prefix, spill)
    return Representative(relation, rid, name or full_name)
