"""The Locust scenarios (run by `load/swarm.py`, in a process of their own — ADR 0110).

* `EntitlementsUser` — the hot path: `check` 3 : 1 `consume` on a HARD quota, with an idempotency
  key per consume, one in ten sent again (it must answer the first answer);
* `UsageUser` — `POST /usage/events` in batches of 1–100, a few events repeated (duplicates) or
  for a feature no plan has (rejected); a batch whose answer was lost is sent again unchanged;
* `WebhookPingUser` — `POST /webhook-endpoints/{id}/test` on the hooked tenants' endpoints (the
  deliveries fan out to the runner's receiver);
* `PaymentWebhookUser` — `POST /webhooks/fake` deciding each pending payment once
  (`payment.succeeded`, or `payment.failed` for `fail_percent`), some sent twice with one event id.

Each records what the answers said in `CONTEXT.outcome`; the checks compare it with what the
platform holds afterwards.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from locust import FastHttpUser, constant, task
from locust.exception import StopUser

from load.plan import UNKNOWN, Outcome, Payment, Plan, Tenant

DUPLICATE_SHARE = 0.05  # of a batch's events: an eventId this tenant sent before
UNKNOWN_SHARE = 0.02  # of a batch's events: a feature not in the plan (rejected, not remembered)
REPEAT_SHARE = 0.1  # of consumes: the same idempotency key sent again
HOT_SHARE = 0.8  # of consumes: on the first traffic tenant, so that concurrent consumes meet its limit


@dataclass
class Context:
    plan: Plan | None = None
    outcome: Outcome = field(default_factory=lambda: Outcome("none"))
    sent_ids: dict[str, dict[str, int]] = field(default_factory=dict)  # tenant → eventId → amount
    accepted_ids: dict[str, set[str]] = field(default_factory=dict)  # tenant → eventIds accepted
    uncertain: dict[str, dict[str, int]] = field(default_factory=dict)  # lost answers: id → amount
    first_answers: dict[str, tuple[str, str, int, dict[str, Any]]] = field(default_factory=dict)
    payments: list[Payment] = field(default_factory=list)

    def start(self, plan: Plan, outcome: Outcome) -> None:
        self.plan, self.outcome = plan, outcome
        self.payments = list(plan.payments)
        random.shuffle(self.payments)

    def the_plan(self) -> Plan:
        assert self.plan is not None, "CONTEXT.start(plan, outcome) first"
        return self.plan


CONTEXT = Context()


def _add(totals: dict[str, int], key: str, amount: int) -> None:
    totals[key] = totals.get(key, 0) + amount


class _TenantUser(FastHttpUser):
    abstract = True
    wait_time = constant(0)

    def pick(self) -> Tenant:
        return random.choice(CONTEXT.the_plan().traffic())

    @staticmethod
    def key_headers(tenant: Tenant) -> dict[str, str]:
        return {"authorization": f"Bearer {tenant.api_key}"}


class EntitlementsUser(_TenantUser):
    weight = 5

    @task(3)
    def check(self) -> None:
        tenant, plan = self.pick(), CONTEXT.the_plan()
        feature = random.choice((plan.quota, plan.metered))
        name = "/entitlements/{quota}/check" if feature == plan.quota else "/entitlements/{metered}/check"
        with self.client.get(
            f"/entitlements/{feature}/check", headers=self.key_headers(tenant), name=name, catch_response=True
        ) as reply:
            if reply.status_code != 200:
                reply.failure(f"{reply.status_code} {reply.text}")
            elif feature == plan.quota:
                self._saw_used(tenant, int(reply.json()["used"]))

    @task(1)
    def consume(self) -> None:
        tenant, outcome = self.pick(), CONTEXT.outcome
        if CONTEXT.first_answers and random.random() < REPEAT_SHARE:
            key = random.choice(list(CONTEXT.first_answers))
            owner, _, amount, first = CONTEXT.first_answers[key]
            tenant = next(t for t in CONTEXT.the_plan().traffic() if t.id == owner)
        else:
            key, amount, first = uuid.uuid4().hex, random.randint(1, 3), {}
            if random.random() < HOT_SHARE:
                tenant = CONTEXT.the_plan().traffic()[0]
        with self.client.post(
            f"/entitlements/{CONTEXT.the_plan().quota}/consume",
            json={"amount": amount, "idempotencyKey": key},
            headers=self.key_headers(tenant),
            name="/entitlements/{quota}/consume",
            catch_response=True,
        ) as reply:
            body = reply.json() if reply.text else {}
            if reply.status_code == 403 and body.get("code") == "QUOTA_EXCEEDED":
                reply.success()
                outcome.refused_consumes += 1
                return
            if reply.status_code != 200:
                reply.failure(f"{reply.status_code} {reply.text}")
                return
            answer = {k: body.get(k) for k in ("allowed", "consumed", "used", "remaining")}
            if first:
                outcome.idempotent_repeats += 1
                if answer != first:
                    outcome.idempotent_mismatches.append(f"key {key}: first {first}, then {answer}")
                return
            CONTEXT.first_answers[key] = (tenant.id, key, amount, answer)
            _add(outcome.granted_units, tenant.id, amount)
            self._saw_used(tenant, int(body["used"]))

    @staticmethod
    def _saw_used(tenant: Tenant, used: int) -> None:
        seen = CONTEXT.outcome.most_used_answered
        seen[tenant.id] = max(seen.get(tenant.id, 0), used)


class UsageUser(_TenantUser):
    weight = 4

    @task
    def send_batch(self) -> None:
        tenant, plan = self.pick(), CONTEXT.the_plan()
        sent = CONTEXT.sent_ids.setdefault(tenant.id, {})
        now = plan.business_now or datetime.now(UTC).isoformat().replace("+00:00", "Z")
        events: list[dict[str, Any]] = []
        for _ in range(random.randint(1, 100)):
            roll = random.random()
            if sent and roll < DUPLICATE_SHARE:  # the same event sent again: its id and amount
                event_id, feature = random.choice(list(sent)), plan.metered
                amount = sent[event_id]
            else:
                event_id, amount = uuid.uuid4().hex, random.randint(1, 5)
                feature = UNKNOWN if roll > 1 - UNKNOWN_SHARE else plan.metered
            events.append({"eventId": event_id, "feature": feature, "amount": amount, "timestamp": now})
        uncertain = CONTEXT.uncertain.setdefault(tenant.id, {})
        for _attempt in range(3):
            if self._send(tenant, events, uncertain):
                break
        sent.update({e["eventId"]: e["amount"] for e in events if e["feature"] == plan.metered})

    def _send(self, tenant: Tenant, events: list[dict[str, Any]], uncertain: dict[str, int]) -> bool:
        """One POST; True once its answer is known. A lost answer leaves its events uncertain:
        sent again, those answered `duplicate` were accepted by the lost attempt."""
        outcome = CONTEXT.outcome
        accepted = CONTEXT.accepted_ids.setdefault(tenant.id, set())
        with self.client.post(
            "/usage/events",
            json={"events": events},
            headers=self.key_headers(tenant),
            name="/usage/events",
            catch_response=True,
        ) as reply:
            if reply.status_code != 202:
                reply.failure(f"{reply.status_code} {reply.text[:200]}")
                for event in events:
                    if event["eventId"] not in accepted:
                        uncertain[event["eventId"]] = event["amount"]
                return False
            for event, answer in zip(events, reply.json()["events"], strict=True):
                status, event_id = answer["status"], event["eventId"]
                newly = status == "accepted" or (status == "duplicate" and event_id in uncertain)
                uncertain.pop(event_id, None)
                if status == "accepted" and event_id in accepted:
                    outcome.errors.append(f"usage: eventId {event_id} answered accepted twice")
                if newly and event_id not in accepted:
                    accepted.add(event_id)
                    _add(outcome.accepted_units, tenant.id, event["amount"])
                    _add(outcome.accepted_events, tenant.id, 1)
                elif status == "duplicate":
                    outcome.duplicate_events += 1
                elif status == "rejected":
                    outcome.rejected_events += 1
            return True


class WebhookPingUser(FastHttpUser):
    fixed_count = 1
    wait_time = constant(0.5)

    @task
    def ping(self) -> None:
        plan = CONTEXT.the_plan()
        if not plan.hooked():
            raise StopUser()
        tenant = random.choice(plan.hooked())
        endpoint = random.choice(tenant.endpoints)
        headers = {"authorization": f"Bearer {tenant.member_token}", "x-tenant-id": tenant.id}
        sent_at = datetime.now(UTC).timestamp()
        with self.client.post(
            f"/webhook-endpoints/{endpoint.id}/test",
            headers=headers,
            name="/webhook-endpoints/{id}/test",
            catch_response=True,
        ) as reply:
            if reply.status_code != 202:
                reply.failure(f"{reply.status_code} {reply.text}")
                return
            CONTEXT.outcome.webhook_tests.append(
                {"path": endpoint.path, "eventId": reply.json()["eventId"], "sentAt": sent_at}
            )


class PaymentWebhookUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def decide(self) -> None:
        if not CONTEXT.payments:
            raise StopUser()
        plan, payment = CONTEXT.the_plan(), CONTEXT.payments.pop()
        failed = random.randrange(100) < plan.fail_percent
        body = {
            "type": "payment.failed" if failed else "payment.succeeded",
            "providerPaymentId": payment.provider_payment_id,
            "amount": payment.amount,
            "currency": payment.currency,
            "id": f"load_evt_{uuid.uuid4().hex}",
        }
        if failed:
            body["failureReason"] = "card_declined (load run)"
        times = 2 if random.randrange(100) < plan.repeat_percent else 1
        answered = [self._post(body) for _ in range(times)]
        if any(answered):
            CONTEXT.outcome.decided.append(
                {
                    "tenantId": payment.tenant_id,
                    "invoiceId": payment.invoice_id,
                    "outcome": "failed" if failed else "succeeded",
                    "repeated": times > 1,
                }
            )

    def _post(self, body: dict[str, Any]) -> bool:
        with self.client.post(
            "/webhooks/fake", json=body, name="/webhooks/fake", catch_response=True
        ) as reply:
            if reply.status_code != 200:
                reply.failure(f"{reply.status_code} {reply.text}")
                return False
            return True


PHASES: dict[str, list[type[FastHttpUser]]] = {
    "traffic": [EntitlementsUser, UsageUser, WebhookPingUser],
    "payments": [PaymentWebhookUser],
}
