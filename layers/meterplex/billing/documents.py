"""An invoice as stored: its JSON document, mapped both ways (pure). The API schemas and the
events map from the domain type, not from this document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from meterplex.billing.models import (
    Invoice,
    InvoiceKind,
    InvoiceSource,
    InvoiceStatus,
    LineItem,
    LineKind,
    UsageBilled,
)
from meterplex.platform.clock import iso, parse_iso


def _iso(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None


def _dt(text: str | None) -> datetime | None:
    return parse_iso(text) if text else None


def to_document(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.id,
        "tenantId": invoice.tenant_id,
        "subscriptionId": invoice.subscription_id,
        "status": invoice.status.value,
        "kind": invoice.kind.value,
        "source": invoice.source.value,
        "currency": invoice.currency,
        "periodStart": iso(invoice.period_start),
        "periodEnd": iso(invoice.period_end),
        "createdAt": iso(invoice.created_at),
        "invoiceNumber": invoice.invoice_number,
        "dueDate": _iso(invoice.due_date),
        "finalizedAt": _iso(invoice.finalized_at),
        "paidAt": _iso(invoice.paid_at),
        "voidedAt": _iso(invoice.voided_at),
        "notes": invoice.notes,
        "lineItems": [
            {
                "kind": line.kind.value,
                "description": line.description,
                "featureLookupKey": line.feature_lookup_key,
                "quantity": line.quantity,
                "unitPriceMicroCents": line.unit_price_micro_cents,
                "amount": line.amount,
                "sortOrder": line.sort_order,
                "usage": [
                    {
                        "subscriptionId": u.subscription_id,
                        "feature": u.feature,
                        "windowStart": u.window_start,
                        "windowEnd": u.window_end,
                        "counted": u.counted,
                        "previouslyCounted": u.previously_counted,
                        "units": u.units,
                    }
                    for u in line.usage
                ],
            }
            for line in invoice.line_items
        ],
    }


def from_document(doc: dict[str, Any]) -> Invoice:
    return Invoice(
        id=doc["id"],
        tenant_id=doc["tenantId"],
        subscription_id=doc["subscriptionId"],
        status=InvoiceStatus(doc["status"]),
        kind=InvoiceKind(doc["kind"]),
        source=InvoiceSource(doc["source"]),
        currency=doc["currency"],
        period_start=parse_iso(doc["periodStart"]),
        period_end=parse_iso(doc["periodEnd"]),
        created_at=parse_iso(doc["createdAt"]),
        invoice_number=doc.get("invoiceNumber"),
        due_date=_dt(doc.get("dueDate")),
        finalized_at=_dt(doc.get("finalizedAt")),
        paid_at=_dt(doc.get("paidAt")),
        voided_at=_dt(doc.get("voidedAt")),
        notes=doc.get("notes"),
        line_items=tuple(
            LineItem(
                kind=LineKind(line["kind"]),
                description=line["description"],
                feature_lookup_key=line.get("featureLookupKey"),
                quantity=line["quantity"],
                unit_price_micro_cents=line["unitPriceMicroCents"],
                amount=line["amount"],
                sort_order=line["sortOrder"],
                usage=tuple(
                    UsageBilled(
                        subscription_id=u["subscriptionId"],
                        feature=u["feature"],
                        window_start=u["windowStart"],
                        window_end=u["windowEnd"],
                        counted=u["counted"],
                        previously_counted=u["previouslyCounted"],
                        units=u["units"],
                    )
                    for u in line.get("usage", [])
                ),
            )
            for line in doc.get("lineItems", [])
        ),
    )
