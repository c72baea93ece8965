"""The usage table: one item per accepted event, written once (raw botocore, ADR 0020, ADR 0070).

`store_new` writes candidates with `BatchExecuteStatement`, 25 PartiQL `INSERT`s per call, up to
`PARALLEL_CALLS` calls at once (a request of 1,000 events is 40 calls: in parallel, one round trip
of latency instead of 40; each call runs in a copy of the caller's context). An
INSERT writes its item only if no item has its key — the key is the dedup marker for as long as the
item lives (TTL) — and answers `DuplicateItem` otherwise, each statement on its own and atomically:
exactly one of two requests racing with one event id stores it. Not a transaction: 1 write unit
per event (a transactional put costs 2), 0.04 calls per event. Statements refused for being busy
(throttling, conflicts) are sent again; what is still busy after that is the batch's 503.
"""

from __future__ import annotations

import contextvars
import random
import re
import time
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

from meterplex.platform.clock import parse_iso
from meterplex.platform.dynamodb import dynamodb_client
from meterplex.platform.dynamodb_errors import TRANSIENT_REASONS
from meterplex.platform.errors import Unavailable
from meterplex.platform.observability import current_trace_header
from meterplex.subscriptions.history import TenantSubscriptions
from meterplex.usage.items import usage_item
from meterplex.usage.keys import SHARED_ATTRIBUTES
from meterplex.usage.models import UsageRecord
from meterplex.usage.rules import SubscriptionSpan, span_of

MAX_STATEMENTS = 25  # DynamoDB's BatchExecuteStatement limit
PARALLEL_CALLS = 4  # within botocore's 10 pooled connections per client
MAX_ATTEMPTS = 5  # per chunk: statements refused as busy are sent again
DEDUP_MARGIN = timedelta(days=1)  # TTL = received + late window + margin (ADR 0020)
DUPLICATE = "DuplicateItem"  # an INSERT whose key exists: the event was stored before
# BatchStatementError codes that say "busy", not "refused": the statement may be sent again.
BUSY = TRANSIENT_REASONS | {"InternalServerError"}
_NUMBER = re.compile(r"-?\d+")  # the numbers spelled as literals: ours are integers


def insert(table: str, item: dict[str, Any], literals: Collection[str] = ()) -> dict[str, Any]:
    """A PartiQL INSERT of `item` (DynamoDB JSON): DuplicateItem if its key exists.

    Each value is a `?` parameter, except a string or number named in `literals`: spelled in the
    statement instead (a string in single quotes, each quote in it doubled — PartiQL's one escape;
    a number as its digits). botocore then walks only the parameters: the attributes a request's
    events share cost their serialization once per text, not once per event (ADR 0117)."""
    members: list[str] = []
    parameters: list[dict[str, Any]] = []
    for name, value in item.items():
        spelled = _literal(value) if name in literals else None
        if spelled is None:
            members.append(f"{_quoted(name)}: ?")
            parameters.append(value)
        else:
            members.append(f"{_quoted(name)}: {spelled}")
    statement: dict[str, Any] = {"Statement": f'INSERT INTO "{table}" VALUE {{{", ".join(members)}}}'}
    if parameters:
        statement["Parameters"] = parameters
    return statement


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _literal(value: dict[str, Any]) -> str | None:
    """A string or number value as a PartiQL literal; None for anything else (a parameter)."""
    if set(value) == {"S"} and isinstance(value["S"], str):
        return _quoted(value["S"])
    if set(value) == {"N"} and isinstance(value["N"], str) and _NUMBER.fullmatch(value["N"]):
        return value["N"]
    return None


class UsageEventStore:
    def __init__(self, table: str, client: Any | None = None, *, late_window: timedelta) -> None:
        self.client = client or dynamodb_client()
        self.table = table
        self.late_window = late_window
        self._pool = ThreadPoolExecutor(max_workers=PARALLEL_CALLS, thread_name_prefix="usage-store")

    def store_new(self, records: Sequence[UsageRecord]) -> set[str]:
        """Write every record not stored before; the event ids that were (the duplicates)."""
        chunks = [
            list(records[first : first + MAX_STATEMENTS]) for first in range(0, len(records), MAX_STATEMENTS)
        ]
        if len(chunks) == 1:
            return self._store_chunk(chunks[0])
        futures = [self._pool.submit(contextvars.copy_context().run, self._store_chunk, c) for c in chunks]
        duplicates: set[str] = set()
        for future in futures:  # every call is waited for, even after one failed
            error = future.exception()
            if error is not None:
                for rest in futures:
                    rest.exception()
                raise error
            duplicates |= future.result()
        return duplicates

    def _store_chunk(self, pending: list[UsageRecord]) -> set[str]:
        duplicates: set[str] = set()
        trace_header = current_trace_header()
        for attempt in range(MAX_ATTEMPTS):
            statements = [
                insert(
                    self.table,
                    usage_item(r, parse_iso(r.received_at) + self.late_window + DEDUP_MARGIN, trace_header),
                    SHARED_ATTRIBUTES,
                )
                for r in pending
            ]
            answers = self.client.batch_execute_statement(Statements=statements).get("Responses") or []
            if len(answers) != len(pending):
                raise RuntimeError(
                    f"BatchExecuteStatement answered {len(answers)} of {len(pending)} statements"
                )
            busy: list[UsageRecord] = []
            for record, answer in zip(pending, answers, strict=True):
                code = (answer.get("Error") or {}).get("Code")
                if code is None:
                    continue
                if code == DUPLICATE:
                    duplicates.add(record.event_id)
                elif code in BUSY:
                    busy.append(record)
                else:
                    message = (answer.get("Error") or {}).get("Message")
                    raise RuntimeError(f"usage event {record.event_id!r} refused: {code} {message}")
            if not busy:
                return duplicates
            pending = busy
            time.sleep(0.02 * (2**attempt))  # busy: back off before sending them again
        # busy every time: the client resends the batch (what was stored is then a duplicate)
        raise Unavailable(
            f"{len(pending)} usage events could not be stored (busy); retry the batch", retry_after_s=1
        )


class SubscriptionSpans:
    """The tenant's subscriptions as usage spans: ONE Query of its subscription collection."""

    def __init__(self, table: str, client: Any | None = None) -> None:
        self.subscriptions = TenantSubscriptions(table, client)

    def of_tenant(self, tenant_id: str) -> list[SubscriptionSpan]:
        return [span_of(sub) for sub in self.subscriptions.of_tenant(tenant_id)]


TALLY_SHARDS = 8  # the daily tally's items: ingest's updates never concentrate on one partition
TALLY_TTL = timedelta(days=40)


def tally_key(day: date, shard: int) -> dict[str, Any]:
    return {"pk": {"S": f"STATS#ACCEPTED#{day.isoformat()}#{shard}"}, "sk": {"S": "TALLY"}}


class AcceptedTally:
    """Usage events accepted per business day, for the admin overview: one UpdateItem (ADD) per
    ingest request on one of `TALLY_SHARDS` items, read back with one BatchGetItem. It is an
    operator figure, not the books: an update lost to a crash under-counts it (reconciliation
    is the exact check)."""

    def __init__(self, table: str, client: Any | None = None) -> None:
        self.client = client or dynamodb_client()
        self.table = table

    def add(self, day: date, accepted: int) -> None:
        if accepted <= 0:
            return
        expires = int(
            datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp() + TALLY_TTL.total_seconds()
        )
        self.client.update_item(
            TableName=self.table,
            Key=tally_key(day, random.randrange(TALLY_SHARDS)),  # noqa: S311 - spreads load
            UpdateExpression="ADD accepted :n SET expiresAt = :exp",
            ExpressionAttributeValues={":n": {"N": str(accepted)}, ":exp": {"N": str(expires)}},
        )

    def total(self, day: date) -> int:
        keys = [tally_key(day, shard) for shard in range(TALLY_SHARDS)]
        response = self.client.batch_get_item(
            RequestItems={self.table: {"Keys": keys, "ProjectionExpression": "accepted"}}
        )
        items = response.get("Responses", {}).get(self.table, [])
        return sum(int(item.get("accepted", {}).get("N", "0")) for item in items)
