"""Request and response bodies of the /admin dead-letter and overview routes."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from meterplex.platform.api import ApiModel, ApiResponse
from meterplex.platform.dead_letters import DeadLetterItem, DeadLetterStatus
from meterplex.platform.pagination import CursorMeta
from meterplex.reconciliation.schemas import RunOut


class DeadLetterOut(ApiResponse):
    id: str
    consumer: str = Field(description="The consumer (function) that failed: usage_aggregator, outbox_relay…")
    source: str = Field(
        description="Where the record came from: `<topic>-<partition>@<offset>`, `<table>@<seq>`…"
    )
    kind: str = Field(description="The record's trigger: kafka, stream or sqs")
    status: DeadLetterStatus
    reason: str = Field(description="Why it failed (the latest failure)")
    tenant_id: str | None
    payload: str = Field(description="The message itself, readable")
    record: dict[str, Any] | None = Field(
        description="The record as the consumer received it (what a retry re-delivers)"
    )
    failures: int
    retries: int
    failed_at: str
    updated_at: str | None
    discard_reason: str | None


class DeadLetterPage(ApiResponse):
    data: list[DeadLetterOut]
    meta: CursorMeta


class DiscardRequest(ApiModel):
    reason: Annotated[str, Field(min_length=1, max_length=1000, description="Why it never needs processing")]


def dead_letter_out(item: DeadLetterItem) -> DeadLetterOut:
    import json

    return DeadLetterOut(
        id=item.id,
        consumer=item.consumer,
        source=item.source,
        kind=item.kind or "kafka",
        status=item.current_status,
        reason=item.reason,
        tenant_id=item.tenantId,
        payload=item.payload,
        record=json.loads(item.record) if item.record else None,
        failures=int(item.failures or 1),
        retries=int(item.retries or 0),
        failed_at=item.failedAt,
        updated_at=item.updatedAt,
        discard_reason=item.discardReason,
    )


class CountByName(ApiResponse):
    name: str
    count: int


class PlanCount(ApiResponse):
    plan_id: str
    plan_slug: str
    count: int = Field(description="ACTIVE and TRIALING subscriptions on the plan")


class Money(ApiResponse):
    currency: str
    amount: int = Field(description="Integer cents")


class InvoiceTotals(ApiResponse):
    count: int
    amounts: list[Money] = Field(description="Σ total per currency, integer cents")


class OverviewOut(ApiResponse):
    as_of: str = Field(description="Business time the figures are taken at")
    tenants_by_status: dict[str, int] = Field(description="ACTIVE, SUSPENDED, CANCELLED → count")
    active_subscriptions_by_plan: list[PlanCount]
    mrr: list[Money] = Field(
        description="Monthly recurring revenue of ACTIVE subscriptions per currency (annual prices ÷ 12, "
        "rounded half up per subscription; trials count 0)"
    )
    usage_accepted_today: int = Field(
        description="Usage events accepted by ingest since 00:00 UTC (business day)"
    )
    invoices_outstanding: InvoiceTotals = Field(description="FINALIZED, not yet paid or voided")
    invoices_overdue: InvoiceTotals = Field(description="Outstanding and past their due date")
    dead_letters_open: int
    last_reconciliation: RunOut | None = Field(
        None,
        description="The newest finished reconciliation run (COMPLETED or FAILED), as the runs list shows "
        "it: what it read, re-drove and found; null until a run has finished",
    )
