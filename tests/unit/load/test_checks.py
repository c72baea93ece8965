"""The load run's verifications (load/checks.py) on crafted states: each passes on a consistent
state and fails on the one inconsistency it exists to catch."""

from __future__ import annotations

from dataclasses import replace

from load.checks import (
    accepted_equals_counted,
    accepted_equals_stored,
    granted_equals_counted,
    hard_limits_held,
    idempotent_repeats,
    no_failed_requests,
    one_invoice_per_due_period,
    one_ledger_entry_per_invoice_action,
    payments_settled_as_decided,
    reconciliation_clean,
    webhooks_received_once,
)
from load.observed import (
    Arrival,
    BillingSeen,
    EntrySeen,
    Expected,
    InvoiceSeen,
    Observed,
    QuotaSeen,
    ReconciliationSeen,
    UsageSeen,
)

START, END = "2026-12-01T15:00:00.000Z", "2027-01-01T15:00:00.000Z"


def invoice(id_: str = "inv-1", status: str = "PAID", **changes: object) -> InvoiceSeen:
    return replace(InvoiceSeen(id_, "sub-1", START, END, status, finalized=True), **changes)


def paid_tenant(**changes: object) -> BillingSeen:
    """A tenant whose due period was invoiced, finalized and paid: a CHARGE and a PAYMENT."""
    seen = BillingSeen(
        "t-1",
        "sub-1",
        START,
        END,
        [invoice()],
        [EntrySeen("e-1", "CHARGE", "inv-1"), EntrySeen("e-2", "PAYMENT", "inv-1")],
        decided="succeeded",
    )
    return replace(seen, **changes)


def consistent() -> Observed:
    return Observed(
        usage=[UsageSeen("t-1", 120, 40, 120, stored_units=120, stored_events=40)],
        quotas=[QuotaSeen("t-1", limit=40, granted_units=40, most_used_answered=40, counted_used=40)],
        billing=[paid_tenant()],
        expected_webhooks=[
            Expected("/t/0/invoices", "invoice.finalized", "inv-1"),
            Expected("/t/0/invoices", "invoice.paid", "inv-1"),
        ],
        arrivals=[
            Arrival("/t/0/invoices", "msg-1", "invoice.finalized", "inv-1", 200),
            Arrival("/t/0/invoices", "msg-2", "invoice.paid", "inv-1", 200),
        ],
        reconciliation=ReconciliationSeen("COMPLETED", 0, 0),
    )


def test_every_check_passes_on_a_consistent_run() -> None:
    seen = consistent()
    checks = [
        accepted_equals_counted,
        accepted_equals_stored,
        hard_limits_held,
        granted_equals_counted,
        idempotent_repeats,
        no_failed_requests,
        one_invoice_per_due_period,
        one_ledger_entry_per_invoice_action,
        payments_settled_as_decided,
        webhooks_received_once,
        reconciliation_clean,
    ]
    assert [(c.__name__, c(seen).ok) for c in checks] == [(c.__name__, True) for c in checks]


def test_accepted_equals_counted_fails_when_the_counter_lost_units() -> None:
    seen = consistent()
    seen.usage = [replace(seen.usage[0], counted_units=119)]
    check = accepted_equals_counted(seen)
    assert check.ok is False and "accepted 120, counted 119" in check.detail


def test_accepted_equals_counted_fails_when_the_counter_counted_twice() -> None:
    seen = consistent()
    seen.usage = [replace(seen.usage[0], counted_units=240)]
    assert accepted_equals_counted(seen).ok is False


def test_accepted_equals_stored_fails_when_an_accepted_event_is_not_in_the_table() -> None:
    seen = consistent()
    seen.usage = [replace(seen.usage[0], stored_events=39, stored_units=117)]
    check = accepted_equals_stored(seen)
    assert check.ok is False and "stored 39/117" in check.detail


def test_accepted_equals_stored_is_skipped_not_passed_without_the_table() -> None:
    seen = consistent()
    seen.usage = [replace(seen.usage[0], stored_events=None, stored_units=None)]
    check = accepted_equals_stored(seen)
    assert check.ok is None and check.verdict == "SKIP"


def test_hard_limits_held_fails_when_more_was_granted_than_the_limit() -> None:
    seen = consistent()
    seen.quotas = [replace(seen.quotas[0], granted_units=41, counted_used=41)]
    assert hard_limits_held(seen).ok is False


def test_hard_limits_held_fails_when_an_answer_said_used_past_the_limit() -> None:
    seen = consistent()
    seen.quotas = [replace(seen.quotas[0], most_used_answered=42)]
    check = hard_limits_held(seen)
    assert check.ok is False and "an answer said used 42" in check.detail


def test_granted_equals_counted_fails_when_a_grant_was_not_counted() -> None:
    seen = consistent()
    seen.quotas = [replace(seen.quotas[0], counted_used=37)]
    assert granted_equals_counted(seen).ok is False


def test_idempotent_repeats_fails_on_a_changed_answer() -> None:
    seen = consistent()
    seen.idempotency_mismatches = ["key k: first {'used': 3}, then {'used': 5}"]
    assert idempotent_repeats(seen).ok is False


def test_no_failed_requests_fails_on_a_locust_failure() -> None:
    seen = consistent()
    seen.request_errors = ["3× POST /usage/events: 503 ..."]
    assert no_failed_requests(seen).ok is False


def test_one_invoice_per_due_period_fails_on_a_duplicate_invoice() -> None:
    seen = consistent()
    seen.billing = [paid_tenant(invoices=[invoice("inv-1"), invoice("inv-2")])]
    check = one_invoice_per_due_period(seen)
    assert check.ok is False and "2 invoices for" in check.detail


def test_one_invoice_per_due_period_fails_on_a_missing_invoice() -> None:
    seen = consistent()
    seen.billing = [paid_tenant(invoices=[], ledger=[])]
    assert one_invoice_per_due_period(seen).ok is False


def test_one_invoice_per_due_period_fails_on_an_invoice_of_another_period() -> None:
    seen = consistent()
    seen.billing = [paid_tenant(invoices=[invoice(period_end="2027-01-02T15:00:00.000Z")])]
    assert one_invoice_per_due_period(seen).ok is False


def test_one_invoice_per_due_period_fails_on_an_invoice_left_draft() -> None:
    seen = consistent()
    seen.billing = [paid_tenant(invoices=[invoice(status="DRAFT", finalized=False)], ledger=[])]
    assert one_invoice_per_due_period(seen).ok is False


def test_ledger_check_fails_on_a_charge_written_twice() -> None:
    seen = consistent()
    twice = [*paid_tenant().ledger, EntrySeen("e-3", "CHARGE", "inv-1")]
    seen.billing = [paid_tenant(ledger=twice)]
    check = one_ledger_entry_per_invoice_action(seen)
    assert check.ok is False and "2 CHARGE, owed 1" in check.detail


def test_ledger_check_fails_on_a_paid_invoice_without_its_payment_entry() -> None:
    seen = consistent()
    seen.billing = [paid_tenant(ledger=[EntrySeen("e-1", "CHARGE", "inv-1")])]
    assert one_ledger_entry_per_invoice_action(seen).ok is False


def test_ledger_check_fails_on_an_entry_for_an_invoice_the_tenant_does_not_have() -> None:
    seen = consistent()
    seen.billing = [paid_tenant(ledger=[*paid_tenant().ledger, EntrySeen("e-9", "CREDIT", "inv-9")])]
    check = one_ledger_entry_per_invoice_action(seen)
    assert check.ok is False and "inv-9" in check.detail


def test_payments_check_fails_when_a_succeeded_payment_left_its_invoice_unpaid() -> None:
    seen = consistent()
    seen.billing = [paid_tenant(invoices=[invoice(status="FINALIZED")], ledger=paid_tenant().ledger[:1])]
    assert payments_settled_as_decided(seen).ok is False


def test_payments_check_fails_when_a_failed_payment_paid_the_invoice() -> None:
    seen = consistent()
    seen.billing = [paid_tenant(decided="failed")]
    assert payments_settled_as_decided(seen).ok is False


def test_webhooks_check_fails_on_a_delivery_received_twice() -> None:
    seen = consistent()
    seen.arrivals = [*seen.arrivals, Arrival("/t/0/invoices", "msg-1", "invoice.finalized", "inv-1", 200)]
    check = webhooks_received_once(seen)
    assert check.ok is False and "msg-1 received 2×" in check.detail


def test_webhooks_check_fails_on_a_delivery_never_received() -> None:
    seen = consistent()
    seen.arrivals = seen.arrivals[:1]
    check = webhooks_received_once(seen)
    assert check.ok is False and "invoice.paid inv-1 never received" in check.detail


def test_webhooks_check_fails_on_a_delivery_nobody_was_owed() -> None:
    seen = consistent()
    seen.arrivals = [*seen.arrivals, Arrival("/t/0/invoices", "msg-3", "invoice.voided", "inv-1", 200)]
    assert webhooks_received_once(seen).ok is False


def test_webhooks_check_counts_a_retried_delivery_once() -> None:
    # GIVEN the receiver answered 500 to the first attempt: only the 2xx one is a delivery
    seen = consistent()
    seen.arrivals = [Arrival("/t/0/invoices", "msg-1", "invoice.finalized", "inv-1", 500), *seen.arrivals]
    assert webhooks_received_once(seen).ok is True


def test_reconciliation_check_fails_on_an_issue() -> None:
    seen = consistent()
    seen.reconciliation = ReconciliationSeen("COMPLETED", 1, 0, {"LEDGER_ENTRY_MISSING": 1})
    check = reconciliation_clean(seen)
    assert check.ok is False and "LEDGER_ENTRY_MISSING" in check.detail


def test_reconciliation_check_fails_when_it_had_to_redrive_usage() -> None:
    seen = consistent()
    seen.reconciliation = ReconciliationSeen("COMPLETED", 0, 3)
    assert reconciliation_clean(seen).ok is False


def test_reconciliation_check_fails_when_no_run_finished() -> None:
    seen = consistent()
    seen.reconciliation = ReconciliationSeen("RUNNING", 0, 0)
    assert reconciliation_clean(seen).ok is False
    seen.reconciliation = None
    assert reconciliation_clean(seen).ok is False
