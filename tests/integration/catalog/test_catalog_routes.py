"""catalog_api in-process against moto server: every route, its auth, validation and conflicts."""

from __future__ import annotations

from typing import Any

import pytest

from meterplex.platform.auth import Role
from tests.integration.catalog.handlers import admin, api_key, call, unique, unique_key, user

pytestmark = pytest.mark.usefixtures("moto_endpoint")
FN = "catalog_api"


def new_plan(**overrides: Any) -> dict[str, Any]:
    body = {"name": "Pro Plus", "slug": unique("plan"), "description": "d", "displayOrder": 4} | overrides
    reply = call(FN, "POST", "/api/v1/plans", body, principal=admin())
    assert reply.status == 201, reply.body
    return reply.body


def new_feature(type_: str = "QUOTA") -> dict[str, Any]:
    body = {"name": "F", "lookupKey": unique_key("feat"), "type": type_, "unit": "u"}
    reply = call(FN, "POST", "/api/v1/features", body, principal=admin())
    assert reply.status == 201, reply.body
    return reply.body


def add_price(plan_id: str, interval: str = "MONTHLY", amount: int = 14900) -> Any:
    body = {"interval": interval, "amount": amount, "currency": "usd"}
    return call(FN, "POST", f"/api/v1/plans/{plan_id}/prices", body, principal=admin())


# -- plans --------------------------------------------------------------------------------------
def test_create_plan_returns_201_with_the_plan_and_empty_prices() -> None:
    plan = new_plan(metadata={"trialDays": 21})
    assert (plan["status"], plan["isPublic"], plan["prices"], plan["metadata"]) == (
        "ACTIVE",
        True,
        [],
        {"trialDays": 21},
    )


def test_create_plan_without_auth_is_401_non_admin_is_403() -> None:
    body = {"name": "X", "slug": unique("plan")}
    assert call(FN, "POST", "/api/v1/plans", body).status == 401
    denied = call(FN, "POST", "/api/v1/plans", body, principal=user())
    assert (denied.status, denied.code) == (403, "PLATFORM_ADMIN_REQUIRED")
    assert call(FN, "POST", "/api/v1/plans", body, principal=api_key("t")).status == 403


def test_create_plan_invalid_fields_are_400_with_details() -> None:
    reply = call(FN, "POST", "/api/v1/plans", {"name": "", "slug": "Bad Slug", "extra": 1}, principal=admin())
    assert reply.status == 400
    assert {"name", "slug", "extra"} <= reply.fields()


def test_create_plan_duplicate_slug_is_409() -> None:
    plan = new_plan()
    reply = call(FN, "POST", "/api/v1/plans", {"name": "Y", "slug": plan["slug"]}, principal=admin())
    assert (reply.status, reply.code) == (409, "PLAN_SLUG_TAKEN")


def test_plan_reads_are_public_by_id_and_slug_and_list() -> None:
    plan = new_plan()
    assert call(FN, "GET", f"/api/v1/plans/{plan['id']}").body["id"] == plan["id"]
    assert call(FN, "GET", f"/api/v1/plans/slug/{plan['slug']}").body["id"] == plan["id"]
    listed = call(FN, "GET", "/api/v1/plans?limit=100")
    assert listed.status == 200 and set(listed.body["meta"]) == {"total", "page", "limit", "totalPages"}


def test_get_unknown_plan_is_404() -> None:
    assert call(FN, "GET", "/api/v1/plans/nope").code == "PLAN_NOT_FOUND"
    assert call(FN, "GET", "/api/v1/plans/slug/nope-nope").status == 404


def test_archived_plan_is_listed_only_with_include_archived() -> None:
    plan = new_plan()
    reply = call(FN, "PATCH", f"/api/v1/plans/{plan['id']}", {"status": "ARCHIVED"}, principal=admin())
    assert reply.body["status"] == "ARCHIVED"
    default = {p["id"] for p in call(FN, "GET", "/api/v1/plans?limit=100").body["data"]}
    archived = {p["id"] for p in call(FN, "GET", "/api/v1/plans?includeArchived=true&limit=100").body["data"]}
    assert plan["id"] not in default and plan["id"] in archived


def test_update_plan_changes_fields_slug_is_immutable() -> None:
    plan = new_plan()
    reply = call(
        FN,
        "PATCH",
        f"/api/v1/plans/{plan['id']}",
        {"description": "new", "displayOrder": 5},
        principal=admin(),
    )
    assert (reply.status, reply.body["description"], reply.body["displayOrder"]) == (200, "new", 5)
    immutable = call(FN, "PATCH", f"/api/v1/plans/{plan['id']}", {"slug": "other"}, principal=admin())
    assert immutable.status == 400 and "slug" in immutable.fields()
    assert call(FN, "PATCH", f"/api/v1/plans/{plan['id']}", {"name": "x"}, principal=user()).status == 403
    assert call(FN, "PATCH", "/api/v1/plans/nope", {"name": "x"}, principal=admin()).status == 404


# -- prices -------------------------------------------------------------------------------------
def test_add_price_201_and_plan_shows_it() -> None:
    plan = new_plan()
    price = add_price(plan["id"])
    assert price.status == 201 and price.body["isActive"] is True
    shown = call(FN, "GET", f"/api/v1/plans/slug/{plan['slug']}").body["prices"]
    assert [(p["interval"], p["id"]) for p in shown] == [("MONTHLY", price.body["id"])]


def test_second_active_price_for_pair_is_409_then_deactivate_and_recreate() -> None:
    plan = new_plan()
    first = add_price(plan["id"]).body
    second = add_price(plan["id"], amount=19900)
    assert (second.status, second.code) == (409, "ACTIVE_PRICE_EXISTS")
    assert add_price(plan["id"], interval="ANNUALLY").status == 201
    off = call(FN, "PATCH", f"/api/v1/plans/{plan['id']}/prices/{first['id']}", principal=admin())
    assert (off.status, off.body["isActive"]) == (200, False)
    assert add_price(plan["id"], amount=19900).status == 201
    prices = call(FN, "GET", f"/api/v1/plans/{plan['id']}/prices").body["data"]
    assert sorted((p["interval"], p["isActive"]) for p in prices) == [
        ("ANNUALLY", True),
        ("MONTHLY", False),
        ("MONTHLY", True),
    ]


def test_price_validation_auth_and_missing_plan() -> None:
    plan = new_plan()
    bad = call(
        FN,
        "POST",
        f"/api/v1/plans/{plan['id']}/prices",
        {"interval": "WEEKLY", "amount": -1, "currency": "dollars"},
        principal=admin(),
    )
    assert bad.status == 400 and {"interval", "amount", "currency"} <= bad.fields()
    body = {"interval": "MONTHLY", "amount": 1, "currency": "usd"}
    assert call(FN, "POST", f"/api/v1/plans/{plan['id']}/prices", body).status == 401
    assert call(FN, "POST", f"/api/v1/plans/{plan['id']}/prices", body, principal=user()).status == 403
    assert call(FN, "POST", "/api/v1/plans/nope/prices", body, principal=admin()).status == 404
    assert call(FN, "PATCH", f"/api/v1/plans/{plan['id']}/prices/nope", principal=admin()).status == 404
    assert call(FN, "GET", "/api/v1/plans/nope/prices").status == 404


def test_price_on_archived_plan_is_400() -> None:
    plan = new_plan()
    call(FN, "PATCH", f"/api/v1/plans/{plan['id']}", {"status": "ARCHIVED"}, principal=admin())
    assert add_price(plan["id"]).code == "PLAN_ARCHIVED"


# -- features -----------------------------------------------------------------------------------
def test_feature_crud_and_reads_need_authentication() -> None:
    feature = new_feature("METERED")
    member = user({"t": Role.DEVELOPER})
    assert (
        call(FN, "GET", f"/api/v1/features/{feature['id']}", principal=member).body["lookupKey"]
        == feature["lookupKey"]
    )
    assert (
        call(FN, "GET", f"/api/v1/features/key/{feature['lookupKey']}", principal=api_key("t")).status == 200
    )
    assert call(FN, "GET", "/api/v1/features?limit=100", principal=member).status == 200
    assert call(FN, "GET", f"/api/v1/features/{feature['id']}").status == 401
    assert call(FN, "GET", "/api/v1/features").status == 401
    assert call(FN, "GET", "/api/v1/features/nope", principal=member).code == "FEATURE_NOT_FOUND"
    assert call(FN, "GET", "/api/v1/features/key/nope", principal=member).status == 404
    updated = call(FN, "PATCH", f"/api/v1/features/{feature['id']}", {"description": "x"}, principal=admin())
    assert (updated.status, updated.body["description"]) == (200, "x")


def test_feature_lookup_key_pattern_type_and_immutability() -> None:
    bad = call(
        FN,
        "POST",
        "/api/v1/features",
        {"name": "F", "lookupKey": "Bad-Key", "type": "NUMBER"},
        principal=admin(),
    )
    assert bad.status == 400 and {"lookupKey", "type"} <= bad.fields()
    feature = new_feature()
    dup = call(
        FN,
        "POST",
        "/api/v1/features",
        {"name": "F", "lookupKey": feature["lookupKey"], "type": "BOOLEAN"},
        principal=admin(),
    )
    assert (dup.status, dup.code) == (409, "FEATURE_KEY_TAKEN")
    for field, value in (("lookupKey", "other_key"), ("type", "BOOLEAN")):
        reply = call(FN, "PATCH", f"/api/v1/features/{feature['id']}", {field: value}, principal=admin())
        assert reply.status == 400 and field in reply.fields()
    assert (
        call(
            FN,
            "POST",
            "/api/v1/features",
            {"name": "F", "lookupKey": unique_key("k"), "type": "QUOTA"},
            principal=user(),
        ).status
        == 403
    )


# -- entitlements -------------------------------------------------------------------------------
def test_entitlement_per_type_create_list_get_update_delete() -> None:
    plan = new_plan()
    flag, quota, metered = new_feature("BOOLEAN"), new_feature("QUOTA"), new_feature("METERED")
    url = f"/api/v1/plans/{plan['id']}/entitlements"
    b = call(FN, "POST", url, {"featureId": flag["id"], "value": True}, principal=admin())
    q = call(
        FN,
        "POST",
        url,
        {
            "featureId": quota["id"],
            "limit": 10000,
            "limitBehavior": "SOFT",
            "overagePrice": 10,
            "resetPeriod": "MONTHLY",
        },
        principal=admin(),
    )
    m = call(
        FN,
        "POST",
        url,
        {"featureId": metered["id"], "includedAmount": 50, "overagePrice": 200, "resetPeriod": "MONTHLY"},
        principal=admin(),
    )
    assert (b.status, q.status, m.status) == (201, 201, 201)
    assert q.body["featureLookupKey"] == quota["lookupKey"]
    listed = call(FN, "GET", url, principal=user())
    assert listed.body["meta"]["total"] == 3
    got = call(FN, "GET", f"{url}/{q.body['id']}", principal=user())
    assert got.body["limit"] == 10000
    patched = call(FN, "PATCH", f"{url}/{q.body['id']}", {"limit": 20000}, principal=admin())
    assert (patched.status, patched.body["limit"]) == (200, 20000)
    assert call(FN, "DELETE", f"{url}/{b.body['id']}", principal=admin()).status == 204
    assert call(FN, "GET", f"{url}/{b.body['id']}", principal=user()).code == "ENTITLEMENT_NOT_FOUND"
    assert call(FN, "POST", url, {"featureId": flag["id"], "value": False}, principal=admin()).status == 201


def test_entitlement_wrong_field_for_type_is_400() -> None:
    plan = new_plan()
    flag = new_feature("BOOLEAN")
    url = f"/api/v1/plans/{plan['id']}/entitlements"
    reply = call(
        FN,
        "POST",
        url,
        {"featureId": flag["id"], "limit": 10000, "limitBehavior": "SOFT", "overagePrice": 10},
        principal=admin(),
    )
    assert (reply.status, reply.code) == (400, "INVALID_ENTITLEMENT_FIELDS")
    assert reply.fields() == {"limit", "limitBehavior", "overagePrice"}
    created = call(FN, "POST", url, {"featureId": flag["id"], "value": True}, principal=admin()).body
    patched = call(FN, "PATCH", f"{url}/{created['id']}", {"limit": 20000}, principal=admin())
    assert patched.status == 400 and patched.fields() == {"limit"}


def test_entitlement_duplicate_pair_is_409() -> None:
    plan = new_plan()
    flag = new_feature("BOOLEAN")
    url = f"/api/v1/plans/{plan['id']}/entitlements"
    assert call(FN, "POST", url, {"featureId": flag["id"], "value": True}, principal=admin()).status == 201
    dup = call(FN, "POST", url, {"featureId": flag["id"], "value": True}, principal=admin())
    assert (dup.status, dup.code) == (409, "ENTITLEMENT_EXISTS")


def test_entitlement_archived_plan_or_feature_is_400_missing_is_404() -> None:
    plan, flag = new_plan(), new_feature("BOOLEAN")
    url = f"/api/v1/plans/{plan['id']}/entitlements"
    call(FN, "PATCH", f"/api/v1/features/{flag['id']}", {"status": "ARCHIVED"}, principal=admin())
    assert (
        call(FN, "POST", url, {"featureId": flag["id"], "value": True}, principal=admin()).code
        == "FEATURE_ARCHIVED"
    )
    assert (
        call(FN, "POST", url, {"featureId": "nope", "value": True}, principal=admin()).code
        == "FEATURE_NOT_FOUND"
    )
    other = new_feature("BOOLEAN")
    assert (
        call(
            FN,
            "POST",
            "/api/v1/plans/nope/entitlements",
            {"featureId": other["id"], "value": True},
            principal=admin(),
        ).status
        == 404
    )
    call(FN, "PATCH", f"/api/v1/plans/{plan['id']}", {"status": "ARCHIVED"}, principal=admin())
    assert (
        call(FN, "POST", url, {"featureId": other["id"], "value": True}, principal=admin()).code
        == "PLAN_ARCHIVED"
    )


def test_entitlement_writes_need_platform_admin_reads_need_auth() -> None:
    plan, flag = new_plan(), new_feature("BOOLEAN")
    url = f"/api/v1/plans/{plan['id']}/entitlements"
    assert call(FN, "POST", url, {"featureId": flag["id"], "value": True}, principal=user()).status == 403
    assert call(FN, "POST", url, {"featureId": flag["id"], "value": True}).status == 401
    assert call(FN, "GET", url).status == 401
    assert call(FN, "DELETE", f"{url}/x", principal=user()).status == 403
