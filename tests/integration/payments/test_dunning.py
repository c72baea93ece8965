"""Payments and dunning in-process against moto (ADR 0060), on a fixed clock: a tenant scripted to
fail goes PAST_DUE on the first failure (check: pastDue), is retried on days 3, 8 and 15, becomes
UNPAID (consume: 402 PAYMENT_REQUIRED, BOOLEAN still allowed), then a success restores it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from meterplex.billing.models import InvoiceStatus
from meterplex.entitlements.service import EntitlementService
from meterplex.entitlements.store import GrantStore
from meterplex.payments.fake import FakeProvider
from meterplex.payments.models import CollectionState, PaymentStatus
from meterplex.payments.provider import ProviderState, ProviderStatus
from meterplex.platform import topics
from meterplex.platform.audit import is_audit_event
from meterplex.platform.errors import PaymentRequired
from meterplex.platform.events import DomainEvent
from meterplex.subscriptions.repository import DynamoSubscriptionRepository
from meterplex.subscriptions.standing import read_standing
from tests.integration.billing.helpers import at, billing, outbox, subscribed
from tests.integration.payments.helpers import Payments

pytestmark = pytest.mark.usefixtures("moto_endpoint")


def audit_records(tenant_id: str) -> list[DomainEvent]:
    events = [DomainEvent.from_json(v) for v in outbox(tenant_id, topics.DOMAIN)]
    return [e for e in events if is_audit_event(e)]


def _attempts(payments: Payments, tenant_id: str) -> list[tuple[int, str]]:
    found, _ = payments.service.payments(tenant_id, None, 100)
    return sorted((p.attempt_number, p.status.value) for p in found)


def test_scripted_failure_retries_on_days_3_8_15_then_unpaid_then_a_success_restores() -> None:
    # GIVEN a tenant on a plan with a SOFT quota and a BOOLEAN, scripted to fail, with a finalized invoice
    tenant = subscribed(at(2026, 3, 1, 9))
    payments = Payments(tenant.clock)
    payments.directory.script(tenant.id, "fail")
    hot_path = EntitlementService(GrantStore(), tenant.clock)
    service = billing(tenant.clock)
    tenant.clock.set(at(2026, 3, 10, 14))
    invoice = service.finalize(tenant.id, service.generate(tenant.id).id)

    # WHEN the collector starts collecting it and the fake's webhook is processed
    payments.deliver(payments.finalized(invoice))

    # THEN attempt 1 FAILED, retry due on day 3 (00:00 UTC), the tenant PAST_DUE, check says so
    [first] = payments.service.payments(tenant.id, None, 10)[0]
    assert (first.status, first.attempt_number) == (PaymentStatus.FAILED, 1)
    assert first.next_retry_at == at(2026, 3, 13)
    assert read_standing(tenant.id).level == "PAST_DUE"
    check = hot_path.check(tenant.id, tenant.key("api_calls"))
    assert check["pastDue"] is True and check["allowed"] is True
    assert hot_path.consume(tenant.id, tenant.key("api_calls"), 1)["pastDue"] is True

    # WHEN the payments run fires before day 3 → nothing; on days 3, 8 and 15 → one retry each
    for day, expected in ((12, 1), (13, 2), (17, 2), (18, 3), (25, 4)):
        tenant.clock.set(at(2026, 3, day, 0, 30))
        result = payments.collector.run(tenant.clock.now())
        payments.deliver([tuple(k) for k in result["events"]])  # type: ignore[misc]
        assert len(_attempts(payments, tenant.id)) == expected, day
    assert _attempts(payments, tenant.id) == [(n, "FAILED") for n in (1, 2, 3, 4)]

    # THEN UNPAID: QUOTA consumption refused with 402, the check says not allowed, BOOLEAN still works
    assert read_standing(tenant.id).level == "UNPAID"
    collection = payments.repo.collection(tenant.id, invoice.id)
    assert collection is not None and collection.state is CollectionState.UNPAID and collection.action is None
    with pytest.raises(PaymentRequired):
        hot_path.consume(tenant.id, tenant.key("api_calls"), 1)
    with pytest.raises(PaymentRequired):
        hot_path.consume(tenant.id, tenant.key("api_calls"), 1, idempotency_key="k-unpaid")
    assert hot_path.check(tenant.id, tenant.key("api_calls"))["allowed"] is False
    assert hot_path.check(tenant.id, tenant.key("sso")) == {
        "allowed": True,
        "feature": tenant.key("sso"),
        "type": "BOOLEAN",
        "pastDue": True,
    }
    # AND no further run retries it
    tenant.clock.set(at(2026, 4, 1, 0, 30))
    assert payments.collector.run(tenant.clock.now())["actions"] == 0

    # WHEN the invoice is settled by hand (mark-paid → invoice.paid reaches the collector)
    service.mark_paid(tenant.id, invoice.id)
    payments.collector.invoice_settled(tenant.id, invoice.id, voided=False)

    # THEN ACTIVE again: consume works, no pastDue
    assert read_standing(tenant.id).level == "ACTIVE"
    assert "pastDue" not in hot_path.consume(tenant.id, tenant.key("api_calls"), 1)
    assert hot_path.check(tenant.id, tenant.key("api_calls"))["allowed"] is True


def test_a_retry_that_succeeds_pays_the_invoice_and_restores_the_tenant() -> None:
    tenant = subscribed(at(2026, 5, 1, 9))
    payments = Payments(tenant.clock)
    payments.directory.script(tenant.id, "fail")
    service = billing(tenant.clock)
    tenant.clock.set(at(2026, 5, 3, 0, 5))
    invoice = service.finalize(tenant.id, service.generate(tenant.id).id)
    payments.deliver(payments.finalized(invoice))
    assert read_standing(tenant.id).level == "PAST_DUE"

    # WHEN the script is switched to succeed and the day-3 retry runs
    payments.directory.script(tenant.id, "succeed")
    tenant.clock.set(at(2026, 5, 6, 0, 30))
    result = payments.collector.run(tenant.clock.now())
    assert payments.deliver([tuple(k) for k in result["events"]]) == ["succeeded"]  # type: ignore[misc]

    # THEN attempt 2 SUCCEEDED, the invoice PAID, the collection settled, the tenant ACTIVE
    assert _attempts(payments, tenant.id) == [(1, "FAILED"), (2, "SUCCEEDED")]
    assert service.invoice(tenant.id, invoice.id).status is InvoiceStatus.PAID
    collection = payments.repo.collection(tenant.id, invoice.id)
    assert collection is not None and collection.state is CollectionState.SETTLED
    assert read_standing(tenant.id).level == "ACTIVE"
    assert (
        EntitlementService(GrantStore(), tenant.clock)
        .check(tenant.id, tenant.key("api_calls"))
        .get("pastDue")
        is None
    )


def test_an_unscripted_fake_payment_stays_pending_so_mark_paid_settles_it() -> None:
    tenant = subscribed(at(2026, 6, 1, 9))
    payments = Payments(tenant.clock)
    service = billing(tenant.clock)
    tenant.clock.set(at(2026, 6, 5))
    invoice = service.finalize(tenant.id, service.generate(tenant.id).id)
    assert payments.finalized(invoice) == []  # no outcome: the fake holds it for /webhooks/fake

    # WHEN the janitor looks 12 h later: the fake says held → left PENDING
    tenant.clock.set(invoice.finalized_at + timedelta(hours=13))  # type: ignore[operator]
    tenant.clock.set(at(2026, 6, 5, 12, 30))
    assert payments.collector.run(tenant.clock.now())["actions"] == 1
    assert _attempts(payments, tenant.id) == [(1, "PENDING")]

    # THEN mark-paid works and settles the collection
    paid = service.mark_paid(tenant.id, invoice.id)
    payments.collector.invoice_settled(tenant.id, invoice.id, voided=False)
    assert paid.status is InvoiceStatus.PAID
    collection = payments.repo.collection(tenant.id, invoice.id)
    assert collection is not None and collection.state is CollectionState.SETTLED


class StillProcessing(FakeProvider):
    """A provider that created the payment and never decided it (Stripe's `processing`, or a lost
    webhook): what the janitor is for. Only its status answer differs from the fake's."""

    def status(self, provider_payment_id: str) -> ProviderStatus:
        return ProviderStatus(ProviderState.PENDING)


def test_the_janitor_fails_an_attempt_the_provider_has_not_decided_within_12_hours() -> None:
    tenant = subscribed(at(2026, 7, 1, 9))
    payments = Payments(tenant.clock, provider=StillProcessing())
    service = billing(tenant.clock)
    tenant.clock.set(at(2026, 7, 5, 0, 10))
    invoice = service.finalize(tenant.id, service.generate(tenant.id).id)
    assert payments.finalized(invoice) == []  # no synchronous outcome
    assert _attempts(payments, tenant.id) == [(1, "PENDING")]

    # WHEN the payments run fires before the 12 h are up → nothing to do
    tenant.clock.set(at(2026, 7, 5, 0, 30))
    assert payments.collector.run(tenant.clock.now())["actions"] == 0

    # WHEN it fires after them → the provider is asked, still undecided → a payment.failed stored
    tenant.clock.set(at(2026, 7, 5, 12, 30))
    result = payments.collector.run(tenant.clock.now())
    assert result["actions"] == 1 and len(result["events"]) == 1
    payments.deliver([tuple(k) for k in result["events"]])  # type: ignore[misc]

    # THEN the attempt FAILED with the janitor's reason, the first retry scheduled, the tenant PAST_DUE
    [attempt] = payments.service.payments(tenant.id, None, 10)[0]
    assert attempt.status is PaymentStatus.FAILED
    assert attempt.failure_reason == "No outcome from the payment provider within 12 hours"
    assert attempt.next_retry_at == at(2026, 7, 8)
    assert read_standing(tenant.id).level == "PAST_DUE"
    # AND a repeated run changes nothing
    assert payments.collector.run(tenant.clock.now())["actions"] == 0


def _fail_four_times(payments: Payments, tenant_id: str, first_day: int) -> None:
    """The collector's attempt and the retries on days 3, 8, 15 (July 2026), each failing."""
    for day in (first_day + 3, first_day + 8, first_day + 15):
        payments.clock.set(at(2026, 7, day, 0, 30))
        result = payments.collector.run(payments.clock.now())
        payments.deliver([tuple(k) for k in result["events"]])  # type: ignore[misc]
    assert _attempts(payments, tenant_id) == [(n, "FAILED") for n in (1, 2, 3, 4)]


def test_exhausted_retries_cancel_the_subscription_when_so_configured() -> None:
    tenant = subscribed(at(2026, 7, 1, 9))
    payments = Payments(tenant.clock, cancel_when_exhausted=True)
    payments.directory.script(tenant.id, "fail")
    service = billing(tenant.clock)
    tenant.clock.set(at(2026, 7, 2, 10))
    invoice = service.finalize(tenant.id, service.generate(tenant.id).id)
    payments.deliver(payments.finalized(invoice))
    assert DynamoSubscriptionRepository().current(tenant.id) is not None

    _fail_four_times(payments, tenant.id, 2)

    # THEN the subscription is cancelled now: its grants retired, so even the BOOLEAN feature (which
    # UNPAID alone leaves working) is gone
    current = DynamoSubscriptionRepository().current(tenant.id)
    assert current is None or current.status.value == "CANCELLED", current
    assert (
        EntitlementService(GrantStore(), tenant.clock).check(tenant.id, tenant.key("sso"))["allowed"] is False
    )
    # AND the audit trail says the system cancelled it, as a route's cancel would record it
    [record] = [e for e in audit_records(tenant.id) if e.type == "subscription.cancelled"]
    assert (record.actor, record.data["resource"], record.data["action"]) == (
        "system",
        "subscription",
        "cancel",
    )
    assert record.data["resourceId"] == tenant.subscription.id
    assert (record.data["before"]["status"], record.data["after"]["status"]) == ("ACTIVE", "CANCELLED")


def test_a_manual_invoice_unpaid_at_its_due_date_makes_the_tenant_past_due_until_paid() -> None:
    tenant = subscribed(at(2026, 7, 1, 9))
    payments = Payments(tenant.clock)
    payments.directory.manual.add(tenant.id)
    service = billing(tenant.clock)
    tenant.clock.set(at(2026, 7, 2, 10))
    invoice = service.finalize(tenant.id, service.generate(tenant.id).id)
    assert payments.finalized(invoice) == [] and _attempts(payments, tenant.id) == []  # no charge
    assert invoice.due_date is not None

    # WHEN the payments run fires before the due date → nothing; after it → PAST_DUE
    tenant.clock.set(invoice.due_date - timedelta(hours=1))
    assert payments.collector.run(tenant.clock.now())["actions"] == 0
    assert read_standing(tenant.id).level == "ACTIVE"
    tenant.clock.set(invoice.due_date + timedelta(minutes=30))
    assert payments.collector.run(tenant.clock.now())["actions"] == 1
    assert read_standing(tenant.id).level == "PAST_DUE"
    check = EntitlementService(GrantStore(), tenant.clock).check(tenant.id, tenant.key("api_calls"))
    assert check["pastDue"] is True and check["allowed"] is True
    assert _attempts(payments, tenant.id) == []  # still no charge: manual means mark-paid only

    # WHEN it is settled by hand → ACTIVE
    service.mark_paid(tenant.id, invoice.id)
    payments.collector.invoice_settled(tenant.id, invoice.id, voided=False)
    assert read_standing(tenant.id).level == "ACTIVE"
