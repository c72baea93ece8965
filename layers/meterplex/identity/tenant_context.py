"""The subscription summary shown in `/tenants/me/context`.

Identity does not own subscriptions: it asks the subscriptions capability when that is deployed
in the same layer, and shows none otherwise.
"""

from __future__ import annotations

import importlib
from typing import Any


def subscription_summary(tenant_id: str) -> dict[str, Any] | None:
    try:
        summaries = importlib.import_module("meterplex.subscriptions.summary")
    except ModuleNotFoundError:
        return None
    summary: dict[str, Any] | None = summaries.active_subscription_summary(tenant_id)
    return summary
