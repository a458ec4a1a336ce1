"""The JSON codec of the model: lossless round trips (Hypothesis), stable hashes, clear errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerceml.model import (
    Characteristic,
    Counterparty,
    Document,
    Offer,
    OrderLine,
    Price,
    Product,
    PropertyValue,
    Requisite,
    Stock,
    Unit,
)
from exchange_server.store import codec
from exchange_server.store.codec import CodecError, content_hash, decode, encode

text = st.text(max_size=12)
opt_text = st.none() | text
decimals = st.none() | st.decimals(allow_nan=False, allow_infinity=False, places=4)
extra = st.lists(st.tuples(text, text), max_size=3).map(tuple)

products = st.builds(
    Product,
    id=text,
    name=text,
    version=opt_text,
    deleted=st.booleans(),
    article=opt_text,
    base_unit=st.none() | st.builds(Unit, code=opt_text, name=opt_text),
    group_ids=st.lists(text, max_size=3).map(tuple),
    images=st.lists(text, max_size=3).map(tuple),
    property_values=st.lists(
        st.builds(PropertyValue, property_id=text, values=st.lists(text, max_size=2).map(tuple)), max_size=3
    ).map(tuple),
    requisites=st.lists(st.builds(Requisite, name=text, values=st.lists(text, max_size=2).map(tuple))).map(
        tuple
    ),
    weight=decimals,
    extra=extra,
)
offers = st.builds(
    Offer,
    id=text,
    name=opt_text,
    characteristics=st.lists(st.builds(Characteristic, name=text, value=text, id=opt_text), max_size=2).map(
        tuple
    ),
    prices=st.none()
    | st.lists(
        st.builds(Price, price_type_id=text, value=st.decimals(allow_nan=False, allow_infinity=False)),
        max_size=2,
    ).map(tuple),
    quantity=decimals,
    stock=st.none()
    | st.lists(
        st.builds(Stock, warehouse_id=text, quantity=st.decimals(allow_nan=False, allow_infinity=False))
    ).map(tuple),
)
documents = st.builds(
    Document,
    id=text,
    number=opt_text,
    date=st.none() | st.dates(),
    time=st.none() | st.times(),
    amount=decimals,
    deleted=st.none() | st.booleans(),
    counterparties=st.lists(st.builds(Counterparty, id=opt_text, name=opt_text), max_size=2).map(tuple),
    lines=st.lists(st.builds(OrderLine, id=text, price=decimals, quantity=decimals), max_size=3).map(tuple),
    container=st.none() | st.integers(min_value=0, max_value=5),
    extra=extra,
)


@given(products)
def test_product_round_trip(product: Product) -> None:
    assert decode(Product, encode(product)) == product


@given(offers)
def test_offer_round_trip(offer: Offer) -> None:
    assert decode(Offer, encode(offer)) == offer


@given(documents)
def test_document_round_trip(document: Document) -> None:
    assert decode(Document, encode(document)) == document


def test_decimals_are_strings_and_exact() -> None:
    data = encode(Price(price_type_id="t", value=Decimal("1719.10")))
    assert data == {"price_type_id": "t", "value": "1719.10"}
    assert decode(Price, data).value == Decimal("1719.10")


def test_hash_ignores_key_order_but_not_values() -> None:
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})


@pytest.mark.parametrize(
    "data",
    [
        {"id": 5, "name": "x"},
        {"id": "1", "name": "x", "weight": "abc"},
        {"id": "1", "name": "x", "images": "a"},
    ],
)
def test_bad_stored_json_raises_codec_error(data: dict[str, object]) -> None:
    with pytest.raises(CodecError):
        decode(Product, data)


def test_dates_and_times() -> None:
    doc = Document(id="1", date=dt.date(2024, 6, 10), time=dt.time(12, 30))
    assert encode(doc) == {"id": "1", "date": "2024-06-10", "time": "12:30:00"}


_JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(),
    st.text(alphabet=st.characters(max_codepoint=0x3F)),  # control characters, quotes, backslashes
)
_JSON_PAYLOADS = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_JSON_PAYLOADS)
def test_the_fast_encoder_writes_what_the_reference_encoder_writes(payload: object) -> None:
    """Stored JSON and content hashes must not change with the encoder (``codec._DUMPS`` is the reference)."""
    text, digest = codec.dumps_and_hash(payload)
    assert text == codec._DUMPS(payload) == codec.dumps(payload)
    assert digest == codec.text_hash(codec._DUMPS(payload)) == content_hash(payload)


def test_what_the_fast_encoder_refuses_goes_through_the_reference_one() -> None:
    payload = {"big": 2**70, "text": "ёж"}
    assert codec.dumps(payload) == '{"big":1180591620717411303424,"text":"ёж"}'
    assert codec.dumps_and_hash(payload) == (codec.dumps(payload), codec.text_hash(codec.dumps(payload)))
