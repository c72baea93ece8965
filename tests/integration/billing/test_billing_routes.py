"""billing_api in-process (API Gateway proxy events, as after the authorizer): shapes, roles,
tenant isolation, cursors, the 409 bodies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meterplex.platform.auth import Role
from tests.integration.billing.helpers import billing, subscribed
from tests.integration.catalog.handlers import api_key, call, user

pytestmark = pytest.mark.usefixtures("moto_endpoint")
FN = "billing_api"


def started_recently() -> tuple[str, dict]:
    """A tenant subscribed five days ago (real time: the routes read the business clock)."""
    tenant = subscribed(datetime.now(UTC) - timedelta(days=5))
    tenant.use("api_calls", 50_500, datetime.now(UTC) - timedelta(days=1))
    return tenant.id, {"principal": user({tenant.id: Role.OWNER}), "tenant": tenant.id}


def test_generate_then_read_it_back_with_its_line_items() -> None:
    tenant, owner = started_recently()
    created = call(FN, "POST", "/api/v1/invoices/generate", **owner)
    assert created.status == 201, created.body
    invoice = created.body
    assert invoice["status"] == "DRAFT" and invoice["invoiceNumber"] is None and invoice["tenantId"] == tenant
    assert [line["kind"] for line in invoice["lineItems"]] == ["BASE_FEE", "USAGE", "USAGE", "USAGE"]
    calls = next(line for line in invoice["lineItems"] if line["quantity"] == 500)
    assert (calls["amount"], calls["unitPriceMicroCents"], calls["usage"][0]["counted"]) == (50, 10, 50_500)
    got = call(FN, "GET", f"/api/v1/invoices/{invoice['id']}", **owner)
    assert got.status == 200 and got.body == invoice
    items = call(FN, "GET", f"/api/v1/invoices/{invoice['id']}/line-items", **owner)
    assert items.status == 200 and items.body == {"data": invoice["lineItems"]}


def test_a_second_generate_is_409_with_the_existing_invoice_id() -> None:
    _, owner = started_recently()
    first = call(FN, "POST", "/api/v1/invoices/generate", **owner).body
    again = call(FN, "POST", "/api/v1/invoices/generate", **owner)
    assert again.status == 409 and again.code == "INVOICE_ALREADY_EXISTS"
    assert again.body["invoiceId"] == first["id"] and again.body["error"] == "Conflict"


def test_transitions_answer_200_and_anything_else_409() -> None:
    _, owner = started_recently()
    invoice = call(FN, "POST", "/api/v1/invoices/generate", **owner).body["id"]
    wrong = call(FN, "POST", f"/api/v1/invoices/{invoice}/mark-paid", **owner)
    assert wrong.status == 409 and wrong.code == "INVALID_TRANSITION"
    finalized = call(FN, "POST", f"/api/v1/invoices/{invoice}/finalize", **owner)
    assert finalized.status == 200 and finalized.body["invoiceNumber"].startswith("INV-")
    assert call(FN, "POST", f"/api/v1/invoices/{invoice}/mark-paid", **owner).body["status"] == "PAID"
    assert call(FN, "POST", f"/api/v1/invoices/{invoice}/void", **owner).code == "INVALID_TRANSITION"


def test_another_tenants_invoice_is_404_and_roles_are_enforced() -> None:
    tenant, owner = started_recently()
    invoice = call(FN, "POST", "/api/v1/invoices/generate", **owner).body["id"]
    _, other_owner = started_recently()
    assert call(FN, "GET", f"/api/v1/invoices/{invoice}", **other_owner).code == "INVOICE_NOT_FOUND"
    assert call(FN, "POST", f"/api/v1/invoices/{invoice}/void", **other_owner).status == 404
    # BILLING reads but does not act; DEVELOPER does neither; an API key is refused
    finance = {"principal": user({tenant: Role.BILLING}), "tenant": tenant}
    developer = {"principal": user({tenant: Role.DEVELOPER}), "tenant": tenant}
    assert call(FN, "GET", f"/api/v1/invoices/{invoice}", **finance).status == 200
    assert call(FN, "GET", "/api/v1/billing/balance", **finance).status == 200
    assert call(FN, "POST", f"/api/v1/invoices/{invoice}/finalize", **finance).code == "INSUFFICIENT_ROLE"
    assert call(FN, "GET", "/api/v1/invoices", **developer).code == "INSUFFICIENT_ROLE"
    assert call(FN, "GET", "/api/v1/billing/ledger", **developer).status == 403
    assert call(FN, "GET", "/api/v1/invoices", principal=api_key(tenant)).status == 403


def test_invoices_page_by_cursor_and_by_page_number() -> None:
    tenant = subscribed(datetime.now(UTC) - timedelta(days=200))
    billing().settle(tenant.id, tenant.subscription.id, datetime.now(UTC))  # six monthly invoices
    owner = {"principal": user({tenant.id: Role.OWNER}), "tenant": tenant.id}
    seen, cursor = [], None
    while True:
        page = call(FN, "GET", "/api/v1/invoices?limit=4" + (f"&cursor={cursor}" if cursor else ""), **owner)
        assert page.status == 200, page.body
        seen += [i["periodStart"] for i in page.body["data"]]
        cursor = page.body["meta"]["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == 6 and seen == sorted(seen, reverse=True)  # newest first
    second = call(FN, "GET", "/api/v1/invoices?page=2&limit=4", **owner).body
    assert [i["periodStart"] for i in second["data"]] == seen[4:] and second["meta"]["page"] == 2
    bad = call(FN, "GET", "/api/v1/invoices?cursor=eyJwayI6IlRFTkFOVCMifQ", **owner)
    assert bad.status == 400 and bad.code == "INVALID_CURSOR"
