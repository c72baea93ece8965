"""The test clock's state: one item of the core table (ADR 0050), raw botocore like the hot path.

`read()` is what every function pays when the test clock is on: one strongly consistent GetItem
(1 RCU) per invocation. The other operations belong to `admin_api`'s advance and reset: a lease
taken with a conditional write keeps two advances from interleaving, and every state written
during an advance is conditional on holding it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import botocore.session
from botocore.exceptions import ClientError

from meterplex.platform.clock import ClockState, iso, parse_iso
from meterplex.platform.errors import Conflict
from meterplex.platform.settings import CoreTableSettings, load

CLOCK_KEY = {"pk": {"S": "CLOCK"}, "sk": {"S": "CLOCK"}}
CONDITION_FAILED = "ConditionalCheckFailedException"


class Attr:
    FROZEN_AT = "frozenAt"
    OFFSET_MS = "offsetMs"
    FIRED_THROUGH = "firedThrough"
    LEASE_OWNER = "leaseOwner"
    LEASE_UNTIL = "leaseUntil"  # epoch seconds, real time


_NAMES = {
    "#frozen": Attr.FROZEN_AT,
    "#offset": Attr.OFFSET_MS,
    "#fired": Attr.FIRED_THROUGH,
    "#owner": Attr.LEASE_OWNER,
    "#until": Attr.LEASE_UNTIL,
}
_FREE = "attribute_not_exists(#until) OR #until < :now"


def clock_busy() -> Conflict:
    return Conflict("Another clock advance is in progress; try again when it has finished", code="CLOCK_BUSY")


@dataclass(frozen=True)
class ClockRecord:
    """The whole item: the state, how far schedules have fired, and the advance lease."""

    state: ClockState
    fired_through: datetime | None = None
    lease_owner: str | None = None
    lease_until: int = 0

    def leased(self, now_epoch: int) -> bool:
        return self.lease_owner is not None and self.lease_until >= now_epoch

    def running_time(self, real: datetime) -> datetime | None:
        """Business now for a wall-clock scheduler; None while frozen or while an advance runs."""
        if self.state.frozen or self.leased(int(real.timestamp())):
            return None
        return self.state.business_time(real)


@cache
def _client() -> Any:
    return botocore.session.get_session().create_client("dynamodb")


def _state_of(item: dict[str, Any]) -> ClockState:
    frozen = item.get(Attr.FROZEN_AT, {}).get("S")
    offset_ms = int(item.get(Attr.OFFSET_MS, {}).get("N", "0"))
    return ClockState(
        frozen_at=parse_iso(frozen) if frozen else None, offset=timedelta(milliseconds=offset_ms)
    )


def _record_of(item: dict[str, Any]) -> ClockRecord:
    fired = item.get(Attr.FIRED_THROUGH, {}).get("S")
    return ClockRecord(
        state=_state_of(item),
        fired_through=parse_iso(fired) if fired else None,
        lease_owner=item.get(Attr.LEASE_OWNER, {}).get("S"),
        lease_until=int(item.get(Attr.LEASE_UNTIL, {}).get("N", "0")),
    )


def _state_update(state: ClockState) -> tuple[str, dict[str, Any]]:
    """SET/REMOVE clauses that make the item hold `state`."""
    if state.frozen_at is not None:
        return "SET #frozen = :frozen", {":frozen": {"S": iso(state.frozen_at)}}
    offset_ms = int(state.offset / timedelta(milliseconds=1))
    return "SET #offset = :offset", {":offset": {"N": str(offset_ms)}}


class ClockStore:
    def __init__(self, client: Any | None = None, table: str | None = None) -> None:
        self.client = client or _client()
        self.table = table or load(CoreTableSettings).core_table

    # -- every function ------------------------------------------------------------------
    def read(self) -> ClockState:
        """The state (real time when there is no item): one strongly consistent GetItem."""
        return self.read_record().state

    def read_record(self) -> ClockRecord:
        response = self.client.get_item(TableName=self.table, Key=CLOCK_KEY, ConsistentRead=True)
        return _record_of(response.get("Item") or {})

    # -- admin_api -------------------------------------------------------------------------
    def acquire(self, owner: str, *, until_epoch: int, now_epoch: int) -> ClockRecord:
        """Take the advance lease (409 CLOCK_BUSY while another advance holds it)."""
        try:
            response = self.client.update_item(
                TableName=self.table,
                Key=CLOCK_KEY,
                UpdateExpression="SET #owner = :owner, #until = :until",
                ConditionExpression=_FREE,
                ExpressionAttributeNames={"#owner": Attr.LEASE_OWNER, "#until": Attr.LEASE_UNTIL},
                ExpressionAttributeValues={
                    ":owner": {"S": owner},
                    ":until": {"N": str(until_epoch)},
                    ":now": {"N": str(now_epoch)},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            raise self._busy_or(error) from error
        return _record_of(response["Attributes"])

    def move(self, owner: str, *, frozen_at: datetime, fired_through: datetime) -> None:
        """Freeze the clock at a fire time during an advance (still holding the lease)."""
        self._owned_update(
            "SET #frozen = :frozen, #fired = :fired REMOVE #offset",
            {":frozen": {"S": iso(frozen_at)}, ":fired": {"S": iso(fired_through)}, ":owner": {"S": owner}},
        )

    def finish(self, owner: str, *, state: ClockState, fired_through: datetime) -> None:
        """Set the final state, record how far schedules fired, and release the lease."""
        update, values = _state_update(state)
        stale = "#offset" if state.frozen else "#frozen"
        update += f", #fired = :fired REMOVE {stale}, #owner, #until"
        values |= {":fired": {"S": iso(fired_through)}, ":owner": {"S": owner}}
        self._owned_update(update, values)

    def release(self, owner: str) -> None:
        """Give the lease back, keeping the state (an advance that failed midway)."""
        self._owned_update("REMOVE #owner, #until", {":owner": {"S": owner}})

    def reset(self, *, now_epoch: int) -> None:
        """Back to real time: delete the item (409 CLOCK_BUSY while an advance runs)."""
        try:
            self.client.delete_item(
                TableName=self.table,
                Key=CLOCK_KEY,
                ConditionExpression=_FREE,
                ExpressionAttributeNames={"#until": Attr.LEASE_UNTIL},
                ExpressionAttributeValues={":now": {"N": str(now_epoch)}},
            )
        except ClientError as error:
            raise self._busy_or(error) from error

    def _owned_update(self, update: str, values: dict[str, Any]) -> None:
        names = {k: v for k, v in _NAMES.items() if k in update or k == "#owner"}
        try:
            self.client.update_item(
                TableName=self.table,
                Key=CLOCK_KEY,
                UpdateExpression=update,
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            raise self._busy_or(error) from error

    @staticmethod
    def _busy_or(error: ClientError) -> Exception:
        if error.response.get("Error", {}).get("Code") == CONDITION_FAILED:
            return clock_busy()
        return error
