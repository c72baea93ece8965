"""The hot path's DynamoDB access: raw botocore calls on the core table, no model hydration.

Budget (SPEC §5, ADR 0011): a check is one GetItem; a consume is one conditional UpdateItem
(`room ≥ amount` for a HARD limit, so the limit is exact under any concurrency). With an
idempotency key (ADR 0035) it is one GetItem and one TransactWriteItems: the counter update,
conditional on the counter just read, and the key's claim carrying the answer it gets. A failed
condition returns the item as it was (`ReturnValuesOnConditionCheckFailure`), so telling "over
quota" from "not in plan" or "window has rolled" costs no extra read.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from meterplex.entitlements.grants import Claim, ConsumeRejected, CounterMoved, Grant
from meterplex.entitlements.keys import (
    COUNTER_SHARDS,
    DRAINING,
    GRANT_SK,
    HIGH_THROUGHPUT,
    IDEMPOTENCY_TTL_DAYS,
    NEVER_ENDS,
    UNPAID,
    Attr,
    consume_pk,
    consume_sk,
    grant_pk,
    shard_pk,
    window_sk,
)
from meterplex.platform.clock import epoch_s, iso
from meterplex.platform.dynamodb import CONDITION_FAILED, TRANSACTION_CANCELLED, dynamodb_client
from meterplex.platform.dynamodb_errors import retrying
from meterplex.platform.settings import CoreTableSettings, load

CHECK_FAILED = "ConditionalCheckFailed"  # a cancellation reason: that item's condition did not hold

# One UpdateItem for every kind of consume: the grant must be live, consumable, in its window, and
# (HARD only) have room. Non-existent attributes never satisfy a comparison, hence the explicit tests.
CONSUME_CONDITION = (
    "attribute_exists(pk) AND #type <> :boolean AND #ws <= :now AND #we > :now"
    " AND (attribute_not_exists(#ends) OR #ends > :now)"
    " AND (attribute_not_exists(#standing) OR #standing <> :unpaid)"
    " AND (attribute_not_exists(#behavior) OR #behavior = :soft OR #room >= :amount)"
)
# A keyed consume writes only if the counter is still what it read (a grant always has `used`; the
# first form also accepts an item written before that).
_UNCHANGED = {False: "#used = :seen", True: "(#used = :seen OR attribute_not_exists(#used))"}
CONSUME_NAMES = {
    "#type": Attr.FEATURE_TYPE,
    "#ws": Attr.WINDOW_START,
    "#we": Attr.WINDOW_END,
    "#ends": Attr.ENDS_AT,
    "#behavior": Attr.LIMIT_BEHAVIOR,
    "#room": Attr.ROOM,
    "#used": Attr.USED,
    "#consumed": Attr.CONSUMED,
    "#standing": Attr.STANDING,
}


def _s(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value["S"] if value and "S" in value else None


def _n(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name)
    return int(value["N"]) if value and "N" in value else None


def claim_from_item(item: dict[str, Any] | None) -> Claim | None:
    if not item:
        return None
    answer = _s(item, Attr.ANSWER)
    return Claim(
        feature_key=_s(item, Attr.FEATURE) or "",
        amount=_n(item, Attr.AMOUNT) or 0,
        answer=json.loads(answer) if answer else None,
    )


def grant_from_item(tenant_id: str, feature_key: str, item: dict[str, Any] | None) -> Grant | None:
    if not item:
        return None
    value = item.get(Attr.VALUE)
    return Grant(
        tenant_id=tenant_id,
        feature_key=feature_key,
        subscription_id=_s(item, Attr.SUBSCRIPTION_ID) or "",
        feature_type=_s(item, Attr.FEATURE_TYPE) or "",
        started_at=_s(item, Attr.STARTED_AT) or "",
        window_start=_s(item, Attr.WINDOW_START) or "",
        window_end=_s(item, Attr.WINDOW_END) or NEVER_ENDS,
        used=_n(item, Attr.USED) or 0,
        value=bool(value["BOOL"]) if value and "BOOL" in value else None,
        limit=_n(item, Attr.LIMIT),
        limit_behavior=_s(item, Attr.LIMIT_BEHAVIOR),
        overage_price=_n(item, Attr.OVERAGE_PRICE),
        included_amount=_n(item, Attr.INCLUDED_AMOUNT),
        reset_period=_s(item, Attr.RESET_PERIOD),
        trial_ends_at=_s(item, Attr.TRIAL_ENDS_AT),
        ends_at=_s(item, Attr.ENDS_AT),
        ingested=_n(item, Attr.INGESTED) or 0,
        consumed=_n(item, Attr.CONSUMED) or 0,
        throughput=_s(item, Attr.THROUGHPUT),
        standing=_s(item, Attr.STANDING),
    )


class GrantStore:
    def __init__(self, client: Any | None = None, table: str | None = None) -> None:
        self.client = client or dynamodb_client()
        self.table = table or load(CoreTableSettings).core_table

    @staticmethod
    def _key(tenant_id: str, feature_key: str) -> dict[str, Any]:
        return {"pk": {"S": grant_pk(tenant_id, feature_key)}, "sk": {"S": GRANT_SK}}

    def get(self, tenant_id: str, feature_key: str) -> Grant | None:
        response = self.client.get_item(
            TableName=self.table, Key=self._key(tenant_id, feature_key), ConsistentRead=True
        )
        return grant_from_item(tenant_id, feature_key, response.get("Item"))

    def _consume_update(self, tenant_id: str, feature_key: str, amount: int, now: datetime) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "Key": self._key(tenant_id, feature_key),
            "UpdateExpression": "ADD #used :amount, #consumed :amount, #room :minus",
            "ConditionExpression": CONSUME_CONDITION,
            "ExpressionAttributeNames": CONSUME_NAMES,
            "ExpressionAttributeValues": {
                ":amount": {"N": str(amount)},
                ":minus": {"N": str(-amount)},
                ":now": {"S": iso(now)},
                ":boolean": {"S": "BOOLEAN"},
                ":soft": {"S": "SOFT"},
                ":unpaid": {"S": UNPAID},
            },
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def add_usage(self, tenant_id: str, feature_key: str, amount: int, now: datetime) -> Grant:
        """Count `amount` units in the current window: ONE conditional UpdateItem."""
        try:
            response = retrying(
                lambda: self.client.update_item(
                    **self._consume_update(tenant_id, feature_key, amount, now), ReturnValues="ALL_NEW"
                )
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != CONDITION_FAILED:
                raise
            old = error.response.get("Item")
            grant = grant_from_item(tenant_id, feature_key, old) if old else self.get(tenant_id, feature_key)
            raise ConsumeRejected(grant) from error
        grant = grant_from_item(tenant_id, feature_key, response.get("Attributes"))
        assert grant is not None
        return grant

    def claim(self, tenant_id: str, idempotency_key: str) -> Claim | None:
        """The claim of `idempotency_key`, if that key was consumed: one GetItem."""
        response = self.client.get_item(
            TableName=self.table, Key=self._claim_key(tenant_id, idempotency_key), ConsistentRead=True
        )
        return claim_from_item(response.get("Item"))

    def add_usage_once(
        self, seen: Grant, amount: int, now: datetime, idempotency_key: str, answer: dict[str, Any]
    ) -> Claim | CounterMoved | None:
        """Count `amount` on the grant as it was read and claim the key with its `answer`: ONE
        TransactWriteItems, conditional on the counter still being `seen.used` (so `answer`, which
        reports `used` after this write, is exact) and on the key being new (ADR 0035).

        None: done. A `Claim`: the key was consumed before (nothing counted). `CounterMoved`: the
        grant changed since it was read (another consume, a roll, an end), nothing was written."""
        update = self._consume_update(seen.tenant_id, seen.feature_key, amount, now)
        update["ConditionExpression"] = f"({CONSUME_CONDITION}) AND {_UNCHANGED[seen.used == 0]}"
        update["ExpressionAttributeValues"][":seen"] = {"N": str(seen.used)}
        claim = {
            "TableName": self.table,
            "Item": {
                **self._claim_key(seen.tenant_id, idempotency_key),
                Attr.FEATURE: {"S": seen.feature_key},
                Attr.AMOUNT: {"N": str(amount)},
                Attr.ANSWER: {"S": json.dumps(answer, separators=(",", ":"))},
                Attr.EXPIRES_AT: {"N": str(epoch_s(now + timedelta(days=IDEMPOTENCY_TTL_DAYS)))},
            },
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        try:
            items = [{"Update": update}, {"Put": claim}]
            retrying(lambda: self.client.transact_write_items(TransactItems=items))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != TRANSACTION_CANCELLED:
                raise
            reasons = error.response.get("CancellationReasons") or [{}, {}]
            if reasons[1].get("Code") == CHECK_FAILED:
                return claim_from_item(reasons[1].get("Item")) or self.claim(seen.tenant_id, idempotency_key)
            if reasons[0].get("Code") != CHECK_FAILED:
                raise  # neither condition failed (`retrying` already resent conflicts): not a refusal
            old = reasons[0].get("Item")
            fresh = grant_from_item(seen.tenant_id, seen.feature_key, old) if old else None
            return CounterMoved(fresh or self.get(seen.tenant_id, seen.feature_key))
        return None

    @staticmethod
    def _claim_key(tenant_id: str, idempotency_key: str) -> dict[str, Any]:
        return {"pk": {"S": consume_pk(tenant_id)}, "sk": {"S": consume_sk(idempotency_key)}}

    def roll_window(self, grant: Grant, start: datetime, end: datetime | None) -> None:
        """Archive the grant's stale window and open the one containing now (once per window).

        Conditional on the grant still holding the stale window with the same count, so concurrent
        rollers and late additions cannot lose or double a unit; losing the race is fine.
        """
        key = self._key(grant.tenant_id, grant.feature_key)
        items: list[dict[str, Any]] = []
        if grant.used:
            items.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {
                            "pk": key["pk"],
                            "sk": {"S": window_sk(grant.subscription_id, grant.window_start)},
                        },
                        "UpdateExpression": "ADD #used :used, #ingested :ingested, #consumed :consumed"
                        " SET #we = :we",
                        "ExpressionAttributeNames": {
                            "#used": Attr.USED,
                            "#ingested": Attr.INGESTED,
                            "#consumed": Attr.CONSUMED,
                            "#we": Attr.WINDOW_END,
                        },
                        "ExpressionAttributeValues": {
                            ":used": {"N": str(grant.used)},
                            ":ingested": {"N": str(grant.ingested)},
                            ":consumed": {"N": str(grant.consumed)},
                            ":we": {"S": grant.window_end},
                        },
                    }
                }
            )
        items.append(
            {
                "Update": {
                    "TableName": self.table,
                    "Key": key,
                    "UpdateExpression": "SET #ws = :ws, #we = :we, #used = :zero, #room = :room"
                    " REMOVE #ingested, #consumed",
                    "ConditionExpression": "#ws = :old AND #used = :used AND #sub = :sub",
                    "ExpressionAttributeNames": {
                        "#ws": Attr.WINDOW_START,
                        "#we": Attr.WINDOW_END,
                        "#used": Attr.USED,
                        "#room": Attr.ROOM,
                        "#ingested": Attr.INGESTED,
                        "#consumed": Attr.CONSUMED,
                        "#sub": Attr.SUBSCRIPTION_ID,
                    },
                    "ExpressionAttributeValues": {
                        ":ws": {"S": iso(start)},
                        ":we": {"S": iso(end) if end else NEVER_ENDS},
                        ":zero": {"N": "0"},
                        ":room": {"N": str(grant.allowance)},
                        ":old": {"S": grant.window_start},
                        ":used": {"N": str(grant.used)},
                        ":sub": {"S": grant.subscription_id},
                    },
                }
            }
        )
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != TRANSACTION_CANCELLED:
                raise

    # -- the high-throughput path (ADR 0071) -----------------------------------------------------
    def set_throughput(self, tenant_id: str, feature_key: str, high: bool = True) -> Grant | None:
        """Switch a grant to the high-throughput path (or back, to DRAINING: its shards stay read):
        one UpdateItem; None: no grant."""
        change = "SET #tp = :mode"
        values = {":mode": {"S": HIGH_THROUGHPUT if high else DRAINING}}
        try:
            response = retrying(
                lambda: self.client.update_item(
                    TableName=self.table,
                    Key=self._key(tenant_id, feature_key),
                    UpdateExpression=change,
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeNames={"#tp": Attr.THROUGHPUT},
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                )
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != CONDITION_FAILED:
                raise
            return None
        return grant_from_item(tenant_id, feature_key, response.get("Attributes"))

    @staticmethod
    def _shard_key(grant: Grant, window_start: str, shard: int) -> dict[str, Any]:
        return {
            "pk": {"S": shard_pk(grant.tenant_id, grant.feature_key, shard)},
            "sk": {"S": window_sk(grant.subscription_id, window_start)},
        }

    def add_to_shard(self, grant: Grant, window_start: str, shard: int, amount: int) -> int:
        """Count `amount` on one counter shard of the grant's window: ONE UpdateItem (no condition:
        the caller checked the grant, at most a second old; ADR 0071). The shard's units after it."""
        response = retrying(
            lambda: self.client.update_item(
                TableName=self.table,
                Key=self._shard_key(grant, window_start, shard),
                UpdateExpression="ADD #used :amount, #consumed :amount",
                ExpressionAttributeNames={"#used": Attr.USED, "#consumed": Attr.CONSUMED},
                ExpressionAttributeValues={":amount": {"N": str(amount)}},
                ReturnValues="UPDATED_NEW",
            )
        )
        return int(response["Attributes"][Attr.USED]["N"])

    def with_shards(self, grant: Grant, window_start: str) -> tuple[Grant | None, list[int]]:
        """The grant and its window's shard counts, as one snapshot: ONE TransactGetItems."""
        keys = [self._key(grant.tenant_id, grant.feature_key)]
        keys += [self._shard_key(grant, window_start, shard) for shard in range(COUNTER_SHARDS)]
        response = retrying(
            lambda: self.client.transact_get_items(
                TransactItems=[{"Get": {"TableName": self.table, "Key": key}} for key in keys]
            )
        )
        answers = response.get("Responses", [])
        fresh = grant_from_item(grant.tenant_id, grant.feature_key, answers[0].get("Item"))
        return fresh, [_n(answer.get("Item") or {}, Attr.USED) or 0 for answer in answers[1:]]

    def give_back(self, grant: Grant, amount: int) -> bool:
        """Return `amount` leased units to the grant, iff it still holds the window and subscription
        they were taken from (else they stay counted in the closed window). ONE UpdateItem."""
        try:
            retrying(
                lambda: self.client.update_item(
                    TableName=self.table,
                    Key=self._key(grant.tenant_id, grant.feature_key),
                    UpdateExpression="ADD #used :minus, #consumed :minus, #room :amount",
                    ConditionExpression="#ws = :ws AND #sub = :sub",
                    ExpressionAttributeNames={
                        "#used": Attr.USED,
                        "#consumed": Attr.CONSUMED,
                        "#room": Attr.ROOM,
                        "#ws": Attr.WINDOW_START,
                        "#sub": Attr.SUBSCRIPTION_ID,
                    },
                    ExpressionAttributeValues={
                        ":minus": {"N": str(-amount)},
                        ":amount": {"N": str(amount)},
                        ":ws": {"S": grant.window_start},
                        ":sub": {"S": grant.subscription_id},
                    },
                )
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != CONDITION_FAILED:
                raise
            return False
        return True
