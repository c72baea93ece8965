"""/api/v1/billing/payments (OWNER/ADMIN/BILLING) and POST /api/v1/invoices/{id}/refund (SPEC §8.2)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from meterplex.payments.dependencies import payments_service
from meterplex.payments.models import PaymentStatus
from meterplex.payments.schemas import (
    PaymentOut,
    PaymentPage,
    RefundOut,
    RefundRequest,
    payment_out,
    refund_out,
)
from meterplex.platform.api import AUTH_TENANT, actor_of, principal_of, tenant_header_of
from meterplex.platform.auth import MANAGERS, Role, tenant_access
from meterplex.platform.pagination import DEFAULT_LIMIT, Cursor, PageLimit, PageNumber, page_of

router = Router()
TAGS = ["Payments"]
READERS = MANAGERS | {Role.BILLING}
Id = Annotated[str, Path(min_length=1, max_length=100)]


def _tenant_id() -> str:
    return tenant_access(principal_of(router), tenant_header_of(router), roles=READERS).tenant_id


@router.get(
    "/api/v1/billing/payments",
    summary="Payment attempts, newest first (cursor; `page` reads the pages before it; `status` filters)",
    tags=TAGS,
    security=AUTH_TENANT,
)
def list_payments(
    status: Annotated[PaymentStatus | None, Query()] = None,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[PageLimit, Query()] = DEFAULT_LIMIT,
    page: Annotated[PageNumber | None, Query()] = None,
) -> PaymentPage:
    tenant_id = _tenant_id()
    payments, meta = page_of(
        lambda key, n: payments_service().payments(tenant_id, key, n, status),
        cursor=cursor,
        limit=limit,
        page=page,
    )
    return PaymentPage(data=[payment_out(p) for p in payments], meta=meta)


@router.get(
    "/api/v1/billing/payments/<paymentId>", summary="A payment attempt", tags=TAGS, security=AUTH_TENANT
)
def get_payment(paymentId: Id) -> PaymentOut:
    return payment_out(payments_service().payment(_tenant_id(), paymentId))


@router.post(
    "/api/v1/invoices/<invoiceId>/refund",
    summary="Refund a PAID invoice's payment, whole or in part (ledger REFUND once the provider confirms)",
    tags=TAGS,
    security=AUTH_TENANT,
    status_code=201,
    responses={201: {"description": "The refund, PENDING until the provider's answer is processed"}},
)
def refund_invoice(
    invoiceId: Id, body: Annotated[RefundRequest | None, Body()] = None
) -> Response[RefundOut]:
    access = tenant_access(principal_of(router), tenant_header_of(router), roles=READERS, write=True)
    actor = actor_of(router, access.principal)
    refund = payments_service().refund(access.tenant_id, invoiceId, (body or RefundRequest()).amount, actor)
    return Response(status_code=201, content_type="application/json", body=refund_out(refund))
