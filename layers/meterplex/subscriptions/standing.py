"""A tenant's payment standing (SPEC §8.2, ADR 0060): which of its invoices are in dunning, and
the worst level over them — ACTIVE (none), PAST_DUE, UNPAID.

One item per tenant, `TENANT#<t>#SUBS` / `STANDING`, beside its subscriptions: payments writes it
(in the transaction that moves an invoice's collection), subscriptions reads it (the status its
API shows, and the standing a plan change carries onto the new grants). Every write is
conditional on the version read. Key shapes live here only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.transactions import TransactWrite

from meterplex.entitlements.keys import PAST_DUE, UNPAID
from meterplex.platform.core_table import CoreItem
from meterplex.subscriptions.documents import subs_pk

STANDING_SK = "STANDING"
ACTIVE = "ACTIVE"
_RANK = {ACTIVE: 0, PAST_DUE: 1, UNPAID: 2}


class StandingRecord(CoreItem):
    level = UnicodeAttribute()
    invoices = UnicodeAttribute()  # JSON {invoiceId: PAST_DUE | UNPAID}
    version = NumberAttribute()


@dataclass(frozen=True)
class Standing:
    tenant_id: str
    invoices: dict[str, str] = field(default_factory=dict)
    version: int = 0  # 0: no item yet

    @property
    def level(self) -> str:
        return max(self.invoices.values(), key=_RANK.__getitem__, default=ACTIVE)

    @property
    def grant_value(self) -> str | None:
        """What the grants carry: None in good standing."""
        return None if self.level == ACTIVE else self.level

    def with_invoice(self, invoice_id: str, level: str | None) -> Standing:
        """`invoice_id` at `level` (None or ACTIVE: no longer in dunning)."""
        invoices = dict(self.invoices)
        if level in (None, ACTIVE):
            invoices.pop(invoice_id, None)
        else:
            invoices[invoice_id] = level
        return replace(self, invoices=invoices)


def standing_key(tenant_id: str) -> tuple[str, str]:
    return subs_pk(tenant_id), STANDING_SK


def from_record(tenant_id: str, record: StandingRecord | None) -> Standing:
    if record is None:
        return Standing(tenant_id)
    return Standing(tenant_id, json.loads(record.invoices), int(record.version))


def read_standing(tenant_id: str) -> Standing:
    try:
        record = StandingRecord.get(*standing_key(tenant_id), consistent_read=True)
    except StandingRecord.DoesNotExist:
        record = None
    return from_record(tenant_id, record)


def _unchanged(before: Standing) -> Any:
    return (
        StandingRecord.pk.does_not_exist()
        if before.version == 0
        else StandingRecord.version == before.version
    )


def stage_standing(tx: TransactWrite, before: Standing, after: Standing) -> None:
    """Write `after` iff the stored standing is still `before`."""
    pk, sk = standing_key(after.tenant_id)
    record = StandingRecord(
        pk,
        sk,
        level=after.level,
        invoices=json.dumps(after.invoices, separators=(",", ":"), sort_keys=True),
        version=before.version + 1,
    )
    tx.save(record, condition=_unchanged(before))


def stage_unchanged(tx: TransactWrite, seen: Standing) -> None:
    """A condition check: the standing is still what was read (a plan change copying it)."""
    tx.condition_check(StandingRecord, *standing_key(seen.tenant_id), condition=_unchanged(seen))


def shown_status(status: str, live: bool, level: str) -> str:
    """The status the API shows: a live subscription in dunning is PAST_DUE or UNPAID."""
    return level if live and level != ACTIVE else status
