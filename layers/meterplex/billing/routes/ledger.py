"""/api/v1/billing/ledger and /api/v1/billing/balance (SPEC §7): OWNER, ADMIN, BILLING."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from meterplex.billing.dependencies import ledger
from meterplex.billing.schemas import BalanceOut, LedgerPage, balance_out, entry_out
from meterplex.platform.api import AUTH_TENANT, principal_of, tenant_header_of
from meterplex.platform.auth import MANAGERS, Role, tenant_access
from meterplex.platform.clock import business_clock
from meterplex.platform.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    PageLimit,
    PageNumber,
    page_of,
)

router = Router()
TAGS = ["Billing"]
READERS = MANAGERS | {Role.BILLING}


def _tenant_id() -> str:
    return tenant_access(principal_of(router), tenant_header_of(router), roles=READERS).tenant_id


@router.get(
    "/api/v1/billing/ledger",
    summary="Ledger entries, newest first (cursor; `page` reads the pages before it)",
    tags=TAGS,
    security=AUTH_TENANT,
)
def list_ledger(
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[PageLimit, Query()] = DEFAULT_LIMIT,
    page: Annotated[PageNumber | None, Query()] = None,
) -> LedgerPage:
    tenant_id = _tenant_id()
    entries, meta = page_of(
        lambda key, n: ledger().entries(tenant_id, key, n), cursor=cursor, limit=limit, page=page
    )
    return LedgerPage(data=[entry_out(e) for e in entries], meta=meta)


@router.get(
    "/api/v1/billing/balance",
    summary="The tenant's balance per currency (Σ debit − Σ credit)",
    tags=TAGS,
    security=AUTH_TENANT,
)
def get_balance() -> BalanceOut:
    tenant_id = _tenant_id()
    balances = [balance_out(b) for b in ledger().balances(tenant_id)]
    return BalanceOut(tenant_id=tenant_id, balances=balances, as_of=business_clock.now())
