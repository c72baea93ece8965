"""The usage table: one item per accepted event, written once (raw botocore, ADR 0020).

`store_new` writes candidates in TransactWriteItems of ≤ 100 puts, each conditional on
`attribute_not_exists(pk)`: the key is the dedup marker for as long as the item lives (TTL). A
cancelled transaction says, per item, which condition failed: those events are duplicates; the
rest are written again (a conflict with a concurrent request is retried the same way).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from meterplex.platform.clock import parse_iso
from meterplex.platform.dynamodb import TRANSACTION_CANCELLED, dynamodb_client
from meterplex.platform.dynamodb_errors import TRANSIENT_REASONS
from meterplex.platform.errors import Unavailable
from meterplex.subscriptions.history import TenantSubscriptions
from meterplex.usage.items import usage_item
from meterplex.usage.models import UsageRecord
from meterplex.usage.rules import SubscriptionSpan, span_of

MAX_TRANSACT_ITEMS = 100  # DynamoDB's TransactWriteItems limit
MAX_ATTEMPTS = 5  # per chunk: conflicts with a concurrent request that sends the same ids
DEDUP_MARGIN = timedelta(days=1)  # TTL = received + late window + margin (ADR 0020)


class UsageEventStore:
    def __init__(self, table: str, client: Any | None = None, *, late_window: timedelta) -> None:
        self.client = client or dynamodb_client()
        self.table = table
        self.late_window = late_window

    def store_new(self, records: Sequence[UsageRecord]) -> set[str]:
        """Write every record not stored before; the event ids that were (the duplicates)."""
        duplicates: set[str] = set()
        for first in range(0, len(records), MAX_TRANSACT_ITEMS):
            duplicates |= self._store_chunk(list(records[first : first + MAX_TRANSACT_ITEMS]))
        return duplicates

    def _store_chunk(self, pending: list[UsageRecord]) -> set[str]:
        duplicates: set[str] = set()
        for attempt in range(MAX_ATTEMPTS):
            if not pending:
                break
            puts = [
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": usage_item(r, parse_iso(r.received_at) + self.late_window + DEDUP_MARGIN),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
                for r in pending
            ]
            try:
                self.client.transact_write_items(TransactItems=puts)
                return duplicates
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != TRANSACTION_CANCELLED:
                    raise
                reasons = error.response.get("CancellationReasons") or []
                if len(reasons) != len(pending):
                    raise  # cannot tell which item failed: let the caller retry the request
                retry: list[UsageRecord] = []
                for record, reason in zip(pending, reasons, strict=True):
                    code = reason.get("Code") or "None"
                    if code == "ConditionalCheckFailed":
                        duplicates.add(record.event_id)
                    elif code == "None" or code in TRANSIENT_REASONS:
                        retry.append(record)
                    else:
                        raise
                if retry and len(retry) == len(pending):
                    time.sleep(0.02 * (2**attempt))  # only conflicts: back off before retrying
                pending = retry
        if pending:  # conflicts every time: the client resends the batch (what was stored: duplicates)
            raise Unavailable(
                f"{len(pending)} usage events could not be stored (busy); retry the batch", retry_after_s=1
            )
        return duplicates


class SubscriptionSpans:
    """The tenant's subscriptions as usage spans: ONE Query of its subscription collection."""

    def __init__(self, table: str, client: Any | None = None) -> None:
        self.subscriptions = TenantSubscriptions(table, client)

    def of_tenant(self, tenant_id: str) -> list[SubscriptionSpan]:
        return [span_of(sub) for sub in self.subscriptions.of_tenant(tenant_id)]
