"""What `make load` prints: per scenario its throughput, per route p50/p99 and failures, the
errors, the billing day's figures and every check's verdict."""

from __future__ import annotations

import statistics
import time
from collections import defaultdict

from infra.local.webhook_receiver import Received
from load.billing_day import Advance, BillingDay
from load.checks import Check
from load.plan import SCENARIOS, Outcome

STARTED = time.monotonic()


def say(line: str = "") -> None:
    print(line, flush=True)


def step(what: str) -> None:
    """A progress line: what the runner does next, and when (seconds since the start)."""
    print(f"[{time.monotonic() - STARTED:6.1f} s] {what}", flush=True)


def phase(outcome: Outcome, users: int) -> None:
    say(f"\n== {outcome.phase}: {outcome.seconds:.1f} s, {users} Locust users ==")
    by_scenario: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for route in outcome.routes:
        totals = by_scenario[SCENARIOS.get(route.name, route.name)]
        totals[0] += route.requests
        totals[1] += route.failures
    say(f"  {'scenario':<18} {'requests':>9} {'req/s':>8} {'failures':>9}")
    for scenario, (requests, failures) in sorted(by_scenario.items()):
        say(f"  {scenario:<18} {requests:>9,} {requests / max(outcome.seconds, 0.001):>8.1f} {failures:>9,}")
    say(f"  {'route':<40} {'requests':>9} {'fail':>6} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}")
    for r in sorted(outcome.routes, key=lambda r: (SCENARIOS.get(r.name, ""), r.name)):
        say(
            f"  {r.method + ' ' + r.name:<40} {r.requests:>9,} {r.failures:>6,} {r.rps:>7.1f} "
            f"{r.p50_ms:>7.0f} {r.p99_ms:>7.0f}"
        )
    for error in outcome.errors:
        say(f"  error: {error}")


def traffic_figures(outcome: Outcome, received: list[Received]) -> None:
    events, units = sum(outcome.accepted_events.values()), sum(outcome.accepted_units.values())
    seconds = max(outcome.seconds, 0.001)
    say(
        f"  usage batches: {events:,} events accepted ({events / seconds:,.0f} events/s, {units:,} units), "
        f"{outcome.duplicate_events:,} answered duplicate, {outcome.rejected_events:,} rejected"
    )
    granted = sum(outcome.granted_units.values())
    say(
        f"  check/consume: {granted:,} units granted, {outcome.refused_consumes:,} consumes refused "
        f"(QUOTA_EXCEEDED), {outcome.idempotent_repeats:,} idempotency keys sent again"
    )
    arrived = {r.headers.get("webhook-id"): r.at for r in received}
    latencies = sorted(
        (arrived[t["eventId"]] - t["sentAt"]) * 1000 for t in outcome.webhook_tests if t["eventId"] in arrived
    )
    if latencies:
        p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else latencies[0]
        say(
            f"  webhook fan-out: {len(outcome.webhook_tests):,} pings, {len(latencies):,} delivered; "
            f"ping → received p50 {statistics.median(latencies):,.0f} ms, p99 {p99:,.0f} ms"
        )


def billing_day(day: BillingDay, due: int, finalized: int) -> None:
    def fired(advance: Advance) -> str:
        return ", ".join(f"{name} ×{n}" for name, n in sorted(advance.fired.items())) or "nothing"

    say(f"\n== billing day: {due:,} subscriptions due at once ==")
    month, run = day.month, day.due_firing
    say(f"  the month before: clock advanced to {month.target} in {month.seconds:.1f} s ({fired(month)})")
    say(f"  the due firing: advanced to {run.target} in {run.seconds:.1f} s ({fired(run)})")
    rate = finalized / max(run.seconds, 0.001)
    say(
        f"  {finalized:,} invoices finalized: {rate:,.1f} invoices/s "
        "(billing_scheduler → Kafka → invoice_worker, the firing's completion check included)"
    )


def deliveries(received: list[Received]) -> None:
    delivered = sum(1 for r in received if 200 <= r.status < 300)
    endpoints = len({r.path for r in received})
    say(f"\n== webhook fan-out: {delivered:,} deliveries received in all ({endpoints} endpoints) ==")


def checks(results: list[Check]) -> list[Check]:
    say("\n== verifications ==")
    for check in results:
        say(f"  {check.verdict}  {check.name}: {check.detail}")
    return results


def summary(results: list[Check]) -> None:
    failed = [c for c in results if c.ok is False]
    skipped = [c for c in results if c.ok is None]
    say(
        f"\n{len(results) - len(failed) - len(skipped)} of {len(results)} checks passed"
        + (f", {len(skipped)} skipped" if skipped else "")
        + (f", {len(failed)} FAILED: " + "; ".join(c.name for c in failed) if failed else "")
    )
