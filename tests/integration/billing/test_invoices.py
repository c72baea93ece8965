"""Invoice generation against moto server: SPEC §7 lines, proration, idempotency, the state machine."""

from __future__ import annotations

from datetime import timedelta

import pytest

from meterplex.billing.models import InvoiceKind, InvoiceStatus
from meterplex.platform.errors import Conflict
from meterplex.subscriptions.models import next_billing_step
from tests.integration.billing.helpers import at, billing, lines, subscribed

pytestmark = pytest.mark.usefixtures("moto_endpoint")


def test_a_period_is_invoiced_with_the_spec_lines_finalized_and_advanced() -> None:
    # GIVEN a pro-like subscription from Jan 31, 10:00 with 55,000 calls and 15 GB used in its first period
    tenant = subscribed(at(2026, 1, 31, 10))
    tenant.use("api_calls", 55_000, at(2026, 2, 10))
    tenant.use("storage", 15, at(2026, 2, 11))
    tenant.use("seats", 4, at(2026, 2, 12))
    tenant.use("exports", 5, at(2026, 2, 12))
    # WHEN the billing run of Mar 1 00:05 settles it
    result = billing().settle(tenant.id, tenant.subscription.id, at(2026, 3, 1, 0, 5))
    # THEN one invoice: base fee, 500 cents of calls, 10 cents of storage, a zero seats line — and
    # nothing for the HARD quota or the BOOLEAN feature
    [invoice] = result.invoices
    assert lines(invoice) == [
        ("BASE_FEE", None, 1, 9900),
        ("USAGE", tenant.key("api_calls"), 5_000, 500),
        ("USAGE", tenant.key("seats"), 0, 0),
        ("USAGE", tenant.key("storage"), 5, 10),
    ]  # usage lines in lookup-key order
    assert (invoice.period_start, invoice.period_end) == (at(2026, 1, 31, 10), at(2026, 2, 28, 10))
    assert invoice.status is InvoiceStatus.FINALIZED and invoice.total == 10_410
    assert invoice.invoice_number and invoice.invoice_number.startswith("INV-2026-")
    assert invoice.due_date == at(2026, 3, 1, 0, 5) + timedelta(days=30)
    # AND the subscription moved to its next period, due Mar 31 10:00
    step = next_billing_step(tenant.reload())
    assert step is not None and (step.period_start, step.due_at) == (at(2026, 2, 28, 10), at(2026, 3, 31, 10))


def test_running_again_changes_nothing() -> None:
    tenant = subscribed(at(2026, 1, 31, 10))
    service = billing()
    assert len(service.settle(tenant.id, tenant.subscription.id, at(2026, 3, 1)).invoices) == 1
    assert service.settle(tenant.id, tenant.subscription.id, at(2026, 3, 1)).invoices == []
    assert len(service.invoices(tenant.id, None, 100)[0]) == 1


def test_generate_is_idempotent_per_period_and_the_run_then_only_advances() -> None:
    tenant = subscribed(at(2026, 1, 31, 10))
    tenant.use("api_calls", 51_000, at(2026, 2, 3))
    tenant.clock.set(at(2026, 2, 5))
    service = billing(tenant.clock)
    first = service.generate(tenant.id)
    assert first.status is InvoiceStatus.DRAFT and first.kind is InvoiceKind.FULL
    with pytest.raises(Conflict) as again:
        service.generate(tenant.id)
    assert again.value.code == "INVOICE_ALREADY_EXISTS" and again.value.extra == {"invoiceId": first.id}
    # usage after the manual invoice, then the run at period end: no second invoice for the period
    tenant.use("api_calls", 2_000, at(2026, 2, 20))
    assert service.settle(tenant.id, tenant.subscription.id, at(2026, 3, 1)).invoices == []
    # ... and the next period's invoice carries the 2,000 as late usage
    [march] = service.settle(tenant.id, tenant.subscription.id, at(2026, 4, 1)).invoices
    late = [line for line in march.line_items if line.kind.value == "LATE_USAGE"]
    assert [(line.quantity, line.amount) for line in late] == [(2_000, 200)]


def test_an_immediate_cancel_gets_one_prorated_final_invoice() -> None:
    # GIVEN $29/month from Jan 1; cancelled Jan 8 (7 of 31 days)
    tenant = subscribed(at(2026, 1, 1), monthly=2900)
    tenant.clock.set(at(2026, 1, 8))
    tenant.subscriptions_service().cancel(tenant.id, tenant.subscription.id)
    service = billing()
    [final] = service.settle(tenant.id, tenant.subscription.id, at(2026, 1, 9)).invoices
    assert final.kind is InvoiceKind.PRORATED and lines(final)[0] == ("BASE_FEE", None, 1, 655)
    assert "(prorated: 7/31 days)" in final.line_items[0].description
    assert (final.period_start, final.period_end) == (at(2026, 1, 1), at(2026, 1, 8))
    assert service.settle(tenant.id, tenant.subscription.id, at(2026, 6, 1)).invoices == []
    assert next_billing_step(tenant.reload()) is None


def test_the_state_machine_and_invalid_transitions() -> None:
    tenant = subscribed(at(2026, 1, 31, 10))
    tenant.clock.set(at(2026, 2, 5))
    service = billing(tenant.clock)
    draft = service.generate(tenant.id)
    assert draft.invoice_number is None
    with pytest.raises(Conflict) as early:
        service.mark_paid(tenant.id, draft.id)
    assert early.value.code == "INVALID_TRANSITION"
    done = service.finalize(tenant.id, draft.id)
    assert done.invoice_number and done.due_date == at(2026, 2, 5) + timedelta(days=30)
    assert service.mark_paid(tenant.id, draft.id).status is InvoiceStatus.PAID
    for action in (service.void, service.finalize, service.mark_paid):
        with pytest.raises(Conflict) as late:
            action(tenant.id, draft.id)
        assert late.value.code == "INVALID_TRANSITION"
