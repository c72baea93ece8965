"""Billing's messages (docs/events.md), pure.

* `meterplex.billing.v1` — the invoice lifecycle (`invoice.created|finalized|paid|voided`), from the
  outbox of the transaction that made the change; `ledger_writer` turns them into ledger entries.
* `meterplex.invoicing.v1` — `invoice.due` work items from `billing_scheduler` to `invoice_worker`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from meterplex.billing.models import Invoice, InvoiceStatus
from meterplex.platform import audit
from meterplex.platform.audit import Actor
from meterplex.platform.clock import iso, parse_iso
from meterplex.platform.events import ENVELOPE_VERSION, DomainEvent

RESOURCE = "invoice"
CREATED = "invoice.created"
FINALIZED = "invoice.finalized"
PAID = "invoice.paid"
VOIDED = "invoice.voided"
DUE = "invoice.due"
REFUNDED = "payment.refunded"  # a provider refund succeeded (payments, ADR 0060) → ledger REFUND
_DUE_NAMESPACE = uuid.UUID("0b4e5a3c-0f6e-4f51-9d7c-5b2c8e7a1d40")


def _iso(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None


def invoice_fields(invoice: Invoice, previous: InvoiceStatus | None) -> dict[str, Any]:
    """The invoice as billing events carry it (schema version 1): no line items."""
    return {
        "id": invoice.id,
        "invoiceNumber": invoice.invoice_number,
        "status": invoice.status.value,
        "previousStatus": previous.value if previous else None,
        "subscriptionId": invoice.subscription_id,
        "kind": invoice.kind.value,
        "source": invoice.source.value,
        "currency": invoice.currency,
        "subtotal": invoice.subtotal,
        "total": invoice.total,
        "periodStart": iso(invoice.period_start),
        "periodEnd": iso(invoice.period_end),
        "dueDate": _iso(invoice.due_date),
        "finalizedAt": _iso(invoice.finalized_at),
        "paidAt": _iso(invoice.paid_at),
        "voidedAt": _iso(invoice.voided_at),
    }


def invoice_event(
    type_: str,
    invoice: Invoice,
    at: datetime,
    *,
    previous: InvoiceStatus | None = None,
    actor: str = "system",
) -> DomainEvent:
    return DomainEvent.new(
        type_,
        tenant_id=invoice.tenant_id,
        at=at,
        actor=actor,
        data={"resource": RESOURCE, "resourceId": invoice.id, "changes": invoice_fields(invoice, previous)},
    )


def invoice_audit(type_: str, actor: Actor, before: Invoice | None, after: Invoice) -> DomainEvent:
    """The audit event of an invoice write (generate, finalize, mark-paid, void), ADR 0090."""
    return audit.event(
        type_,
        actor=actor,
        tenant_id=after.tenant_id,
        resource=RESOURCE,
        resource_id=after.id,
        action="generate" if before is None else None,
        before=invoice_fields(before, None) if before is not None else None,
        after=invoice_fields(after, before.status if before is not None else None),
    )


@dataclass(frozen=True)
class InvoiceDue:
    """An `invoice.due` work item: settle this subscription up to `as_of` (the run's time)."""

    tenant_id: str
    subscription_id: str
    due_at: datetime
    as_of: datetime

    def envelope(self) -> DomainEvent:
        # Deterministic per (subscription, run time): a retried run publishes the same message id.
        message_id = uuid.uuid5(
            _DUE_NAMESPACE, f"{self.tenant_id}\x00{self.subscription_id}\x00{iso(self.as_of)}"
        )
        return DomainEvent(
            type=DUE,
            tenantId=self.tenant_id,
            occurredAt=iso(self.as_of),
            data={"subscriptionId": self.subscription_id, "dueAt": iso(self.due_at), "asOf": iso(self.as_of)},
            id=str(message_id),
            version=ENVELOPE_VERSION,
        )


def invoice_due_from(event: DomainEvent) -> InvoiceDue:
    """Parse an `invoice.due` message; ValueError (poison) when it is not one."""
    if event.type != DUE or event.version != ENVELOPE_VERSION:
        raise ValueError(f"not an {DUE} v{ENVELOPE_VERSION} message: {event.type!r} v{event.version!r}")
    data = event.data if isinstance(event.data, dict) else {}
    subscription_id = data.get("subscriptionId")
    if not isinstance(subscription_id, str) or not subscription_id or not event.tenantId:
        raise ValueError("invoice.due needs tenantId and data.subscriptionId")
    try:
        return InvoiceDue(event.tenantId, subscription_id, parse_iso(data["dueAt"]), parse_iso(data["asOf"]))
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"invoice.due needs data.dueAt and data.asOf: {error}") from error
