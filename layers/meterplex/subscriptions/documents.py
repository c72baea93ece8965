"""A subscription as stored: its key shapes and its JSON document, mapped both ways (pure).

The PynamoDB repository (`repository.py`) and the raw reader (`history.py`, for the usage path)
both use this module, so the document's mapping is written out once.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from meterplex.catalog.models import FeatureType, Interval, LimitBehavior, ResetPeriod, Terms
from meterplex.platform.clock import iso, parse_iso
from meterplex.subscriptions.models import (
    EntitlementSnapshot,
    FinalBill,
    Subscription,
    SubscriptionStatus,
)

SUB_PREFIX = "SUB#"


def subs_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#SUBS"


def sub_sk(subscription_id: str) -> str:
    return f"{SUB_PREFIX}{subscription_id}"


# -- mapping: domain ⇄ document ---------------------------------------------------------------
def _iso(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None


def _dt(text: str | None) -> datetime | None:
    return parse_iso(text) if text else None


def to_document(sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "tenantId": sub.tenant_id,
        "planId": sub.plan_id,
        "planSlug": sub.plan_slug,
        "planName": sub.plan_name,
        "priceId": sub.price_id,
        "interval": sub.interval.value,
        "amount": sub.amount,
        "currency": sub.currency,
        "status": sub.status.value,
        "startedAt": iso(sub.started_at),
        "trialEndsAt": _iso(sub.trial_ends_at),
        "currentPeriodStart": iso(sub.current_period_start),
        "currentPeriodEnd": iso(sub.current_period_end),
        "createdAt": iso(sub.created_at),
        "updatedAt": iso(sub.updated_at),
        "cancelAtPeriodEnd": sub.cancel_at_period_end,
        "cancelledAt": _iso(sub.cancelled_at),
        "endedAt": _iso(sub.ended_at),
        "replacedBy": sub.replaced_by,
        "billedThrough": iso(sub.billing_position),
        "finalBill": None
        if sub.final_bill is None
        else {
            "cancelledAt": iso(sub.final_bill.cancelled_at),
            "periodStart": iso(sub.final_bill.period_start),
            "periodEnd": iso(sub.final_bill.period_end),
            "priceAmount": sub.final_bill.price_amount,
            "currency": sub.final_bill.currency,
            "billable": sub.final_bill.billable,
        },
        "entitlements": [
            {
                "featureId": e.feature_id,
                "featureKey": e.feature_key,
                "featureType": e.feature_type.value,
                "terms": {k: (v.value if hasattr(v, "value") else v) for k, v in asdict(e.terms).items()},
            }
            for e in sub.entitlements
        ],
    }


def _terms(raw: dict[str, Any]) -> Terms:
    return Terms(
        value=raw.get("value"),
        limit=raw.get("limit"),
        limit_behavior=LimitBehavior(raw["limit_behavior"]) if raw.get("limit_behavior") else None,
        overage_price=raw.get("overage_price"),
        included_amount=raw.get("included_amount"),
        reset_period=ResetPeriod(raw["reset_period"]) if raw.get("reset_period") else None,
    )


def from_document(doc: dict[str, Any]) -> Subscription:
    bill = doc.get("finalBill")
    return Subscription(
        id=doc["id"],
        tenant_id=doc["tenantId"],
        plan_id=doc["planId"],
        plan_slug=doc["planSlug"],
        plan_name=doc["planName"],
        price_id=doc["priceId"],
        interval=Interval(doc["interval"]),
        amount=doc["amount"],
        currency=doc["currency"],
        status=SubscriptionStatus(doc["status"]),
        started_at=parse_iso(doc["startedAt"]),
        trial_ends_at=_dt(doc.get("trialEndsAt")),
        current_period_start=parse_iso(doc["currentPeriodStart"]),
        current_period_end=parse_iso(doc["currentPeriodEnd"]),
        created_at=parse_iso(doc["createdAt"]),
        updated_at=parse_iso(doc["updatedAt"]),
        cancel_at_period_end=bool(doc.get("cancelAtPeriodEnd")),
        cancelled_at=_dt(doc.get("cancelledAt")),
        ended_at=_dt(doc.get("endedAt")),
        replaced_by=doc.get("replacedBy"),
        billed_through=_dt(doc.get("billedThrough")),
        final_bill=None
        if not bill
        else FinalBill(
            cancelled_at=parse_iso(bill["cancelledAt"]),
            period_start=parse_iso(bill["periodStart"]),
            period_end=parse_iso(bill["periodEnd"]),
            price_amount=bill["priceAmount"],
            currency=bill["currency"],
            billable=bill["billable"],
        ),
        entitlements=[
            EntitlementSnapshot(
                feature_id=e["featureId"],
                feature_key=e["featureKey"],
                feature_type=FeatureType(e["featureType"]),
                terms=_terms(e["terms"]),
            )
            for e in doc.get("entitlements", [])
        ],
    )
