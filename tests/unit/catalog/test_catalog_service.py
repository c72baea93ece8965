"""Catalog rules (SPEC §3) against an in-memory repository."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from meterplex.catalog.models import CatalogStatus, FeatureType, Interval, LimitBehavior, ResetPeriod
from meterplex.catalog.service import CatalogService, build_terms
from meterplex.platform.clock import FixedClock
from meterplex.platform.errors import Conflict, InvalidInput, NotFound
from tests.unit.catalog.fakes import FakeCatalogRepository


@pytest.fixture
def catalog() -> CatalogService:
    return CatalogService(FakeCatalogRepository(), FixedClock(datetime(2026, 1, 31, tzinfo=UTC)))


def test_create_plan_duplicate_slug_conflicts(catalog: CatalogService) -> None:
    catalog.create_plan(name="Pro", slug="pro")
    with pytest.raises(Conflict) as error:
        catalog.create_plan(name="Pro 2", slug="pro")
    assert error.value.code == "PLAN_SLUG_TAKEN"


def test_list_plans_hides_archived_unless_asked(catalog: CatalogService) -> None:
    keep = catalog.create_plan(name="A", slug="a", display_order=2)
    gone = catalog.create_plan(name="B", slug="b", display_order=1)
    catalog.update_plan(gone.id, {"status": CatalogStatus.ARCHIVED})
    assert [p.id for p in catalog.list_plans()] == [keep.id]
    assert [p.id for p in catalog.list_plans(include_archived=True)] == [gone.id, keep.id]


def test_second_active_price_for_pair_conflicts_until_deactivated(catalog: CatalogService) -> None:
    plan = catalog.create_plan(name="Pro", slug="pro")
    first = catalog.add_price(plan.id, interval=Interval.MONTHLY, amount=9900, currency="USD")
    assert first.currency == "usd"
    with pytest.raises(Conflict) as error:
        catalog.add_price(plan.id, interval=Interval.MONTHLY, amount=9900, currency="usd")
    assert error.value.code == "ACTIVE_PRICE_EXISTS"
    catalog.add_price(plan.id, interval=Interval.ANNUALLY, amount=94800, currency="usd")  # other pair
    catalog.deactivate_price(plan.id, first.id)
    again = catalog.add_price(plan.id, interval=Interval.MONTHLY, amount=10900, currency="usd")
    assert [p.id for p in catalog.get_plan(plan.id).prices if p.interval is Interval.MONTHLY] == [again.id]


def test_price_on_archived_plan_is_rejected(catalog: CatalogService) -> None:
    plan = catalog.create_plan(name="Old", slug="old")
    catalog.update_plan(plan.id, {"status": CatalogStatus.ARCHIVED})
    with pytest.raises(InvalidInput) as error:
        catalog.add_price(plan.id, interval=Interval.MONTHLY, amount=1, currency="usd")
    assert error.value.code == "PLAN_ARCHIVED"


def test_deactivate_unknown_price_is_not_found(catalog: CatalogService) -> None:
    plan = catalog.create_plan(name="Pro", slug="pro")
    with pytest.raises(NotFound):
        catalog.deactivate_price(plan.id, "nope")


def test_feature_lookup_key_is_unique(catalog: CatalogService) -> None:
    catalog.create_feature(name="API", lookup_key="api_calls", type=FeatureType.QUOTA)
    with pytest.raises(Conflict):
        catalog.create_feature(name="API 2", lookup_key="api_calls", type=FeatureType.METERED)


def test_entitlement_one_per_plan_and_feature(catalog: CatalogService) -> None:
    plan = catalog.create_plan(name="Pro", slug="pro")
    sso = catalog.create_feature(name="SSO", lookup_key="sso", type=FeatureType.BOOLEAN)
    catalog.create_entitlement(plan.id, sso.id, {"value": True})
    with pytest.raises(Conflict) as error:
        catalog.create_entitlement(plan.id, sso.id, {"value": False})
    assert error.value.code == "ENTITLEMENT_EXISTS"


def test_entitlement_on_archived_plan_or_feature_is_400_missing_is_404(catalog: CatalogService) -> None:
    plan = catalog.create_plan(name="Pro", slug="pro")
    sso = catalog.create_feature(name="SSO", lookup_key="sso", type=FeatureType.BOOLEAN)
    with pytest.raises(NotFound):
        catalog.create_entitlement(plan.id, "missing", {"value": True})
    with pytest.raises(NotFound):
        catalog.create_entitlement("missing", sso.id, {"value": True})
    catalog.update_feature(sso.id, {"status": CatalogStatus.ARCHIVED})
    with pytest.raises(InvalidInput) as error:
        catalog.create_entitlement(plan.id, sso.id, {"value": True})
    assert error.value.code == "FEATURE_ARCHIVED"
    api = catalog.create_feature(name="API", lookup_key="api", type=FeatureType.BOOLEAN)
    catalog.update_plan(plan.id, {"status": CatalogStatus.ARCHIVED})
    with pytest.raises(InvalidInput) as error:
        catalog.create_entitlement(plan.id, api.id, {"value": True})
    assert error.value.code == "PLAN_ARCHIVED"


@pytest.mark.parametrize(
    ("feature_type", "fields", "wrong"),
    [
        (FeatureType.BOOLEAN, {"value": True, "limit": 5}, {"limit"}),
        (FeatureType.QUOTA, {"limit": 5, "value": True}, {"value"}),
        (FeatureType.QUOTA, {"limit": 5, "includedAmount": 1}, {"includedAmount"}),
        (
            FeatureType.METERED,
            {"overagePrice": 1, "limit": 5, "limitBehavior": "SOFT"},
            {"limit", "limitBehavior"},
        ),
    ],
)
def test_build_terms_wrong_field_for_type_is_400_naming_each_field(
    feature_type: FeatureType, fields: dict, wrong: set[str]
) -> None:
    with pytest.raises(InvalidInput) as error:
        build_terms(feature_type, fields)
    assert {d.field for d in error.value.details} == wrong


def test_build_terms_quota_defaults_hard_monthly() -> None:
    terms = build_terms(FeatureType.QUOTA, {"limit": 10})
    assert (terms.limit_behavior, terms.reset_period, terms.overage_price) == (
        LimitBehavior.HARD,
        ResetPeriod.MONTHLY,
        None,
    )


def test_build_terms_soft_quota_requires_overage_price() -> None:
    with pytest.raises(InvalidInput) as error:
        build_terms(FeatureType.QUOTA, {"limit": 10, "limitBehavior": "SOFT"})
    assert [d.field for d in error.value.details] == ["overagePrice"]


def test_build_terms_metered_defaults_included_zero_and_requires_overage_price() -> None:
    terms = build_terms(FeatureType.METERED, {"overagePrice": 200})
    assert (terms.included_amount, terms.reset_period) == (0, ResetPeriod.MONTHLY)
    with pytest.raises(InvalidInput):
        build_terms(FeatureType.METERED, {"includedAmount": 5})


def test_build_terms_boolean_requires_value() -> None:
    with pytest.raises(InvalidInput):
        build_terms(FeatureType.BOOLEAN, {})


def test_update_entitlement_merges_and_revalidates(catalog: CatalogService) -> None:
    plan = catalog.create_plan(name="Pro", slug="pro")
    api = catalog.create_feature(name="API", lookup_key="api_calls", type=FeatureType.QUOTA)
    ent = catalog.create_entitlement(plan.id, api.id, {"limit": 10})
    updated = catalog.update_entitlement(plan.id, ent.id, {"limitBehavior": "SOFT", "overagePrice": 10})
    assert (updated.terms.limit, updated.terms.limit_behavior, updated.terms.overage_price) == (
        10,
        LimitBehavior.SOFT,
        10,
    )
    back = catalog.update_entitlement(plan.id, ent.id, {"limitBehavior": "HARD"})
    assert back.terms.overage_price is None
    with pytest.raises(InvalidInput):
        catalog.update_entitlement(plan.id, ent.id, {"value": True})


def test_delete_entitlement_then_get_is_404(catalog: CatalogService) -> None:
    plan = catalog.create_plan(name="Pro", slug="pro")
    sso = catalog.create_feature(name="SSO", lookup_key="sso", type=FeatureType.BOOLEAN)
    ent = catalog.create_entitlement(plan.id, sso.id, {"value": True})
    catalog.delete_entitlement(plan.id, ent.id)
    with pytest.raises(NotFound):
        catalog.get_entitlement(plan.id, ent.id)
