"""The catalog in the core table (key shapes: docs/data-model/catalog.md).

One PynamoDB model (`CatalogRecord`, discriminated by `kind`) so that one Query returns a whole item
collection — a plan with its prices, claims and entitlements. Uniqueness is a *claim item* written
in the same TransactWrite as the thing it guards, with `attribute_not_exists(pk)`; never
read-then-write.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from meterplex.catalog.models import (
    CatalogStatus,
    Entitlement,
    Feature,
    FeatureType,
    Interval,
    LimitBehavior,
    Plan,
    Price,
    ResetPeriod,
    Terms,
)
from meterplex.catalog.service import feature_archived, plan_archived
from meterplex.platform.clock import iso, parse_iso, system_clock
from meterplex.platform.core_table import GSI1, CoreItem, core_connection
from meterplex.platform.errors import Conflict, NotFound
from meterplex.platform.events import DomainEvent
from meterplex.platform.outbox import stage_events
from meterplex.platform.transactions import failed_keys, transaction

PLANS_GSI_PK = "CATALOG#PLANS"
FEATURES_GSI_PK = "CATALOG#FEATURES"
ENTITY_SK_PLAN = "#PLAN"
ENTITY_SK_FEATURE = "#FEATURE"
CLAIM_SK = "#CLAIM"


def plan_pk(plan_id: str) -> str:
    return f"PLAN#{plan_id}"


def feature_pk(feature_id: str) -> str:
    return f"FEATURE#{feature_id}"


def slug_claim_pk(slug: str) -> str:
    return f"PLANSLUG#{slug}"


def lookup_key_claim_pk(lookup_key: str) -> str:
    return f"FEATUREKEY#{lookup_key}"


def active_price_claim_sk(interval: str, currency: str) -> str:
    return f"ACTIVEPRICE#{interval}#{currency}"


def entitlement_claim_sk(feature_id: str) -> str:
    return f"ENTFEATURE#{feature_id}"


class CatalogRecord(CoreItem):
    """Every catalog item; `kind` says which, and which attributes are set."""

    kind = UnicodeAttribute()  # PLAN | PRICE | FEATURE | ENTITLEMENT | CLAIM
    id = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    slug = UnicodeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    isPublic = BooleanAttribute(null=True)
    displayOrder = NumberAttribute(null=True)
    metadata = UnicodeAttribute(null=True)  # JSON
    status = UnicodeAttribute(null=True)
    createdAt = UnicodeAttribute(null=True)
    updatedAt = UnicodeAttribute(null=True)
    planId = UnicodeAttribute(null=True)
    interval = UnicodeAttribute(null=True)
    amount = NumberAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    isActive = BooleanAttribute(null=True)
    deactivatedAt = UnicodeAttribute(null=True)
    lookupKey = UnicodeAttribute(null=True)
    type = UnicodeAttribute(null=True)
    unit = UnicodeAttribute(null=True)
    featureId = UnicodeAttribute(null=True)
    featureLookupKey = UnicodeAttribute(null=True)
    featureType = UnicodeAttribute(null=True)
    value = BooleanAttribute(null=True)
    limit = NumberAttribute(null=True)
    limitBehavior = UnicodeAttribute(null=True)
    overagePrice = NumberAttribute(null=True)
    includedAmount = NumberAttribute(null=True)
    resetPeriod = UnicodeAttribute(null=True)
    ownerId = UnicodeAttribute(null=True)


# -- mapping: domain ⇄ item ------------------------------------------------------------------
def _dt(text: str | None) -> datetime | None:
    return parse_iso(text) if text else None


def _req_dt(text: str | None) -> datetime:
    assert text is not None
    return parse_iso(text)


def plan_to_item(plan: Plan) -> CatalogRecord:
    return CatalogRecord(
        pk=plan_pk(plan.id),
        sk=ENTITY_SK_PLAN,
        kind="PLAN",
        gsi1pk=PLANS_GSI_PK,
        gsi1sk=f"{plan.slug}#",
        id=plan.id,
        name=plan.name,
        slug=plan.slug,
        description=plan.description,
        isPublic=plan.is_public,
        displayOrder=plan.display_order,
        metadata=json.dumps(plan.metadata),
        status=plan.status.value,
        createdAt=iso(plan.created_at),
        updatedAt=iso(plan.updated_at),
    )


def plan_from_item(item: CatalogRecord) -> Plan:
    return Plan(
        id=str(item.id),
        name=str(item.name),
        slug=str(item.slug),
        description=item.description,
        is_public=bool(item.isPublic),
        display_order=int(item.displayOrder or 0),
        metadata=json.loads(item.metadata or "{}"),
        status=CatalogStatus(item.status),
        created_at=_req_dt(item.createdAt),
        updated_at=_req_dt(item.updatedAt),
    )


def price_to_item(price: Price, plan_slug: str) -> CatalogRecord:
    return CatalogRecord(
        pk=plan_pk(price.plan_id),
        sk=f"PRICE#{price.id}",
        kind="PRICE",
        gsi1pk=PLANS_GSI_PK,
        gsi1sk=f"{plan_slug}#PRICE#{price.id}",  # lists plans and their prices in one Query
        id=price.id,
        planId=price.plan_id,
        interval=price.interval.value,
        amount=price.amount,
        currency=price.currency,
        isActive=price.is_active,
        createdAt=iso(price.created_at),
        deactivatedAt=iso(price.deactivated_at) if price.deactivated_at else None,
    )


def price_from_item(item: CatalogRecord) -> Price:
    return Price(
        id=str(item.id),
        plan_id=str(item.planId),
        interval=Interval(item.interval),
        amount=int(item.amount or 0),
        currency=str(item.currency),
        is_active=bool(item.isActive),
        created_at=_req_dt(item.createdAt),
        deactivated_at=_dt(item.deactivatedAt),
    )


def feature_to_item(feature: Feature) -> CatalogRecord:
    return CatalogRecord(
        pk=feature_pk(feature.id),
        sk=ENTITY_SK_FEATURE,
        kind="FEATURE",
        gsi1pk=FEATURES_GSI_PK,
        gsi1sk=feature.lookup_key,
        id=feature.id,
        name=feature.name,
        lookupKey=feature.lookup_key,
        type=feature.type.value,
        unit=feature.unit,
        description=feature.description,
        status=feature.status.value,
        createdAt=iso(feature.created_at),
        updatedAt=iso(feature.updated_at),
    )


def feature_from_item(item: CatalogRecord) -> Feature:
    return Feature(
        id=str(item.id),
        name=str(item.name),
        lookup_key=str(item.lookupKey),
        type=FeatureType(item.type),
        unit=item.unit,
        description=item.description,
        status=CatalogStatus(item.status),
        created_at=_req_dt(item.createdAt),
        updated_at=_req_dt(item.updatedAt),
    )


def entitlement_to_item(entitlement: Entitlement) -> CatalogRecord:
    t = entitlement.terms
    return CatalogRecord(
        pk=plan_pk(entitlement.plan_id),
        sk=f"ENT#{entitlement.id}",
        kind="ENTITLEMENT",
        id=entitlement.id,
        planId=entitlement.plan_id,
        featureId=entitlement.feature_id,
        featureLookupKey=entitlement.feature_lookup_key,
        featureType=entitlement.feature_type.value,
        value=t.value,
        limit=t.limit,
        limitBehavior=t.limit_behavior.value if t.limit_behavior else None,
        overagePrice=t.overage_price,
        includedAmount=t.included_amount,
        resetPeriod=t.reset_period.value if t.reset_period else None,
        createdAt=iso(entitlement.created_at),
        updatedAt=iso(entitlement.updated_at),
    )


def entitlement_from_item(item: CatalogRecord) -> Entitlement:
    def _int(value: Any) -> int | None:
        return None if value is None else int(value)

    return Entitlement(
        id=str(item.id),
        plan_id=str(item.planId),
        feature_id=str(item.featureId),
        feature_lookup_key=str(item.featureLookupKey),
        feature_type=FeatureType(item.featureType),
        terms=Terms(
            value=item.value,
            limit=_int(item.limit),
            limit_behavior=LimitBehavior(item.limitBehavior) if item.limitBehavior else None,
            overage_price=_int(item.overagePrice),
            included_amount=_int(item.includedAmount),
            reset_period=ResetPeriod(item.resetPeriod) if item.resetPeriod else None,
        ),
        created_at=_req_dt(item.createdAt),
        updated_at=_req_dt(item.updatedAt),
    )


def _claim(pk: str, sk: str, owner_id: str) -> CatalogRecord:
    return CatalogRecord(pk=pk, sk=sk, kind="CLAIM", ownerId=owner_id)


_NEW = CatalogRecord.pk.does_not_exist()


class DynamoCatalogRepository:
    def __init__(self) -> None:
        # the connection the models use (same endpoint and region); transactions need it
        self._connection = core_connection()

    def _transaction(self) -> TransactWrite:
        return transaction(self._connection)

    # -- plans -------------------------------------------------------------------------------
    def create_plan(self, plan: Plan, audit: DomainEvent) -> None:
        tx = self._transaction()
        try:
            with tx:
                tx.save(_claim(slug_claim_pk(plan.slug), CLAIM_SK, plan.id), condition=_NEW)
                tx.save(plan_to_item(plan), condition=_NEW)
                stage_events(tx, [audit])
        except TransactWriteError as error:
            if (slug_claim_pk(plan.slug), CLAIM_SK) in failed_keys(tx, error):
                raise Conflict(f"Plan slug '{plan.slug}' is taken", code="PLAN_SLUG_TAKEN") from error
            raise

    def _plan_collection(self, plan_id: str) -> list[CatalogRecord]:
        return list(CatalogRecord.query(plan_pk(plan_id), consistent_read=True))

    def get_plan(self, plan_id: str) -> Plan | None:
        items = self._plan_collection(plan_id)
        plans = [plan_from_item(i) for i in items if i.kind == "PLAN"]
        if not plans:
            return None
        plans[0].prices = sorted(
            (price_from_item(i) for i in items if i.kind == "PRICE" and i.isActive),
            key=lambda p: p.created_at,
        )
        return plans[0]

    def _plans_from(self, items: list[CatalogRecord]) -> list[Plan]:
        plans = {i.id: plan_from_item(i) for i in items if i.kind == "PLAN"}
        for item in items:
            if item.kind == "PRICE" and item.isActive and item.planId in plans:
                plans[item.planId].prices.append(price_from_item(item))
        for plan in plans.values():
            plan.prices.sort(key=lambda p: p.created_at)
        return list(plans.values())

    def get_plan_by_slug(self, slug: str) -> Plan | None:
        items = list(
            CatalogRecord.query(PLANS_GSI_PK, CatalogRecord.gsi1sk.startswith(f"{slug}#"), index_name=GSI1)
        )
        plans = self._plans_from(items)
        return plans[0] if plans else None

    def list_plans(self) -> list[Plan]:
        return self._plans_from(list(CatalogRecord.query(PLANS_GSI_PK, index_name=GSI1)))

    def save_plan(self, plan: Plan, audit: DomainEvent) -> None:
        self._save_existing(plan_to_item(plan), audit)

    def _save_existing(self, item: CatalogRecord, audit: DomainEvent) -> None:
        """Replace an existing item (404 when it is gone), with the write's audit event."""
        tx = self._transaction()
        try:
            with tx:
                tx.save(item, condition=CatalogRecord.pk.exists())
                stage_events(tx, [audit])
        except TransactWriteError as error:
            if (item.pk, item.sk) not in failed_keys(tx, error):
                raise
            raise NotFound(
                f"{item.kind.title()} {item.id} not found", code=f"{item.kind}_NOT_FOUND"
            ) from error

    # -- prices ------------------------------------------------------------------------------
    def create_price(self, price: Price, audit: DomainEvent) -> None:
        plan = self.get_plan(price.plan_id)
        if plan is None:
            raise NotFound(f"Plan {price.plan_id} not found", code="PLAN_NOT_FOUND")
        claim_sk = active_price_claim_sk(price.interval.value, price.currency)
        tx = self._transaction()
        try:
            with tx:
                tx.save(_claim(plan_pk(price.plan_id), claim_sk, price.id), condition=_NEW)
                tx.save(price_to_item(price, plan.slug), condition=_NEW)
                tx.condition_check(
                    CatalogRecord,
                    plan_pk(price.plan_id),
                    ENTITY_SK_PLAN,
                    condition=CatalogRecord.status == CatalogStatus.ACTIVE.value,
                )
                stage_events(tx, [audit])
        except TransactWriteError as error:
            failed = failed_keys(tx, error)
            if (plan_pk(price.plan_id), claim_sk) in failed:
                raise Conflict(
                    f"Plan already has an active {price.interval.value} price in {price.currency}",
                    code="ACTIVE_PRICE_EXISTS",
                ) from error
            if (plan_pk(price.plan_id), ENTITY_SK_PLAN) in failed:
                raise plan_archived(price.plan_id) from error
            raise

    def list_prices(self, plan_id: str) -> list[Price]:
        return [
            price_from_item(i)
            for i in CatalogRecord.query(
                plan_pk(plan_id), CatalogRecord.sk.startswith("PRICE#"), consistent_read=True
            )
        ]

    def deactivate_price(self, price: Price, audit: DomainEvent) -> Price:
        claim_sk = active_price_claim_sk(price.interval.value, price.currency)
        tx = self._transaction()
        try:
            with tx:
                tx.update(
                    CatalogRecord(pk=plan_pk(price.plan_id), sk=f"PRICE#{price.id}"),
                    actions=[
                        CatalogRecord.isActive.set(False),
                        CatalogRecord.deactivatedAt.set(iso(price.deactivated_at or system_clock.now())),
                    ],
                    condition=CatalogRecord.isActive == True,  # noqa: E712 - a DynamoDB condition
                )
                tx.delete(
                    CatalogRecord(pk=plan_pk(price.plan_id), sk=claim_sk),
                    condition=CatalogRecord.ownerId == price.id,
                )
                stage_events(tx, [audit])
        except TransactWriteError as error:
            if (plan_pk(price.plan_id), f"PRICE#{price.id}") not in failed_keys(tx, error):
                raise
            # Someone deactivated it first: the outcome is the same.
        return price

    # -- features ----------------------------------------------------------------------------
    def create_feature(self, feature: Feature, audit: DomainEvent) -> None:
        tx = self._transaction()
        try:
            with tx:
                tx.save(_claim(lookup_key_claim_pk(feature.lookup_key), CLAIM_SK, feature.id), condition=_NEW)
                tx.save(feature_to_item(feature), condition=_NEW)
                stage_events(tx, [audit])
        except TransactWriteError as error:
            if (lookup_key_claim_pk(feature.lookup_key), CLAIM_SK) in failed_keys(tx, error):
                raise Conflict(
                    f"Feature lookup key '{feature.lookup_key}' is taken", code="FEATURE_KEY_TAKEN"
                ) from error
            raise

    def get_feature(self, feature_id: str) -> Feature | None:
        try:
            return feature_from_item(
                CatalogRecord.get(feature_pk(feature_id), ENTITY_SK_FEATURE, consistent_read=True)
            )
        except CatalogRecord.DoesNotExist:
            return None

    def get_feature_by_key(self, lookup_key: str) -> Feature | None:
        for item in CatalogRecord.query(FEATURES_GSI_PK, CatalogRecord.gsi1sk == lookup_key, index_name=GSI1):
            return feature_from_item(item)
        return None

    def list_features(self) -> list[Feature]:
        return [feature_from_item(i) for i in CatalogRecord.query(FEATURES_GSI_PK, index_name=GSI1)]

    def save_feature(self, feature: Feature, audit: DomainEvent) -> None:
        self._save_existing(feature_to_item(feature), audit)

    # -- entitlements ------------------------------------------------------------------------
    def create_entitlement(self, entitlement: Entitlement, audit: DomainEvent) -> None:
        pk = plan_pk(entitlement.plan_id)
        active = CatalogRecord.status == CatalogStatus.ACTIVE.value
        tx = self._transaction()
        try:
            with tx:
                tx.save(
                    _claim(pk, entitlement_claim_sk(entitlement.feature_id), entitlement.id), condition=_NEW
                )
                tx.save(entitlement_to_item(entitlement), condition=_NEW)
                tx.condition_check(CatalogRecord, pk, ENTITY_SK_PLAN, condition=active)
                tx.condition_check(
                    CatalogRecord, feature_pk(entitlement.feature_id), ENTITY_SK_FEATURE, condition=active
                )
                stage_events(tx, [audit])
        except TransactWriteError as error:
            failed = failed_keys(tx, error)
            if (pk, entitlement_claim_sk(entitlement.feature_id)) in failed:
                raise Conflict(
                    f"Plan already has an entitlement for feature '{entitlement.feature_lookup_key}'",
                    code="ENTITLEMENT_EXISTS",
                ) from error
            if (pk, ENTITY_SK_PLAN) in failed:
                raise plan_archived(entitlement.plan_id) from error
            if (feature_pk(entitlement.feature_id), ENTITY_SK_FEATURE) in failed:
                raise feature_archived(entitlement.feature_lookup_key) from error
            raise

    def list_entitlements(self, plan_id: str) -> list[Entitlement]:
        return [
            entitlement_from_item(i)
            for i in CatalogRecord.query(
                plan_pk(plan_id), CatalogRecord.sk.startswith("ENT#"), consistent_read=True
            )
        ]

    def save_entitlement(self, entitlement: Entitlement, audit: DomainEvent) -> None:
        self._save_existing(entitlement_to_item(entitlement), audit)

    def delete_entitlement(self, entitlement: Entitlement, audit: DomainEvent) -> None:
        pk = plan_pk(entitlement.plan_id)
        with self._transaction() as tx:
            tx.delete(CatalogRecord(pk=pk, sk=f"ENT#{entitlement.id}"))
            tx.delete(CatalogRecord(pk=pk, sk=entitlement_claim_sk(entitlement.feature_id)))
            stage_events(tx, [audit])
