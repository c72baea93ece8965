"""The ledger (SPEC §7, ADR 0041), pure: which entry a billing event makes, and balances.

Append-only, one entry per (invoice, type): CHARGE when an invoice is finalized, PAYMENT when it is
paid (by hand or by a provider), CREDIT when a finalized invoice is voided; one REFUND per refund
(ADR 0060: a debit, it reverses part of a payment). ADJUSTMENT is reserved.
`balance = Σdebit − Σcredit` per currency.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from meterplex.billing import events
from meterplex.platform.clock import parse_iso
from meterplex.platform.events import DomainEvent

_ENTRY_NAMESPACE = uuid.UUID("8d7c4f1e-2b6a-4c39-a1f0-6e5d3b2a9c18")


class EntryType(StrEnum):
    CHARGE = "CHARGE"
    PAYMENT = "PAYMENT"
    CREDIT = "CREDIT"
    REFUND = "REFUND"  # a provider refunded part of a payment (payments, ADR 0060)
    ADJUSTMENT = "ADJUSTMENT"  # reserved


@dataclass(frozen=True)
class LedgerEntry:
    id: str
    tenant_id: str
    type: EntryType
    description: str
    debit: int
    credit: int
    currency: str
    invoice_id: str | None
    invoice_number: str | None
    created_at: datetime


@dataclass(frozen=True)
class Balance:
    currency: str
    debit: int = 0
    credit: int = 0
    charged: int = 0
    paid: int = 0

    @property
    def balance(self) -> int:
        return self.debit - self.credit


def entry_id(invoice_id: str, type_: EntryType) -> str:
    """Deterministic: every delivery of one transition names the same entry."""
    return str(uuid.uuid5(_ENTRY_NAMESPACE, f"{invoice_id}\x00{type_.value}"))


def _field(changes: dict[str, Any], name: str, kind: type) -> Any:
    value = changes.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"billing event data.changes.{name} must be a {kind.__name__}")
    return value


def entry_for(event: DomainEvent) -> LedgerEntry | None:
    """The ledger entry a billing event makes (None: it makes none); ValueError if malformed."""
    if event.type not in {events.FINALIZED, events.PAID, events.VOIDED, events.REFUNDED}:
        return None
    changes = (event.data or {}).get("changes") if isinstance(event.data, dict) else None
    if not isinstance(changes, dict):
        raise ValueError("billing event data.changes must be an object")
    if event.type == events.REFUNDED:
        return _refund_entry(event, changes)
    invoice_id = _field(changes, "id", str)
    total = _field(changes, "total", int)
    currency = _field(changes, "currency", str)
    number = changes.get("invoiceNumber") or invoice_id
    if event.type == events.FINALIZED:
        type_, debit, credit, text = EntryType.CHARGE, total, 0, f"Invoice {number}"
    elif event.type == events.PAID:
        type_, debit, credit, text = EntryType.PAYMENT, 0, total, f"Payment of invoice {number}"
    elif changes.get("previousStatus") == "FINALIZED":
        type_, debit, credit, text = EntryType.CREDIT, 0, total, f"Credit: invoice {number} voided"
    else:
        return None  # a DRAFT voided: nothing was charged
    return LedgerEntry(
        id=entry_id(invoice_id, type_),
        tenant_id=event.tenantId,
        type=type_,
        description=text,
        debit=debit,
        credit=credit,
        currency=currency,
        invoice_id=invoice_id,
        invoice_number=changes.get("invoiceNumber"),
        created_at=parse_iso(event.occurredAt),
    )


def _refund_entry(event: DomainEvent, changes: dict[str, Any]) -> LedgerEntry:
    """`payment.refunded` → one REFUND per refund id (a refund is partial: several per invoice)."""
    refund_id = _field(changes, "refundId", str)
    amount = _field(changes, "amount", int)
    number = changes.get("invoiceNumber") or changes.get("invoiceId")
    return LedgerEntry(
        id=entry_id(refund_id, EntryType.REFUND),
        tenant_id=event.tenantId,
        type=EntryType.REFUND,
        description=f"Refund of invoice {number}",
        debit=amount,
        credit=0,
        currency=_field(changes, "currency", str),
        invoice_id=changes.get("invoiceId"),
        invoice_number=changes.get("invoiceNumber"),
        created_at=parse_iso(event.occurredAt),
    )
