"""The demo seed (SPEC §9) with three months of billing history: invoices paid, open and voided,
ledger entries and balances once the pipeline carries the billing events; idempotent and quick."""

from __future__ import annotations

import time

import pytest

from meterplex.billing.dependencies import ledger
from meterplex.demo.seed import seed_demo
from meterplex.entitlements.routes import entitlement_service
from tests.integration.billing.helpers import billing, write_ledger

pytestmark = pytest.mark.usefixtures("moto_endpoint")


def statuses(tenant_id: str) -> list[str]:
    invoices = sorted(billing().invoices(tenant_id, None, 100)[0], key=lambda i: i.period_start)
    return [i.status.value for i in invoices]


def test_the_demo_tenants_have_three_months_of_billing(nothing_else_due: None) -> None:
    started = time.perf_counter()
    tenants = seed_demo()
    took = time.perf_counter() - started
    print(f"\nseed_demo with three months of history: {took:.1f}s")  # a figure, not a pass/fail

    assert statuses(tenants["acme-corp"]) == ["PAID", "PAID", "FINALIZED"]
    assert statuses(tenants["globex"]) == ["PAID", "VOID", "FINALIZED"]
    assert statuses(tenants["stark"]) == ["PAID"]  # annual: one invoice, three months ago
    # acme's first invoice: the pro fee, 2,000 calls (200¢) and 2 GB (4¢) over the allowance
    first = sorted(billing().invoices(tenants["acme-corp"], None, 100)[0], key=lambda i: i.period_start)[0]
    assert [(li.quantity, li.amount) for li in first.line_items] == [(1, 9_900), (2_000, 200), (2, 4), (0, 0)]
    # the current period's usage is what the hot path shows
    assert entitlement_service().check(tenants["acme-corp"], "api_calls")["used"] == 12_345

    # WHEN the billing events reach the ledger writer: Σ entries = balance, the open invoices are owed
    for tenant_id in tenants.values():
        write_ledger(tenant_id)
    acme_open = sorted(billing().invoices(tenants["acme-corp"], None, 100)[0], key=lambda i: i.period_start)[
        -1
    ]
    [acme] = ledger().balances(tenants["acme-corp"])
    assert acme.balance == acme_open.total and acme.paid == acme.charged - acme_open.total
    [globex] = ledger().balances(tenants["globex"])
    globex_open = sorted(billing().invoices(tenants["globex"], None, 100)[0], key=lambda i: i.period_start)[
        -1
    ]
    assert globex.balance == globex_open.total  # the voided invoice's CHARGE was credited back
    [stark] = ledger().balances(tenants["stark"])
    assert stark.balance == 0 and stark.paid == stark.charged > 0

    # AND seeding again adds nothing
    assert seed_demo() == tenants
    assert statuses(tenants["acme-corp"]) == ["PAID", "PAID", "FINALIZED"]
    assert entitlement_service().check(tenants["acme-corp"], "api_calls")["used"] == 12_345
