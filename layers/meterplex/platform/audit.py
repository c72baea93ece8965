"""Audit events of writes: who did what to which resource, before and after, secrets redacted.

Every write route records exactly ONE audit event (ADR 0090), staged in the same DynamoDB
transaction as the write it describes (an outbox item: `audit_outbox_item`, or `event` added to a
repository's list of events). The outbox relays it to the domain topic, where `audit_writer` keeps
it in the audit trail (`meterplex.audit`). An audit event is a `DomainEvent` whose `data` carries
the `audit` mark; other domain events on that topic (subscription, payment, webhook lifecycle…)
are for their consumers and are not audit records.

`data` of an audit event (docs/events.md): `{audit: 1, resource, resourceId, action, before,
after, changes}` — `resource` one of SPEC §8.4's names (`RESOURCES`), `action` `create`,
`update`, `delete` or the verb (`finalize`, `void`, `revoke`…), `before`/`after` the resource's
public fields around the write (null for a create / a delete), `changes` = `after` (kept for the
consumers of schema version 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic.alias_generators import to_camel

from meterplex.platform.clock import iso, system_clock
from meterplex.platform.events import DomainEvent

REDACTED = "[REDACTED]"
_SECRET_NAME = re.compile(r"password|secret|token|hash|apikey|api_key|key$", re.IGNORECASE)
AUDIT_MARK = "audit"  # the key of `data` that makes a domain event an audit record; its schema version
AUDIT_SCHEMA = 1

# SPEC §8.4's resource names (a new capability adds its own here).
RESOURCES = frozenset(
    {
        "tenant",
        "user",
        "membership",
        "invitation",
        "api_key",
        "session",
        "plan",
        "price",
        "feature",
        "entitlement",
        "subscription",
        "invoice",
        "payment",
        "payment_method",
        "refund",
        "webhook_endpoint",
        "webhook_delivery",
        "dead_letter",
        "clock",
        "reconciliation_run",
        "reconciliation_issue",
    }
)

# Past-tense verbs of event types → the action's name (SPEC §8.4: create, update, delete, or the verb).
_ACTIONS = {
    "created": "create",
    "updated": "update",
    "deleted": "delete",
    "revoked": "revoke",
    "registered": "register",
    "bootstrapped": "bootstrap",
    "invited": "invite",
    "joined": "accept",
    "declined": "decline",
    "added": "create",
    "removed": "delete",
    "activated": "activate",
    "deactivated": "deactivate",
    "password_changed": "change_password",
    "password_reset": "reset_password",
    "sessions_revoked": "revoke_sessions",
    "promoted_to_platform_admin": "promote",
    "cancelled": "cancel",
    "finalized": "finalize",
    "voided": "void",
    "paid": "mark_paid",
    "advanced": "advance",
    "deactivated_price": "deactivate",
}


def redact(values: dict[str, Any]) -> dict[str, Any]:
    """A copy of `values` with every secret-looking field replaced, recursively."""
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if _SECRET_NAME.search(name):
            clean[name] = REDACTED
        elif isinstance(value, dict):
            clean[name] = redact(value)
        else:
            clean[name] = value
    return clean


@dataclass(frozen=True)
class Actor:
    """Who is acting, and the request it came with (for the audit trail)."""

    id: str  # "user:<id>", "apikey:<id>" or "system"
    correlation_id: str | None = None
    ip: str | None = None


SYSTEM = Actor("system")


def snapshot(value: Any, *, omit: tuple[str, ...] = ()) -> dict[str, Any]:
    """A dataclass's fields as JSON-ready, camelCase values for `before`/`after` (`omit`: field
    names to leave out, e.g. nested collections the audit of this write does not describe)."""
    if not is_dataclass(value) or isinstance(value, type):
        raise TypeError("snapshot takes a dataclass instance")
    return {to_camel(f.name): _plain(getattr(value, f.name)) for f in fields(value) if f.name not in omit}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return snapshot(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def action_of(type_: str) -> str:
    """`tenant.created` → `create`; an unknown verb is kept as it is."""
    verb = type_.rsplit(".", 1)[-1]
    return _ACTIONS.get(verb, verb)


def event(
    type_: str,
    *,
    actor: Actor,
    at: datetime | None = None,
    tenant_id: str | None,
    resource: str,
    resource_id: str,
    changes: dict[str, Any] | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    action: str | None = None,
) -> DomainEvent:
    """The audit event of one write. `changes` (when `after` is not given) is the after-state, or
    a `{before, after}` pair; `tenant_id` None = a platform write (catalog), kept under `platform`.
    `at` defaults to the system clock: audit is record keeping, not business time (platform.clock)."""
    if resource not in RESOURCES:
        raise ValueError(f"unknown audit resource {resource!r} (add it to platform.audit.RESOURCES)")
    if after is None and changes is not None:
        if set(changes) <= {"before", "after"} and changes:
            before, after = changes.get("before", before), changes.get("after")
        else:
            after = changes
    clean_before = redact(before) if before is not None else None
    clean_after = redact(after) if after is not None else None
    return DomainEvent.new(
        type_,
        tenant_id=tenant_id,
        at=at or system_clock.now(),
        actor=actor.id,
        correlation_id=actor.correlation_id,
        data={
            AUDIT_MARK: AUDIT_SCHEMA,
            "resource": resource,
            "resourceId": resource_id,
            "action": action or action_of(type_),
            "before": clean_before,
            "after": clean_after,
            "changes": clean_after or {},
        },
    )


def is_audit_event(domain_event: DomainEvent) -> bool:
    return domain_event.data.get(AUDIT_MARK) == AUDIT_SCHEMA
