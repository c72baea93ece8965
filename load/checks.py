"""The post-run verifications: each is a pure function of what the run observed (`Observed`) and
answers one `Check`. Nothing here touches the network, so each can be shown to fail on a crafted
state (tests/unit/load/test_checks.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from load.observed import Observed

SHOWN = 5  # how many offenders a failed check names


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: could not be made (skipped) — never counted as passed
    detail: str

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "SKIP"}[self.ok]


def _verdict(name: str, offenders: list[str], passed: str) -> Check:
    if not offenders:
        return Check(name, True, passed)
    more = f" (+{len(offenders) - SHOWN} more)" if len(offenders) > SHOWN else ""
    return Check(name, False, f"{len(offenders)} wrong: " + "; ".join(offenders[:SHOWN]) + more)


def accepted_equals_counted(seen: Observed) -> Check:
    """Σ units answered `accepted` = Σ units counted (`check` → used), per tenant."""
    wrong = [
        f"tenant {u.tenant_id}: accepted {u.answered_units}, counted {u.counted_units}"
        for u in seen.usage
        if u.answered_units != u.counted_units
    ]
    total = sum(u.answered_units for u in seen.usage)
    counted = sum(u.counted_units for u in seen.usage)
    return _verdict(
        "usage: Σ accepted = Σ counted (API)", wrong, f"{total:,} units accepted, {counted:,} counted"
    )


def accepted_equals_stored(seen: Observed) -> Check:
    """Every accepted event is in the usage table once (and nothing else is): events and units."""
    name = "usage: Σ accepted = Σ stored (usage table)"
    if not seen.usage or any(u.stored_events is None for u in seen.usage):
        return Check(name, None, "the usage table was not readable (set MP_LOAD_MOTO_URL)")
    wrong = [
        f"tenant {u.tenant_id}: accepted {u.answered_events} events/{u.answered_units} units, "
        f"stored {u.stored_events}/{u.stored_units}"
        for u in seen.usage
        if (u.answered_events, u.answered_units) != (u.stored_events, u.stored_units)
    ]
    events = sum(u.answered_events for u in seen.usage)
    return _verdict(name, wrong, f"{events:,} events accepted, each stored once")


def hard_limits_held(seen: Observed) -> Check:
    """No HARD quota granted past its limit: not in any answer, not in the counter."""
    wrong = []
    for q in seen.quotas:
        if max(q.granted_units, q.most_used_answered, q.counted_used) > q.limit:
            wrong.append(
                f"tenant {q.tenant_id}: limit {q.limit}, granted {q.granted_units}, "
                f"an answer said used {q.most_used_answered}, counter {q.counted_used}"
            )
    at_limit = sum(1 for q in seen.quotas if q.counted_used == q.limit)
    return _verdict(
        "consume: HARD limits never exceeded (granted ≤ limit)",
        wrong,
        f"{len(seen.quotas)} quotas, {at_limit} filled to their limit, none past it",
    )


def granted_equals_counted(seen: Observed) -> Check:
    """Consumed units are usage: every grant counted once, no refusal counted."""
    wrong = [
        f"tenant {q.tenant_id}: granted {q.granted_units}, counted {q.counted_used}"
        for q in seen.quotas
        if q.granted_units != q.counted_used
    ]
    granted = sum(q.granted_units for q in seen.quotas)
    return _verdict("consume: Σ granted = Σ counted", wrong, f"{granted:,} units granted, each counted once")


def idempotent_repeats(seen: Observed) -> Check:
    return _verdict(
        "consume: a repeated idempotency key answers the first answer",
        list(seen.idempotency_mismatches),
        "every repeat answered as the first time",
    )


def no_failed_requests(seen: Observed) -> Check:
    return _verdict("requests: none failed (no 5xx, no unexpected status)", list(seen.request_errors), "none")


def one_invoice_per_due_period(seen: Observed) -> Check:
    wrong = []
    for b in seen.billing:
        period = [
            i
            for i in b.invoices
            if i.subscription_id == b.subscription_id
            and (i.period_start, i.period_end) == (b.period_start, b.period_end)
        ]
        if len(period) != 1:
            wrong.append(
                f"tenant {b.tenant_id}: {len(period)} invoices for {b.period_start} – {b.period_end}"
            )
        elif not period[0].finalized:
            wrong.append(f"tenant {b.tenant_id}: invoice {period[0].id} {period[0].status}, never finalized")
    return _verdict(
        "billing: one invoice per due period (none missing, no duplicate)",
        wrong,
        f"{len(seen.billing):,} due periods, {len(seen.billing):,} invoices finalized",
    )


def one_ledger_entry_per_invoice_action(seen: Observed) -> Check:
    """A finalized invoice has one CHARGE, a PAID one one PAYMENT, a voided-after-finalize one one
    CREDIT; no entry names an invoice the tenant does not have."""
    wrong, entries = [], 0
    for b in seen.billing:
        by_invoice = Counter((e.invoice_id, e.type) for e in b.ledger)
        entries += len(b.ledger)
        invoices = {i.id for i in b.invoices}
        for invoice in b.invoices:
            owed = {
                "CHARGE": int(invoice.finalized),
                "PAYMENT": int(invoice.status == "PAID"),
                "CREDIT": int(invoice.finalized and invoice.status == "VOID"),
            }
            for kind, count in owed.items():
                found = by_invoice[(invoice.id, kind)]
                if found != count:
                    wrong.append(f"invoice {invoice.id} ({invoice.status}): {found} {kind}, owed {count}")
        wrong += [
            f"entry {e.id} ({e.type}) names invoice {e.invoice_id}, not one of tenant {b.tenant_id}'s"
            for e in b.ledger
            if e.invoice_id not in invoices
        ]
    return _verdict(
        "ledger: one entry per invoice action", wrong, f"{entries:,} entries, each owed by one invoice action"
    )


def payments_settled_as_decided(seen: Observed) -> Check:
    wrong = []
    for b in seen.billing:
        statuses = [i.status for i in b.invoices if i.subscription_id == b.subscription_id]
        owed = "PAID" if b.decided == "succeeded" else "FINALIZED"
        if statuses != [owed]:
            wrong.append(f"tenant {b.tenant_id}: payment {b.decided or 'undecided'}, invoices {statuses}")
    paid = sum(1 for b in seen.billing if b.decided == "succeeded")
    return _verdict(
        "payments: each webhook settled its invoice once",
        wrong,
        f"{paid:,} PAID, {len(seen.billing) - paid:,} left FINALIZED (payment failed or pending)",
    )


def webhooks_received_once(seen: Observed) -> Check:
    delivered = [a for a in seen.arrivals if 200 <= a.status < 300]
    copies = Counter((a.path, a.webhook_id) for a in delivered)
    wrong = [f"{path}: webhook-id {wid} received {n}×" for (path, wid), n in copies.items() if n > 1]
    received = Counter((a.path, a.type, a.key) for a in delivered)
    expected = Counter((e.path, e.type, e.key) for e in seen.expected_webhooks)
    wrong += [f"{p}: {t} {k} never received" for (p, t, k) in expected - received]
    wrong += [f"{p}: {t} {k} received, not owed" for (p, t, k) in received - expected]
    return _verdict(
        "webhooks: each delivery received once",
        wrong,
        f"{len(delivered):,} deliveries to {len({a.path for a in delivered})} endpoints, each once",
    )


def reconciliation_clean(seen: Observed) -> Check:
    name = "reconciliation: run clean (0 issues)"
    run = seen.reconciliation
    if run is None:
        return Check(name, False, "no reconciliation run finished")
    if run.status != "COMPLETED" or run.issues or run.events_redriven:
        return Check(
            name,
            False,
            f"status {run.status}, {run.issues} issues {run.by_category}, "
            f"{run.events_redriven} events re-driven",
        )
    return Check(name, True, "COMPLETED, 0 issues, 0 events re-driven")


TRAFFIC_CHECKS: tuple[Callable[[Observed], Check], ...] = (
    accepted_equals_counted,
    accepted_equals_stored,
    hard_limits_held,
    granted_equals_counted,
    idempotent_repeats,
)
BILLING_CHECKS: tuple[Callable[[Observed], Check], ...] = (
    one_invoice_per_due_period,
    one_ledger_entry_per_invoice_action,
    payments_settled_as_decided,
    webhooks_received_once,
    reconciliation_clean,
    no_failed_requests,
)


def run_checks(seen: Observed, checks: Iterable[Callable[[Observed], Check]]) -> list[Check]:
    return [check(seen) for check in checks]
