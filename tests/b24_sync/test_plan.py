"""The pure planner: targets and hashes from a snapshot, the diff against what was pushed, the mapping."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from b24_bridge.sync.commands import PortalDirectory, Unresolved, element_fields
from b24_bridge.sync.mapping import MappingConfig, normalize_rate
from b24_bridge.sync.plan import diff
from b24_bridge.sync.snapshot import CatalogSnapshot, GroupRow, OfferRow, PriceRow, PriceTypeRow, ProductRow
from b24_bridge.sync.targets import build_targets
from tests.b24_sync.strategies import snapshots

MAPPING = MappingConfig()


def pushed_all(
    snapshot: CatalogSnapshot, mapping: MappingConfig = MAPPING
) -> dict[tuple[str, str], str | None]:
    return {t.ident: t.hash for t in build_targets(snapshot, mapping)}


@given(snapshots())
@settings(max_examples=150, deadline=None)
def test_unchanged_store_plans_nothing(snapshot: CatalogSnapshot) -> None:
    plan = diff(build_targets(snapshot, MAPPING), pushed_all(snapshot))
    assert plan.empty
    assert plan.describe()[0].startswith("nothing to push")


@given(snapshots())
@settings(max_examples=100, deadline=None)
def test_nothing_pushed_plans_everything_in_phase_order(snapshot: CatalogSnapshot) -> None:
    targets = build_targets(snapshot, MAPPING)
    plan = diff(targets, {})
    assert len(plan.jobs) == len(targets) == len({t.ident for t in targets})
    assert [t.phase for t in plan.jobs] == sorted(t.phase for t in plan.jobs)
    assert plan.new == {t.ident for t in targets}
    sections = {t.key: t for t in targets if t.kind == "section"}
    for section in sections.values():
        parent = section.payload["parent"]
        if parent is not None:
            assert sections[parent].phase < section.phase


@given(snapshots(), st.data())
@settings(max_examples=150, deadline=None)
def test_one_changed_price_plans_one_prices_job(snapshot: CatalogSnapshot, data: st.DataObject) -> None:
    priced = [o for o in snapshot.offers if o.prices and (o.characteristic_id or o.id == o.product_id)]
    if not any(p.product_id in {pr.id for pr in snapshot.products} for p in priced):
        return
    offer = data.draw(
        st.sampled_from([o for o in priced if o.product_id in {p.id for p in snapshot.products}])
    )
    assert offer.prices is not None
    old = offer.prices[0]
    new_price = dataclasses.replace(old, value=old.value + Decimal("0.01"))
    changed = dataclasses.replace(offer, prices=(new_price, *offer.prices[1:]))
    after = dataclasses.replace(snapshot, offers=tuple(changed if o is offer else o for o in snapshot.offers))
    plan = diff(build_targets(after, MAPPING), pushed_all(snapshot))
    assert [(t.kind, t.key) for t in plan.jobs] == [("prices", offer.id)]
    assert plan.counts() == {"prices": {"create": 0, "update": 1}}


def test_equal_decimals_hash_alike() -> None:
    def snap(value: str) -> CatalogSnapshot:
        return CatalogSnapshot(
            price_types=(PriceTypeRow("pt", "Retail"),),
            products=(ProductRow("p", "Bolt"),),
            offers=(OfferRow("p", "p", prices=(PriceRow("pt", Decimal(value)),)),),
        )

    assert diff(build_targets(snap("12.50"), MAPPING), pushed_all(snap("12.5"))).empty
    assert not diff(build_targets(snap("12.51"), MAPPING), pushed_all(snap("12.5"))).empty


def test_deactivated_product_becomes_an_inactive_update() -> None:
    before = CatalogSnapshot(products=(ProductRow("p", "Bolt"),))
    after = CatalogSnapshot(products=(ProductRow("p", "Bolt", active=False),))
    plan = diff(build_targets(after, MAPPING), pushed_all(before))
    assert [(t.kind, t.key, t.payload["active"]) for t in plan.jobs] == [("product", "p", False)]


def test_characteristics_make_a_parent_and_variations() -> None:
    snap = CatalogSnapshot(
        price_types=(PriceTypeRow("pt", "Retail"),),
        products=(ProductRow("p", "Shirt", unit_code="796"),),
        offers=(
            OfferRow("p#m", "p", "m", "Shirt M", prices=(PriceRow("pt", Decimal(5)),)),
            OfferRow("p#l", "p", "l", None, prices=(PriceRow("pt", Decimal(6)),)),
        ),
    )
    kinds = [(t.kind, t.key) for t in build_targets(snap, MAPPING)]
    assert kinds == [
        ("pricetype", "pt"),
        ("product", "p"),
        ("offer", "p#l"),
        ("offer", "p#m"),
        ("prices", "p#l"),
        ("prices", "p#m"),
    ]
    offer = next(t for t in build_targets(snap, MAPPING) if t.key == "p#l" and t.kind == "offer")
    assert offer.payload["name"] == "Shirt" and offer.payload["parent"] == "p"


def test_group_cycle_is_cut_not_looped() -> None:
    snap = CatalogSnapshot(groups=(GroupRow("a", "A", "b"), GroupRow("b", "B", "a"), GroupRow("c", "C", "c")))
    targets = {t.key: t for t in build_targets(snap, MAPPING)}
    parents = {k: t.payload["parent"] for k, t in targets.items()}
    assert parents["c"] is None
    assert [parents["a"], parents["b"]].count(None) == 1


def test_price_type_selection_and_base() -> None:
    snap = CatalogSnapshot(
        price_types=(
            PriceTypeRow("pt1", "Retail"),
            PriceTypeRow("pt2", "Wholesale"),
            PriceTypeRow("pt3", "Old"),
        ),
        products=(ProductRow("p", "Bolt"),),
        offers=(OfferRow("p", "p", prices=tuple(PriceRow(f"pt{i}", Decimal(i)) for i in (1, 2, 3))),),
    )
    mapping = MappingConfig(price_types=["Wholesale", "pt1"], base_price_type="Wholesale")
    targets = build_targets(snap, mapping)
    types = {t.key: t.payload["base"] for t in targets if t.kind == "pricetype"}
    assert types == {"pt1": False, "pt2": True}
    prices = next(t for t in targets if t.kind == "prices")
    assert [row[0] for row in prices.payload["prices"]] == ["pt1", "pt2"]


def test_vat_measure_and_properties_reach_the_fields() -> None:
    mapping = MappingConfig(properties={"color": "property105"}, article_property="property7")
    snap = CatalogSnapshot(
        products=(
            ProductRow(
                "p",
                "Bolt",
                article="A-1",
                unit_code="796",
                properties=(("color", "red"), ("color", "blue"), ("other", "x")),
                tax_rates=(("НДС", "20%"),),
            ),
        )
    )
    (target,) = build_targets(snap, mapping)
    directory = PortalDirectory(23, 24, {20.0: 4, None: 1}, {796: 5})
    fields = element_fields("product", "p", target.payload, directory, {})
    assert fields["vatId"] == 4 and fields["vatIncluded"] == "Y" and fields["measure"] == 5
    assert fields["property105"] == ["red", "blue"] and fields["property7"] == "A-1"
    with pytest.raises(Unresolved, match="OKEI code 796"):
        element_fields("product", "p", target.payload, PortalDirectory(23, 24, {20.0: 4}, {}), {})
    with pytest.raises(Unresolved, match="VAT rate 20%"):
        element_fields("product", "p", target.payload, PortalDirectory(23, 24, {}, {796: 5}), {})


def test_unknown_vat_rate_is_a_plan_warning() -> None:
    snap = CatalogSnapshot(products=(ProductRow("p", "Bolt", tax_rates=(("НДС", "13"),)),))
    plan = diff(build_targets(snap, MAPPING), {})
    assert plan.warnings == ("VAT rate '13' of 1 goods is not in [b24.vat]; they are sent without VAT",)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"properties": {"x": "PROP_5"}}, "must look like property123"),
        ({"article_property": "property1", "barcode_property": "property1"}, "used for two things"),
        ({"price_types": ["a"], "base_price_type": "b"}, "not among price_types"),
        ({"price_types": []}, "at least one price type"),
        ({"vat": {"20": 120}}, "within 0..100"),
        ({"stock_mode": "docs"}, "stock_mode"),
        ({"colour": 1}, "Extra inputs are not permitted"),
    ],
)
def test_mapping_errors_are_clear(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MappingConfig.model_validate(config)


def test_rate_normalisation() -> None:
    assert normalize_rate(" 20% ") == normalize_rate("20.00") == "20"
    assert normalize_rate("Без налога") == "без налога"
    assert normalize_rate("10,5") == "10.5"
