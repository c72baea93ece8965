"""Invoices, period claims, usage watermarks and invoice numbers in the core table (ADR 0041).

Every write is ONE TransactWriteItems, conditional on what the service read; a cancelled
transaction is reported as a `CommitConflict` naming what moved (and, for a period claim or the
number counter, the value found), so the service decides how to retry. Key shapes live here only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from meterplex.billing.documents import from_document, to_document
from meterplex.billing.models import Invoice, InvoiceStatus
from meterplex.billing.usage_billed import UsageBilledState
from meterplex.platform import topics
from meterplex.platform.audit import is_audit_event
from meterplex.platform.clock import iso
from meterplex.platform.core_table import GSI2, CoreItem, core_connection
from meterplex.platform.events import DomainEvent
from meterplex.platform.outbox import outbox_item
from meterplex.platform.pagination import Key, exclusive_start, sort_key_cursor
from meterplex.platform.transactions import failed_items, transaction
from meterplex.subscriptions.models import Subscription
from meterplex.subscriptions.repository import DynamoSubscriptionRepository

INVOICE_PREFIX = "INV#"
USAGE_BILLED_SK = "USAGE_BILLED"
NUMBERS_PK = "INVOICE_NUMBERS"
ALL_OLD = "ALL_OLD"


def billing_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#BILLING"


def invoice_sk(invoice_id: str) -> str:
    return f"{INVOICE_PREFIX}{invoice_id}"


def claim_sk(subscription_id: str, period_start: datetime) -> str:
    return f"PERIOD#{subscription_id}#{iso(period_start)}"


def year_sk(year: int) -> str:
    return f"YEAR#{year:04d}"


OUTSTANDING_PK = "INVOICES#OUTSTANDING"


class InvoiceRecord(CoreItem):
    status = UnicodeAttribute()  # on top for the state machine's conditions
    subscriptionId = UnicodeAttribute()
    doc = UnicodeAttribute()  # billing.documents


class PeriodClaimRecord(CoreItem):
    invoiceId = UnicodeAttribute()


class UsageBilledRecord(CoreItem):
    version = NumberAttribute()
    counters = UnicodeAttribute()  # UsageBilledState JSON


class InvoiceNumberRecord(CoreItem):
    last = NumberAttribute()


@dataclass
class CommitConflict(Exception):
    """The transaction was cancelled: what had moved since it was read."""

    claimed_by: str | None = None  # the period already has this invoice
    number_last: int | None = None  # the year's counter stood here
    usage_billed: bool = False
    subscription: bool = False
    invoice: bool = False
    other: bool = False  # a conflict with a concurrent transaction (nothing failed its condition)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Numbering:
    """Take the year's next number in the transaction: `last` must still be `expected_last`."""

    year: int
    expected_last: int


@dataclass(frozen=True)
class Settlement:
    """The subscription billing settled, written in the same transaction."""

    before: Subscription
    after: Subscription
    event: str | None


def _n(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name) or {}
    return int(value["N"]) if "N" in value else None


class BillingRepository:
    def __init__(self) -> None:
        self._connection = core_connection()

    # -- reads -------------------------------------------------------------------------------
    def invoice(self, tenant_id: str, invoice_id: str) -> Invoice | None:
        try:
            record = InvoiceRecord.get(billing_pk(tenant_id), invoice_sk(invoice_id), consistent_read=True)
        except InvoiceRecord.DoesNotExist:
            return None
        return from_document(json.loads(record.doc))

    def invoices(self, tenant_id: str, start: Key | None, limit: int) -> tuple[list[Invoice], Key | None]:
        """A page of the tenant's invoices, newest first (UUIDv7 ids sort by creation)."""
        result = InvoiceRecord.query(
            billing_pk(tenant_id),
            InvoiceRecord.sk.startswith(INVOICE_PREFIX),
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=exclusive_start(billing_pk(tenant_id), start, INVOICE_PREFIX),
        )
        invoices = [from_document(json.loads(r.doc)) for r in result]
        return invoices, sort_key_cursor(result.last_evaluated_key)

    def usage_billed(self, tenant_id: str) -> UsageBilledState:
        try:
            record = UsageBilledRecord.get(billing_pk(tenant_id), USAGE_BILLED_SK, consistent_read=True)
        except UsageBilledRecord.DoesNotExist:
            return UsageBilledState()
        return UsageBilledState.from_json(int(record.version), record.counters)

    def claimed(self, tenant_id: str, subscription_id: str, period_start: datetime) -> str | None:
        try:
            claim = PeriodClaimRecord.get(
                billing_pk(tenant_id), claim_sk(subscription_id, period_start), consistent_read=True
            )
        except PeriodClaimRecord.DoesNotExist:
            return None
        return claim.invoiceId

    def last_number(self, year: int) -> int:
        try:
            return int(InvoiceNumberRecord.get(NUMBERS_PK, year_sk(year), consistent_read=True).last)
        except InvoiceNumberRecord.DoesNotExist:
            return 0

    # -- writes ------------------------------------------------------------------------------
    def create(
        self,
        invoice: Invoice,
        *,
        claim_start: datetime,
        state_before: UsageBilledState,
        state_after: UsageBilledState,
        events: Sequence[DomainEvent],
        numbering: Numbering | None = None,
        settlement: Settlement | None = None,
    ) -> None:
        """The invoice, its period's claim, the watermarks — and, for a billing run, its number and
        the subscription's settlement — in ONE transaction."""
        pk = billing_pk(invoice.tenant_id)

        def stage(tx: TransactWrite) -> None:
            tx.save(self._record(invoice), condition=InvoiceRecord.pk.does_not_exist())
            tx.save(
                PeriodClaimRecord(pk, claim_sk(invoice.subscription_id, claim_start), invoiceId=invoice.id),
                condition=PeriodClaimRecord.pk.does_not_exist(),
                return_values=ALL_OLD,
            )
            self._stage_usage_billed(tx, invoice.tenant_id, state_before, state_after)
            if numbering is not None:
                self._stage_number(tx, numbering)
            if settlement is not None:
                DynamoSubscriptionRepository.stage_settlement(
                    tx, settlement.before, settlement.after, settlement.event
                )
            for event in events:
                tx.save(outbox_item(event, _topic_of(event)))

        self._commit(stage, invoice_key=(pk, invoice_sk(invoice.id)), settlement=settlement)

    def transition(
        self,
        before: Invoice,
        after: Invoice,
        events: Sequence[DomainEvent],
        numbering: Numbering | None = None,
    ) -> None:
        """The invoice moved from `before`'s status to `after` (conditional), with its events."""

        def stage(tx: TransactWrite) -> None:
            self.stage_transition(tx, before, after, events)
            if numbering is not None:
                self._stage_number(tx, numbering)

        self._commit(stage, invoice_key=(billing_pk(before.tenant_id), invoice_sk(before.id)))

    @classmethod
    def stage_transition(
        cls, tx: TransactWrite, before: Invoice, after: Invoice, events: Sequence[DomainEvent]
    ) -> None:
        """Stage the invoice's move from `before`'s status to `after` (conditional) with its events,
        in a caller's transaction (payments: a provider's success pays the invoice, ADR 0060)."""
        tx.save(cls._record(after), condition=InvoiceRecord.status == before.status.value)
        for event in events:
            tx.save(outbox_item(event, _topic_of(event)))

    @staticmethod
    def invoice_key(tenant_id: str, invoice_id: str) -> tuple[str, str]:
        return billing_pk(tenant_id), invoice_sk(invoice_id)

    def settle(self, settlement: Settlement) -> None:
        """Settle a step that invoices nothing (a trial's end, a period already invoiced by hand)."""

        def stage(tx: TransactWrite) -> None:
            DynamoSubscriptionRepository.stage_settlement(
                tx, settlement.before, settlement.after, settlement.event
            )

        self._commit(stage, settlement=settlement)

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _record(invoice: Invoice) -> InvoiceRecord:
        # A FINALIZED invoice is on the sparse outstanding index (gsi2), by due date: the admin
        # overview reads outstanding and overdue invoices there (paid and voided ones leave it).
        outstanding = invoice.status is InvoiceStatus.FINALIZED and invoice.due_date is not None
        return InvoiceRecord(
            billing_pk(invoice.tenant_id),
            invoice_sk(invoice.id),
            status=invoice.status.value,
            subscriptionId=invoice.subscription_id,
            doc=json.dumps(to_document(invoice), separators=(",", ":")),
            gsi2pk=OUTSTANDING_PK if outstanding else None,
            gsi2sk=f"{iso(invoice.due_date)}#{invoice.tenant_id}#{invoice.id}"
            if outstanding and invoice.due_date
            else None,
        )

    def outstanding(self) -> list[Invoice]:
        """Every FINALIZED invoice of every tenant, by due date (the sparse outstanding index)."""
        return [
            from_document(json.loads(r.doc)) for r in InvoiceRecord.query(OUTSTANDING_PK, index_name=GSI2)
        ]

    @staticmethod
    def _stage_usage_billed(
        tx: TransactWrite, tenant_id: str, before: UsageBilledState, after: UsageBilledState
    ) -> None:
        record = UsageBilledRecord(
            billing_pk(tenant_id), USAGE_BILLED_SK, version=after.version, counters=after.to_json()
        )
        condition = (
            UsageBilledRecord.pk.does_not_exist()
            if before.version == 0
            else UsageBilledRecord.version == before.version
        )
        tx.save(record, condition=condition)

    @staticmethod
    def _stage_number(tx: TransactWrite, numbering: Numbering) -> None:
        counter = InvoiceNumberRecord(NUMBERS_PK, year_sk(numbering.year))
        condition = (
            InvoiceNumberRecord.last.does_not_exist()
            if numbering.expected_last == 0
            else InvoiceNumberRecord.last == numbering.expected_last
        )
        tx.update(
            counter,
            actions=[InvoiceNumberRecord.last.set(numbering.expected_last + 1)],
            condition=condition,
            return_values=ALL_OLD,
        )

    def _commit(
        self,
        stage: Callable[[TransactWrite], None],
        *,
        invoice_key: tuple[str, str] | None = None,
        settlement: Settlement | None = None,
    ) -> None:
        tx = transaction(self._connection)
        try:
            with tx:
                stage(tx)
        except TransactWriteError as error:
            failed = failed_items(tx, error)
            if not error.cancellation_reasons:
                raise
            conflict = CommitConflict(
                details={"reasons": [r.code if r else None for r in error.cancellation_reasons]}
            )
            for (pk, sk), item in failed.items():
                if sk.startswith("PERIOD#"):
                    conflict.claimed_by = (item.get("invoiceId") or {}).get("S") or "unknown"
                elif pk == NUMBERS_PK:
                    conflict.number_last = _n(item, "last") or 0
                elif sk == USAGE_BILLED_SK:
                    conflict.usage_billed = True
                elif invoice_key is not None and (pk, sk) == invoice_key:
                    conflict.invoice = True
                elif settlement is not None and (pk, sk) == DynamoSubscriptionRepository.key_of(
                    settlement.before
                ):
                    conflict.subscription = True
            conflict.other = not failed
            raise conflict from error


def _topic_of(event: DomainEvent) -> str:
    if is_audit_event(event):
        return topics.DOMAIN
    return topics.DOMAIN if event.type.startswith("subscription.") else topics.BILLING
