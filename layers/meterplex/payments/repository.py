"""Payments in the core table (ADR 0060; docs/data-model/payments.md). Key shapes live here only.

* `TENANT#<t>#PAYMENTS` / `PAY#<paymentId>`: an attempt (UUIDv7 ids: a Query newest first);
  `COLLECT#<invoiceId>`: the invoice's collection, on the due index (`PAYMENTS#DUE#<shard>` /
  `<dueAt>#<tenant>#<invoice>`) while it has an action scheduled; `REFUND#<refundId>`: a refund.
* `PAYREF#<provider>#<providerPaymentId>` / `PAYREF`: provider payment → (tenant, payment, invoice).
* `PAYEVENT#<provider>#<eventId>` / `PAYEVENT`: a stored provider event (its own stream record:
  the `payment_events` consumer's trigger), TTL 35 days.

Every change of an attempt is ONE TransactWriteItems with the event that caused it (`RECEIVED →
PROCESSED`), conditional on everything read — so a replay, a redelivery or a racing writer changes
nothing twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactGet

from meterplex.billing.documents import from_document as invoice_from_document
from meterplex.billing.models import Invoice
from meterplex.billing.repository import BillingRepository, InvoiceRecord
from meterplex.entitlements.records import stage_standing as stage_grant_standing
from meterplex.payments.models import (
    Action,
    Collection,
    CollectionState,
    EventStatus,
    Payment,
    PaymentStatus,
    ProviderEvent,
    Refund,
)
from meterplex.platform import topics
from meterplex.platform.clock import epoch_s, iso, parse_iso
from meterplex.platform.core_table import GSI1, CoreItem, condition_failed, core_connection
from meterplex.platform.events import DomainEvent
from meterplex.platform.observability import current_correlation_id
from meterplex.platform.outbox import outbox_item
from meterplex.platform.pagination import Key, exclusive_start, sort_key_cursor
from meterplex.platform.transactions import failed_keys, retrying, transaction
from meterplex.subscriptions.standing import (
    Standing,
    StandingRecord,
    from_record,
    stage_standing,
    standing_key,
)

PAY_PREFIX, COLLECT_PREFIX, REFUND_PREFIX = "PAY#", "COLLECT#", "REFUND#"
EVENT_SK, REF_SK = "PAYEVENT", "PAYREF"
DUE_SHARDS = 4
EVENT_TTL = timedelta(days=35)  # Stripe redelivers for 3 days; dedupe well beyond


def payments_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#PAYMENTS"


def event_key(provider: str, event_id: str) -> tuple[str, str]:
    return f"PAYEVENT#{provider}#{event_id}", EVENT_SK


def ref_key(provider: str, provider_payment_id: str) -> tuple[str, str]:
    return f"PAYREF#{provider}#{provider_payment_id}", REF_SK


def due_pk(shard: int) -> str:
    return f"PAYMENTS#DUE#{shard}"


def shard_of(tenant_id: str) -> int:
    return int.from_bytes(hashlib.sha256(tenant_id.encode()).digest()[:4], "big") % DUE_SHARDS


class PaymentRecord(CoreItem):
    status = UnicodeAttribute()
    doc = UnicodeAttribute()


class CollectionRecord(CoreItem):
    state = UnicodeAttribute()
    version = NumberAttribute()
    doc = UnicodeAttribute()


class RefundRecord(CoreItem):
    status = UnicodeAttribute()
    doc = UnicodeAttribute()


class PaymentRefRecord(CoreItem):
    tenantId = UnicodeAttribute()
    paymentId = UnicodeAttribute()
    invoiceId = UnicodeAttribute()


class ProviderEventRecord(CoreItem):
    provider = UnicodeAttribute()
    eventId = UnicodeAttribute()
    type = UnicodeAttribute()
    event = UnicodeAttribute()  # the normalized ProviderEvent, JSON
    status = UnicodeAttribute()
    receivedAt = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    reason = UnicodeAttribute(null=True)
    correlationId = UnicodeAttribute(null=True)  # the webhook request's: payment_events logs under it


# -- documents ----------------------------------------------------------------------------------
def _iso(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None


def _dt(text: str | None) -> datetime | None:
    return parse_iso(text) if text else None


def payment_doc(p: Payment) -> str:
    return json.dumps(
        {
            "id": p.id,
            "tenantId": p.tenant_id,
            "invoiceId": p.invoice_id,
            "invoiceNumber": p.invoice_number,
            "provider": p.provider,
            "attemptNumber": p.attempt_number,
            "amount": p.amount,
            "currency": p.currency,
            "status": p.status.value,
            "createdAt": iso(p.created_at),
            "updatedAt": iso(p.updated_at),
            "providerPaymentId": p.provider_payment_id,
            "failureReason": p.failure_reason,
            "nextRetryAt": _iso(p.next_retry_at),
            "refunded": p.refunded,
        },
        separators=(",", ":"),
    )


def payment_of(record: PaymentRecord) -> Payment:
    d = json.loads(record.doc)
    return Payment(
        id=d["id"],
        tenant_id=d["tenantId"],
        invoice_id=d["invoiceId"],
        invoice_number=d.get("invoiceNumber"),
        provider=d["provider"],
        attempt_number=d["attemptNumber"],
        amount=d["amount"],
        currency=d["currency"],
        status=PaymentStatus(d["status"]),
        created_at=parse_iso(d["createdAt"]),
        updated_at=parse_iso(d["updatedAt"]),
        provider_payment_id=d.get("providerPaymentId"),
        failure_reason=d.get("failureReason"),
        next_retry_at=_dt(d.get("nextRetryAt")),
        refunded=int(d.get("refunded") or 0),
    )


def collection_doc(c: Collection) -> str:
    return json.dumps(
        {
            "tenantId": c.tenant_id,
            "invoiceId": c.invoice_id,
            "invoiceNumber": c.invoice_number,
            "subscriptionId": c.subscription_id,
            "amount": c.amount,
            "currency": c.currency,
            "automatic": c.automatic,
            "state": c.state.value,
            "createdAt": iso(c.created_at),
            "attempts": c.attempts,
            "paymentId": c.payment_id,
            "firstFailedAt": _iso(c.first_failed_at),
            "action": c.action.value if c.action else None,
            "actionAt": _iso(c.action_at),
        },
        separators=(",", ":"),
    )


def collection_of(record: CollectionRecord) -> Collection:
    d = json.loads(record.doc)
    return Collection(
        tenant_id=d["tenantId"],
        invoice_id=d["invoiceId"],
        invoice_number=d.get("invoiceNumber"),
        subscription_id=d["subscriptionId"],
        amount=d["amount"],
        currency=d["currency"],
        automatic=d["automatic"],
        state=CollectionState(d["state"]),
        created_at=parse_iso(d["createdAt"]),
        attempts=d.get("attempts", 0),
        payment_id=d.get("paymentId"),
        first_failed_at=_dt(d.get("firstFailedAt")),
        action=Action(d["action"]) if d.get("action") else None,
        action_at=_dt(d.get("actionAt")),
        version=int(record.version),
    )


def refund_doc(r: Refund) -> str:
    return json.dumps(
        {
            "id": r.id,
            "tenantId": r.tenant_id,
            "invoiceId": r.invoice_id,
            "invoiceNumber": r.invoice_number,
            "paymentId": r.payment_id,
            "amount": r.amount,
            "currency": r.currency,
            "status": r.status,
            "createdAt": iso(r.created_at),
            "providerRefundId": r.provider_refund_id,
            "failureReason": r.failure_reason,
        },
        separators=(",", ":"),
    )


def refund_of(record: RefundRecord) -> Refund:
    d = json.loads(record.doc)
    return Refund(
        id=d["id"],
        tenant_id=d["tenantId"],
        invoice_id=d["invoiceId"],
        invoice_number=d.get("invoiceNumber"),
        payment_id=d["paymentId"],
        amount=d["amount"],
        currency=d["currency"],
        status=d["status"],
        created_at=parse_iso(d["createdAt"]),
        provider_refund_id=d.get("providerRefundId"),
        failure_reason=d.get("failureReason"),
    )


# -- records ------------------------------------------------------------------------------------
def payment_record(p: Payment) -> PaymentRecord:
    return PaymentRecord(
        payments_pk(p.tenant_id), f"{PAY_PREFIX}{p.id}", status=p.status.value, doc=payment_doc(p)
    )


def collection_record(c: Collection) -> CollectionRecord:
    due = c.action_at if c.action is not None else None
    return CollectionRecord(
        payments_pk(c.tenant_id),
        f"{COLLECT_PREFIX}{c.invoice_id}",
        state=c.state.value,
        version=c.version + 1,
        doc=collection_doc(c),
        gsi1pk=due_pk(shard_of(c.tenant_id)) if due else None,
        gsi1sk=f"{iso(due)}#{c.tenant_id}#{c.invoice_id}" if due else None,
    )


def refund_record(r: Refund) -> RefundRecord:
    return RefundRecord(
        payments_pk(r.tenant_id), f"{REFUND_PREFIX}{r.id}", status=r.status, doc=refund_doc(r)
    )


def _collection_unchanged(before: Collection) -> Any:
    if before.version == 0:
        return CollectionRecord.pk.does_not_exist()
    return CollectionRecord.version == before.version


@dataclass(frozen=True)
class Snapshot:
    """What processing one event reads, in one TransactGetItems."""

    payment: Payment | None
    collection: Collection | None
    invoice: Invoice | None
    standing: Standing


@dataclass(frozen=True)
class GrantStanding:
    """Set the tenant's standing on the current subscription's grants (None: remove it)."""

    tenant_id: str
    subscription_id: str
    feature_keys: tuple[str, ...]
    value: str | None


@dataclass
class Change:
    """One atomic change (ADR 0060): each `before` is a condition, each `after` a write."""

    event: ProviderEvent | None = None  # marked PROCESSED (condition: still RECEIVED)
    payment: tuple[Payment | None, Payment] | None = None
    collection: tuple[Collection, Collection] | None = None
    invoice: tuple[Invoice, Invoice, Sequence[DomainEvent]] | None = None
    standing: tuple[Standing, Standing] | None = None
    grants: GrantStanding | None = None
    refund: tuple[Refund | None, Refund] | None = None
    reference: tuple[str, str, Payment] | None = None  # (provider, provider payment id, payment)
    outbox: list[tuple[DomainEvent, str]] = field(default_factory=list)  # (event, topic)


class Conflict(Exception):
    """The change was cancelled: something it read moved. `event_done`: the event was already
    processed (a replay)."""

    def __init__(self, event_done: bool) -> None:
        super().__init__("payments change conflicted")
        self.event_done = event_done


@dataclass(frozen=True)
class DueCollection:
    tenant_id: str
    invoice_id: str
    due_at: datetime


class PaymentsRepository:
    def __init__(self) -> None:
        self._connection = core_connection()

    # -- provider events ------------------------------------------------------------------------
    def store_event(self, event: ProviderEvent, at: datetime) -> bool:
        """Store a verified event once: True if new, False for a redelivery (ONE PutItem)."""
        pk, sk = event_key(event.provider, event.event_id)
        record = ProviderEventRecord(
            pk,
            sk,
            provider=event.provider,
            eventId=event.event_id,
            type=event.type.value,
            event=event.to_json(),
            status=EventStatus.RECEIVED.value,
            receivedAt=iso(at),
            attempts=0,
            expiresAt=epoch_s(at + EVENT_TTL),
            correlationId=current_correlation_id(),
        )
        try:
            retrying(lambda: record.save(condition=ProviderEventRecord.pk.does_not_exist()))
        except PutError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def event_statuses(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """(provider, event id) → status, for the events that exist (consistent BatchGetItem)."""
        wanted = {event_key(p, e): (p, e) for p, e in keys}
        found: dict[tuple[str, str], str] = {}
        for record in ProviderEventRecord.batch_get(list(wanted), consistent_read=True):
            found[wanted[(record.pk, record.sk)]] = record.status
        return found

    def close_event(self, event: ProviderEvent, status: EventStatus, reason: str | None) -> None:
        """An event that changes nothing: IGNORED or DEAD_LETTERED, with the reason."""
        record = ProviderEventRecord(*event_key(event.provider, event.event_id))
        try:
            record.update(
                actions=[
                    ProviderEventRecord.status.set(status.value),
                    ProviderEventRecord.reason.set(reason or status.value),
                ],
                condition=ProviderEventRecord.status == EventStatus.RECEIVED.value,
            )
        except UpdateError as error:
            if not condition_failed(error):
                raise

    def count_failure(self, event: ProviderEvent, reason: str) -> int:
        """One more failed processing of `event`; how many so far."""
        record = ProviderEventRecord(*event_key(event.provider, event.event_id))
        record.update(
            actions=[ProviderEventRecord.attempts.add(1), ProviderEventRecord.reason.set(reason[:1000])]
        )
        return int(record.attempts)

    # -- reads ----------------------------------------------------------------------------------
    def reference(self, provider: str, provider_payment_id: str) -> tuple[str, str, str] | None:
        """(tenant, payment, invoice) of a provider payment id."""
        try:
            ref = PaymentRefRecord.get(*ref_key(provider, provider_payment_id), consistent_read=True)
        except PaymentRefRecord.DoesNotExist:
            return None
        return ref.tenantId, ref.paymentId, ref.invoiceId

    def snapshot(self, tenant_id: str, payment_id: str | None, invoice_id: str) -> Snapshot:
        """The attempt, the collection, the invoice and the standing: ONE TransactGetItems."""
        pk = payments_pk(tenant_id)
        with TransactGet(connection=self._connection) as tg:
            payment = tg.get(PaymentRecord, pk, f"{PAY_PREFIX}{payment_id}") if payment_id else None
            collection = tg.get(CollectionRecord, pk, f"{COLLECT_PREFIX}{invoice_id}")
            invoice = tg.get(InvoiceRecord, *BillingRepository.invoice_key(tenant_id, invoice_id))
            standing = tg.get(StandingRecord, *standing_key(tenant_id))
        return Snapshot(
            payment=payment_of(payment.get()) if payment is not None and _found(payment) else None,
            collection=collection_of(collection.get()) if _found(collection) else None,
            invoice=invoice_from_document(json.loads(invoice.get().doc)) if _found(invoice) else None,
            standing=from_record(tenant_id, standing.get() if _found(standing) else None),
        )

    def payment(self, tenant_id: str, payment_id: str) -> Payment | None:
        try:
            return payment_of(
                PaymentRecord.get(payments_pk(tenant_id), f"{PAY_PREFIX}{payment_id}", consistent_read=True)
            )
        except PaymentRecord.DoesNotExist:
            return None

    def collection(self, tenant_id: str, invoice_id: str) -> Collection | None:
        try:
            record = CollectionRecord.get(
                payments_pk(tenant_id), f"{COLLECT_PREFIX}{invoice_id}", consistent_read=True
            )
        except CollectionRecord.DoesNotExist:
            return None
        return collection_of(record)

    def refund(self, tenant_id: str, refund_id: str) -> Refund | None:
        try:
            return refund_of(
                RefundRecord.get(payments_pk(tenant_id), f"{REFUND_PREFIX}{refund_id}", consistent_read=True)
            )
        except RefundRecord.DoesNotExist:
            return None

    def payments(
        self, tenant_id: str, start: Key | None, limit: int, status: PaymentStatus | None = None
    ) -> tuple[list[Payment], Key | None]:
        """A page of the tenant's attempts, newest first; `status` filters (a page may come back
        short: the cursor goes on from what was read)."""
        pk = payments_pk(tenant_id)
        result = PaymentRecord.query(
            pk,
            PaymentRecord.sk.startswith(PAY_PREFIX),
            filter_condition=(PaymentRecord.status == status.value) if status else None,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=exclusive_start(pk, start, PAY_PREFIX),
        )
        return [payment_of(r) for r in result], sort_key_cursor(result.last_evaluated_key)

    def due(self, as_of: datetime) -> Iterator[DueCollection]:
        """Collections with an action due at or before `as_of` (the due index, one Query per shard)."""
        bound = iso(as_of + timedelta(milliseconds=1))
        for shard in range(DUE_SHARDS):
            for record in CollectionRecord.query(
                due_pk(shard), CollectionRecord.gsi1sk < bound, index_name=GSI1
            ):
                due_at, tenant_id, invoice_id = str(record.gsi1sk).split("#", 2)
                yield DueCollection(tenant_id, invoice_id, parse_iso(due_at))

    # -- the one write --------------------------------------------------------------------------
    def apply(self, change: Change) -> None:
        """Commit `change` as ONE TransactWriteItems; `Conflict` when anything it read moved."""
        tx = transaction(self._connection)
        event_pk = None
        try:
            with tx:
                if change.event is not None:
                    event_pk = event_key(change.event.provider, change.event.event_id)
                    tx.update(
                        ProviderEventRecord(*event_pk),
                        actions=[ProviderEventRecord.status.set(EventStatus.PROCESSED.value)],
                        condition=ProviderEventRecord.status == EventStatus.RECEIVED.value,
                    )
                if change.payment is not None:
                    before, after = change.payment
                    condition = (
                        PaymentRecord.pk.does_not_exist()
                        if before is None
                        else PaymentRecord.doc == payment_doc(before)
                    )
                    tx.save(payment_record(after), condition=condition)
                if change.collection is not None:
                    c_before, c_after = change.collection
                    tx.save(collection_record(c_after), condition=_collection_unchanged(c_before))
                if change.invoice is not None:
                    i_before, i_after, events = change.invoice
                    BillingRepository.stage_transition(tx, i_before, i_after, events)
                if change.standing is not None:
                    stage_standing(tx, *change.standing)
                if change.grants is not None:
                    g = change.grants
                    stage_grant_standing(tx, g.tenant_id, g.subscription_id, g.feature_keys, g.value)
                if change.refund is not None:
                    r_before, r_after = change.refund
                    condition = (
                        RefundRecord.pk.does_not_exist()
                        if r_before is None
                        else RefundRecord.status == r_before.status
                    )
                    tx.save(refund_record(r_after), condition=condition)
                if change.reference is not None:
                    provider, provider_payment_id, payment = change.reference
                    tx.save(
                        PaymentRefRecord(
                            *ref_key(provider, provider_payment_id),
                            tenantId=payment.tenant_id,
                            paymentId=payment.id,
                            invoiceId=payment.invoice_id,
                        )
                    )
                for event, topic in change.outbox:
                    tx.save(outbox_item(event, topic))
        except TransactWriteError as error:
            if not error.cancellation_reasons:
                raise
            failed = failed_keys(tx, error)
            if not failed:
                raise
            raise Conflict(event_done=event_pk in failed) from error


def _found(future: Any) -> bool:
    try:
        future.get()
    except Exception:  # PynamoDB raises the model's DoesNotExist for a missing item
        return False
    return True


PAYMENT_TOPIC = topics.DOMAIN  # payment.succeeded|failed|requires_action (audit, outbound webhooks)
LEDGER_TOPIC = topics.BILLING  # payment.refunded → ledger REFUND
