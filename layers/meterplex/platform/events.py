"""The event envelope every Kafka message carries (documented in docs/events.md)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import datetime
from typing import Any

from meterplex.platform.clock import iso
from meterplex.platform.ids import new_id
from meterplex.platform.observability import current_correlation_id

ENVELOPE_VERSION = 1
PLATFORM_TENANT = "platform"  # partition key of events that belong to no tenant (catalog changes)


def _as_json(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


@dataclass(frozen=True)
class DomainEvent:
    type: str  # "<resource>.<past-tense verb>", e.g. "tenant.created"
    tenantId: str
    occurredAt: str
    data: dict[str, Any]
    actor: str = "system"
    correlationId: str | None = None
    id: str = field(default_factory=new_id)
    version: int = ENVELOPE_VERSION

    @classmethod
    def new(
        cls,
        type_: str,
        *,
        tenant_id: str | None,
        at: datetime,
        data: dict[str, Any],
        actor: str = "system",
        correlation_id: str | None = None,
    ) -> DomainEvent:
        """`correlation_id` defaults to the one being handled (the request's, or the consumed
        record's), so every write's events can be followed back to their cause (ADR 0105)."""
        return cls(
            type=type_,
            tenantId=tenant_id or PLATFORM_TENANT,
            occurredAt=iso(at),
            data=data,
            actor=actor,
            correlationId=correlation_id or current_correlation_id(),
        )

    def to_json(self) -> str:
        # the fields as they are, not `asdict`'s deep copy of each envelope's data (a third of the
        # relay's time per usage event); a dataclass inside the data is still written as asdict's
        return json.dumps(vars(self), separators=(",", ":"), sort_keys=True, default=_as_json)

    @classmethod
    def from_json(cls, text: str | bytes) -> DomainEvent:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("an event envelope must be a JSON object")
        known = {f for f in cls.__dataclass_fields__}
        missing = {"id", "type", "tenantId", "occurredAt", "data"} - raw.keys()
        if missing:
            raise ValueError(f"event envelope lacks {sorted(missing)}")
        return cls(**{k: v for k, v in raw.items() if k in known})
