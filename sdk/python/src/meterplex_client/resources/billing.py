"""Invoices, the ledger, the balance and payments (SPEC §7, §8.2)."""

from __future__ import annotations

from meterplex_client.endpoint import Args, M, Resource, endpoint
from meterplex_client.models.base import Page
from meterplex_client.models.billing import (
    Balance,
    GenerateInvoiceRequest,
    Invoice,
    LedgerEntry,
    LineItems,
    Payment,
    Refund,
    RefundRequest,
)
from meterplex_client.resources.paging import page_params


class Invoices(Resource[M]):
    @endpoint("GET", "/invoices", response=Page[Invoice])
    def list(
        self,
        *,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        page: int | None = None,
    ) -> Args:
        """The tenant's invoices, newest first; pass `meta.next_cursor` back as `cursor`."""
        return Args(params=page_params(page, limit, cursor, status=status))

    @endpoint("GET", "/invoices/{id}", response=Invoice)
    def get(self, invoice_id: str) -> Args:
        """An invoice with its line items."""
        return Args.of(invoice_id)

    @endpoint("GET", "/invoices/{id}/line-items", response=LineItems)
    def line_items(self, invoice_id: str) -> Args:
        return Args.of(invoice_id)

    @endpoint("POST", "/invoices/generate", response=Invoice, body=GenerateInvoiceRequest)
    def generate(self, *, subscription_id: str | None = None) -> Args:
        """Invoice the current period (full, or prorated after a cancel); 409 if it exists."""
        return Args(json=GenerateInvoiceRequest(subscription_id=subscription_id))

    @endpoint("POST", "/invoices/{id}/finalize", response=Invoice)
    def finalize(self, invoice_id: str) -> Args:
        """DRAFT → FINALIZED (numbered, due in 30 days)."""
        return Args.of(invoice_id)

    @endpoint("POST", "/invoices/{id}/mark-paid", response=Invoice)
    def mark_paid(self, invoice_id: str) -> Args:
        return Args.of(invoice_id)

    @endpoint("POST", "/invoices/{id}/refund", response=Refund, body=RefundRequest)
    def refund(self, invoice_id: str, *, amount: int | None = None) -> Args:
        """Refund a PAID invoice's payment (cents; default: all not refunded yet). OWNER/ADMIN/BILLING."""
        return Args.of(invoice_id, json=RefundRequest(amount=amount))

    @endpoint("POST", "/invoices/{id}/void", response=Invoice)
    def void(self, invoice_id: str) -> Args:
        return Args.of(invoice_id)


class Billing(Resource[M]):
    @endpoint("GET", "/billing/balance", response=Balance)
    def balance(self) -> Args:
        """Σ debit − Σ credit per currency, in cents."""
        return Args()

    @endpoint("GET", "/billing/ledger", response=Page[LedgerEntry])
    def ledger(self, *, limit: int | None = None, cursor: str | None = None, page: int | None = None) -> Args:
        return Args(params=page_params(page, limit, cursor))

    @endpoint("GET", "/billing/payments", response=Page[Payment])
    def payments(
        self,
        *,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        page: int | None = None,
    ) -> Args:
        return Args(params=page_params(page, limit, cursor, status=status))

    @endpoint("GET", "/billing/payments/{id}", response=Payment)
    def payment(self, payment_id: str) -> Args:
        return Args.of(payment_id)
