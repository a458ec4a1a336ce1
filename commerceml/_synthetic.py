"""Deterministic synthetic catalog data for the generator (no XML, no I/O).

Everything is drawn from one ``random.Random`` seeded by the caller, in a fixed order, so the same
seed gives the same catalog whatever form (classic or 3.1 split) it is written in. The vocabulary is
Cyrillic and shaped after real 1C exports: GUID identifiers, ``product#characteristic`` offer ids,
EAN-13 barcodes with a valid check digit, articles such as ``КР-01234``, OKEI unit codes.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "SynthGroup",
    "SynthOffer",
    "SynthPriceType",
    "SynthProduct",
    "SynthProperty",
    "SynthUnit",
    "SynthWarehouse",
    "World",
    "characteristic_products",
    "make_product",
    "make_world",
]


@dataclass(frozen=True, slots=True)
class SynthUnit:
    code: str
    short: str
    full: str
    international: str


@dataclass(frozen=True, slots=True)
class SynthGroup:
    id: str
    name: str
    parent: int | None  # index into World.groups; parents come first


@dataclass(frozen=True, slots=True)
class SynthProperty:
    id: str
    name: str
    value_type: str  # Справочник | Строка | Число
    variants: tuple[tuple[str, str], ...]  # (ИдЗначения, Значение) for Справочник


@dataclass(frozen=True, slots=True)
class SynthPriceType:
    id: str
    name: str
    currency: str
    factor: Decimal  # price of this type = base price * factor


@dataclass(frozen=True, slots=True)
class SynthWarehouse:
    id: str
    name: str
    address: str
    city: str


@dataclass(frozen=True, slots=True)
class SynthOffer:
    id: str
    name: str
    version: str
    characteristics: tuple[tuple[str, str], ...]  # (Наименование, Значение)
    prices: tuple[Decimal, ...]  # one per price type, in World.price_types order
    stock: tuple[int, ...]  # one per warehouse, in World.warehouses order


@dataclass(frozen=True, slots=True)
class SynthProduct:
    id: str
    version: str
    name: str
    article: str
    barcode: str
    code: str
    unit: SynthUnit
    group_id: str
    kind: str
    description: str
    images: tuple[str, ...]
    property_values: tuple[tuple[str, str], ...]  # (property Ид, value or variant Ид or '')
    vat: str
    weight: Decimal
    offers: tuple[SynthOffer, ...]


@dataclass(frozen=True, slots=True)
class World:
    """The classifier side of a catalog: everything products refer to."""

    catalog_id: str
    owner_id: str
    owner_name: str
    owner_official_name: str
    owner_inn: str
    owner_kpp: str
    groups: tuple[SynthGroup, ...]
    properties: tuple[SynthProperty, ...]
    price_types: tuple[SynthPriceType, ...]
    warehouses: tuple[SynthWarehouse, ...]
    units: tuple[SynthUnit, ...]
    sentences: tuple[str, ...]


UNITS = (
    SynthUnit("796", "шт", "Штука", "PCE"),
    SynthUnit("715", "пар", "Пара (2 шт.)", "NPR"),
    SynthUnit("166", "кг", "Килограмм", "KGM"),
    SynthUnit("112", "л", "Литр", "LTR"),
)

CATEGORIES = (
    # (group name, kind, unit index, nouns, vat)
    ("Обувь", "Обувь", 1, ("Кроссовки", "Ботинки", "Туфли", "Сапоги", "Кеды", "Сандалии"), "20"),
    ("Одежда", "Одежда", 0, ("Куртка", "Брюки", "Платье", "Футболка", "Свитер", "Пижама"), "20"),
    ("Бытовая техника", "Товар", 0, ("Чайник", "Пылесос", "Утюг", "Миксер", "Блендер", "Тостер"), "20"),
    ("Продукты", "Продукты", 2, ("Сыр", "Печенье", "Кофе", "Чай", "Мёд", "Крупа гречневая"), "10"),
    ("Напитки", "Продукты", 3, ("Сок", "Морс", "Квас", "Вода минеральная", "Компот"), "10"),
    ("Книги", "Товар", 0, ("Книга", "Атлас", "Словарь", "Энциклопедия", "Раскраска"), "Без налога"),
    ("Инструменты", "Товар", 0, ("Дрель", "Шуруповёрт", "Молоток", "Набор ключей", "Рулетка"), "20"),
    ("Посуда", "Товар", 0, ("Кастрюля", "Сковорода", "Чашка", "Тарелка", "Чайник заварочный"), "20"),
)
ADJECTIVES = (
    "мужские",
    "женские",
    "детские",
    "классический",
    "зимний",
    "летний",
    "складной",
    "керамический",
    "натуральный",
    "компактный",
    "профессиональный",
    "домашний",
    "праздничный",
)
BRANDS = (
    "Раннер",
    "Северянка",
    "Уют",
    "Зодчий",
    "Волжанка",
    "Алтай",
    "Байкал",
    "Сибирь",
    "Тайга",
    "Карелия",
    "Ладога",
    "Кубань",
    "Runner",
    "Nordic",
    "Primo",
)
COLOURS = ("чёрный", "белый", "красный", "синий", "зелёный", "серый", "бежевый", "коричневый", "графит")
SIZES = ("36", "37", "38", "39", "40", "41", "42", "43", "44", "44-46", "48-50", "S", "M", "L", "XL")
ARTICLE_PREFIXES = ("КР", "БТ", "ОД", "БТХ", "ПР", "КН", "ИН", "ПС", "АБ", "Б-", "02.03.")
CITIES = ("Москва", "Санкт-Петербург", "Казань", "Екатеринбург", "Новосибирск", "Ижевск", "Самара")
STREETS = ("Ленинский проспект", "ул. Мира", "ул. Садовая", "Дмитровское шоссе", "ул. Заводская")
PROPERTY_NAMES = (
    ("Бренд", "Справочник"),
    ("Цвет", "Справочник"),
    ("Материал", "Справочник"),
    ("Страна происхождения", "Справочник"),
    ("Сезон", "Справочник"),
    ("Гарантия, мес.", "Число"),
    ("Состав", "Строка"),
    ("Пол", "Справочник"),
    ("Размерная сетка", "Справочник"),
    ("Вес нетто, кг", "Число"),
    ("Комментарий", "Строка"),
    ("Коллекция", "Справочник"),
)
VARIANT_WORDS = (
    "Хлопок",
    "Шерсть",
    "Кожа натуральная",
    "Кожа искусственная",
    "Текстиль",
    "Сталь",
    "Пластик",
    "Стекло",
    "Россия",
    "Беларусь",
    "Китай",
    "Италия",
    "Турция",
    "Весна-лето",
    "Осень-зима",
    "Всесезонный",
    "Мужской",
    "Женский",
    "Унисекс",
    "Базовая",
    "Премиум",
    "Эконом",
)
WORDS = (
    "удобный",
    "прочный",
    "лёгкий",
    "надёжный",
    "качественный",
    "материал",
    "изделие",
    "подходит",
    "для",
    "повседневного",
    "использования",
    "дома",
    "и",
    "на",
    "работе",
    "отличный",
    "подарок",
    "сохраняет",
    "форму",
    "после",
    "стирки",
    "не",
    "требует",
    "особого",
    "ухода",
    "производство",
    "современное",
    "оборудование",
    "гарантия",
    "качества",
    "длительный",
    "срок",
    "службы",
    "эргономичный",
    "дизайн",
    "размер",
    "соответствует",
    "таблице",
    "упаковка",
    "картонная",
    "коробка",
    "инструкция",
    "на",
    "русском",
    "языке",
    "товар",
    "сертифицирован",
    "в",
    "РФ",
)


PROPERTY_FILL = 0.3
"""Share of products that list a given property (the others omit it)."""
DESCRIBED = 0.3
"""Share of products with a description (1C sends ``<Описание/>`` for most products)."""


def guid(rng: random.Random) -> str:
    """A 1C-looking reference GUID (lower-case, 8-4-4-4-12)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-1{h[13:16]}-{h[16:20]}-{h[20:]}"


def ean13(rng: random.Random) -> str:
    digits = "46" + "".join(str(rng.randrange(10)) for _ in range(10))
    odd = sum(int(d) for d in digits[0::2])
    even = sum(int(d) for d in digits[1::2])
    return digits + str((10 - (odd + 3 * even) % 10) % 10)


def version_number(rng: random.Random) -> str:
    """``НомерВерсии``: base64 of 8 bytes, as 1C writes it (``AAAAAQAAAAk=``)."""
    return base64.b64encode(rng.getrandbits(64).to_bytes(8, "big")).decode("ascii")


def characteristic_products(products: int, share: float) -> int:
    """How many of ``products`` get characteristics (rounded, exact)."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"characteristics share must be within 0..1, got {share}")
    return round(products * share)


def has_characteristics(index: int, products: int, with_characteristics: int) -> bool:
    """Spread ``with_characteristics`` products evenly over ``products`` (integer arithmetic)."""
    if products == 0:
        return False
    return (index + 1) * with_characteristics // products > index * with_characteristics // products


def make_world(
    rng: random.Random, *, groups: int, properties: int, price_types: int, warehouses: int
) -> World:
    """The classifier: groups (nested up to three levels), properties, price types, warehouses."""
    made_groups: list[SynthGroup] = []
    depth: list[int] = []
    category: list[int] = []
    for index in range(groups):
        if index < len(CATEGORIES):
            parent, kind = None, index
            name = CATEGORIES[index][0]
        else:
            parent = rng.choice([i for i, d in enumerate(depth) if d < 2])
            kind = category[parent]
            name = f"{rng.choice(CATEGORIES[kind][3])} {rng.choice(ADJECTIVES)} {index}"
        made_groups.append(SynthGroup(guid(rng), name, parent))
        depth.append(0 if parent is None else depth[parent] + 1)
        category.append(kind)
    made_properties: list[SynthProperty] = []
    for index in range(properties):
        name, value_type = PROPERTY_NAMES[index % len(PROPERTY_NAMES)]
        if index >= len(PROPERTY_NAMES):
            name = f"{name} ({index // len(PROPERTY_NAMES) + 1})"
        variants: tuple[tuple[str, str], ...] = ()
        if value_type == "Справочник":
            count = rng.randrange(3, 12)
            pool = VARIANT_WORDS + BRANDS + COLOURS
            variants = tuple((guid(rng), value) for value in rng.sample(pool, count))
        made_properties.append(SynthProperty(guid(rng), name, value_type, variants))
    price_names = ("Розничная", "Оптовая", "Мелкооптовая", "Закупочная", "Интернет")
    made_price_types = tuple(
        SynthPriceType(
            guid(rng),
            price_names[i] if i < len(price_names) else f"Цена {i + 1}",
            "руб",
            Decimal(100 - 7 * (i % 10)) / 100,
        )
        for i in range(price_types)
    )
    made_warehouses = []
    for i in range(warehouses):
        city = CITIES[i % len(CITIES)]
        made_warehouses.append(
            SynthWarehouse(
                guid(rng),
                "Основной склад" if i == 0 else f"Склад {city} №{i}",
                f"{rng.randrange(100000, 200000)}, Россия, {city}, {rng.choice(STREETS)}, "
                f"д. {rng.randrange(1, 120)}",
                city,
            )
        )
    sentences = tuple(
        " ".join(rng.choice(WORDS) for _ in range(rng.randrange(6, 16))).capitalize() + "."
        for _ in range(512)
    )
    return World(
        catalog_id=guid(rng),
        owner_id=guid(rng),
        owner_name='ООО "Торговый дом Пример"',
        owner_official_name='Общество с ограниченной ответственностью "Торговый дом Пример"',
        owner_inn=str(rng.randrange(10**9, 10**10)),
        owner_kpp=str(rng.randrange(10**8, 10**9)),
        groups=tuple(made_groups),
        properties=tuple(made_properties),
        price_types=made_price_types,
        warehouses=tuple(made_warehouses),
        units=UNITS,
        sentences=sentences,
    )


def make_product(
    rng: random.Random,
    world: World,
    index: int,
    *,
    characteristics: int,
    description_sentences: int,
) -> SynthProduct:
    """Product ``index`` with its offers (one, or ``characteristics`` variants)."""
    category = CATEGORIES[index % len(CATEGORIES)]
    _, kind, unit_index, nouns, vat = category
    noun = rng.choice(nouns)
    brand = rng.choice(BRANDS)
    name = f"{noun} {rng.choice(ADJECTIVES)} {brand} {rng.randrange(1, 999):03d}"
    product_id = guid(rng)
    article = "" if rng.random() < 0.05 else f"{rng.choice(ARTICLE_PREFIXES)}{rng.randrange(10**5):05d}"
    barcode = "" if rng.random() < 0.15 else ean13(rng)
    group = world.groups[rng.randrange(len(world.groups))].id if world.groups else ""
    described = description_sentences > 0 and rng.random() < DESCRIBED
    sentences = max(1, description_sentences + rng.randrange(-1, 2)) if described else 0
    description = " ".join(rng.choices(world.sentences, k=sentences))[:3000]
    images = tuple(
        f"import_files/{product_id[:2]}/{product_id}_{guid(rng)}.jpg" for _ in range(rng.randrange(0, 3))
    )
    values = []
    for prop in world.properties:
        roll = rng.random()
        if roll >= PROPERTY_FILL:
            continue  # this product does not use the property: 1C omits it
        if roll < PROPERTY_FILL * 0.1:
            value = ""  # listed but empty: <Значение/>
        elif prop.value_type == "Справочник":
            value = rng.choice(prop.variants)[0]
        elif prop.value_type == "Число":
            value = str(rng.randrange(1, 60))
        else:
            value = f"{rng.choice(VARIANT_WORDS)} {rng.randrange(10, 100)}%"
        values.append((prop.id, value))
    base = Decimal(rng.randrange(50, 50000)) + (Decimal(rng.choice((0, 0, 0, 50, 90, 99))) / 100)
    offers = []
    variants = characteristics if characteristics > 0 else 1
    for v in range(variants):
        chars: tuple[tuple[str, str], ...] = ()
        if characteristics > 0:
            size, colour = rng.choice(SIZES), rng.choice(COLOURS)
            offer_id = f"{product_id}#{guid(rng)}"
            offer_name = f"{name} ({size}, {colour})"
            chars = (("Размер", size), ("Цвет", colour))
            price = base + Decimal(10 * v)
        else:
            offer_id, offer_name, price = product_id, name, base
        prices = tuple((price * pt.factor).quantize(Decimal("0.01")) for pt in world.price_types)
        stock = tuple(rng.randrange(0, 40) if rng.random() < 0.7 else 0 for _ in world.warehouses)
        offers.append(SynthOffer(offer_id, offer_name, version_number(rng), chars, prices, stock))
    return SynthProduct(
        id=product_id,
        version=version_number(rng),
        name=name,
        article=article,
        barcode=barcode,
        code=f"{index + 1:011d}",
        unit=world.units[unit_index],
        group_id=group,
        kind=kind,
        description=description,
        images=images,
        property_values=tuple(values),
        vat=vat,
        weight=Decimal(rng.randrange(50, 20000)) / 1000,
        offers=tuple(offers),
    )
