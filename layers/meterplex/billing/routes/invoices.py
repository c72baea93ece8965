"""/api/v1/invoices (SPEC §7): read (OWNER/ADMIN/BILLING), generate and move through the state
machine (OWNER/ADMIN). Another tenant's invoice is 404."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from meterplex.billing.dependencies import billing_service
from meterplex.billing.schemas import (
    GenerateRequest,
    InvoiceOut,
    InvoicePage,
    LineItemsOut,
    invoice_out,
    line_out,
)
from meterplex.platform.api import AUTH_TENANT, actor_of, principal_of, tenant_header_of
from meterplex.platform.audit import Actor
from meterplex.platform.auth import MANAGERS, Role, TenantAccess, tenant_access
from meterplex.platform.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    PageLimit,
    PageNumber,
    page_of,
)

router = Router()
TAGS = ["Invoices"]
READERS = MANAGERS | {Role.BILLING}
InvoiceId = Annotated[str, Path(min_length=1, max_length=100, description="The invoice's id")]


def _access(*, manage: bool) -> TenantAccess:
    return tenant_access(
        principal_of(router), tenant_header_of(router), roles=MANAGERS if manage else READERS
    )


def _writer() -> tuple[str, Actor]:
    """The tenant an OWNER/ADMIN writes to, and who they are (for the audit trail)."""
    access = _access(manage=True)
    return access.tenant_id, actor_of(router, access.principal)


@router.get(
    "/api/v1/invoices",
    summary="The tenant's invoices, newest first (cursor; `page` reads the pages before it)",
    tags=TAGS,
    security=AUTH_TENANT,
)
def list_invoices(
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[PageLimit, Query()] = DEFAULT_LIMIT,
    page: Annotated[PageNumber | None, Query()] = None,
) -> InvoicePage:
    tenant_id = _access(manage=False).tenant_id
    invoices, meta = page_of(
        lambda key, n: billing_service().invoices(tenant_id, key, n), cursor=cursor, limit=limit, page=page
    )
    return InvoicePage(data=[invoice_out(i) for i in invoices], meta=meta)


@router.get(
    "/api/v1/invoices/<invoiceId>", summary="An invoice with its line items", tags=TAGS, security=AUTH_TENANT
)
def get_invoice(invoiceId: InvoiceId) -> InvoiceOut:
    return invoice_out(billing_service().invoice(_access(manage=False).tenant_id, invoiceId))


@router.get(
    "/api/v1/invoices/<invoiceId>/line-items",
    summary="An invoice's line items only",
    tags=TAGS,
    security=AUTH_TENANT,
)
def get_line_items(invoiceId: InvoiceId) -> LineItemsOut:
    invoice = billing_service().invoice(_access(manage=False).tenant_id, invoiceId)
    return LineItemsOut(
        data=[line_out(line) for line in sorted(invoice.line_items, key=lambda x: x.sort_order)]
    )


@router.post(
    "/api/v1/invoices/generate",
    summary="Generate a DRAFT invoice: full for the live subscription's period, prorated for a "
    "cancelled one's last period; 409 with the existing invoiceId if that period is invoiced",
    tags=TAGS,
    security=AUTH_TENANT,
    status_code=201,
    responses={201: {"description": "The DRAFT invoice"}},
)
def generate_invoice(body: Annotated[GenerateRequest | None, Body()] = None) -> Response[InvoiceOut]:
    access = _access(manage=True)
    request = body or GenerateRequest()
    invoice = billing_service().generate(
        access.tenant_id, request.subscription_id, actor=actor_of(router, access.principal)
    )
    return Response(status_code=201, content_type="application/json", body=invoice_out(invoice))


@router.post(
    "/api/v1/invoices/<invoiceId>/finalize",
    summary="DRAFT → FINALIZED: number INV-YYYY-NNNN, due in 30 days, ledger CHARGE",
    tags=TAGS,
    security=AUTH_TENANT,
)
def finalize_invoice(invoiceId: InvoiceId) -> InvoiceOut:
    access = _access(manage=True)
    return invoice_out(
        billing_service().finalize(access.tenant_id, invoiceId, actor=actor_of(router, access.principal))
    )


@router.post(
    "/api/v1/invoices/<invoiceId>/mark-paid",
    summary="FINALIZED → PAID: ledger PAYMENT",
    tags=TAGS,
    security=AUTH_TENANT,
)
def mark_invoice_paid(invoiceId: InvoiceId) -> InvoiceOut:
    access = _access(manage=True)
    return invoice_out(
        billing_service().mark_paid(access.tenant_id, invoiceId, actor=actor_of(router, access.principal))
    )


@router.post(
    "/api/v1/invoices/<invoiceId>/void",
    summary="DRAFT or FINALIZED → VOID (a finalized one: ledger CREDIT)",
    tags=TAGS,
    security=AUTH_TENANT,
)
def void_invoice(invoiceId: InvoiceId) -> InvoiceOut:
    access = _access(manage=True)
    return invoice_out(
        billing_service().void(access.tenant_id, invoiceId, actor=actor_of(router, access.principal))
    )
