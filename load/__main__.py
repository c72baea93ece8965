"""`make load` = `python -m load`: start a local cloud (or target MP_LOAD_URL), set up the run's
tenants, run the Locust phases, move the test clock through a billing day, then verify that
nothing was lost or counted twice. Exit code 1 when a check fails. docs/load.md; ADR 0110."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from infra.local.cloud_process import REPO_ROOT
from infra.local.webhook_receiver import Receiver, running_receiver
from load import billing_day, observe, report, tenants
from load.api import Api, Login
from load.checks import BILLING_CHECKS, TRAFFIC_CHECKS, Check, run_checks
from load.cloud import Target, target
from load.knobs import Knobs
from load.observed import Observed
from load.plan import Outcome, Plan


def swarm(phase: str, plan: Plan, work: Path, users: int, seconds: float) -> Outcome:
    """One Locust phase in its own process (load/swarm.py)."""
    plan_file, outcome_file = work / f"{phase}-plan.json", work / f"{phase}-outcome.json"
    plan.save(plan_file)
    command = [sys.executable, "-m", "load.swarm", phase, str(plan_file), str(outcome_file)]
    subprocess.run(
        [*command, "--users", str(users), "--seconds", str(seconds)],
        cwd=REPO_ROOT,
        check=True,
        timeout=seconds + 120,
    )
    return Outcome.load(outcome_file)


def load_run(knobs: Knobs, cloud: Target, receiver: Receiver, work: Path) -> list[Check]:
    api = Api(cloud.api)
    admin = Login(api, knobs.admin_email, knobs.admin_password)
    report.step(f"setting up {knobs.tenants:,} tenants")
    began = time.perf_counter()
    plan = tenants.build(api, admin.headers(), knobs, receiver.url)
    report.say(
        f"set-up: {knobs.tenants:,} tenants subscribed ({knobs.traffic_tenants} with API keys, "
        f"{knobs.hooked_tenants} with 2 webhook endpoints) in {time.perf_counter() - began:.1f} s"
    )
    seen = Observed()
    try:
        # -- billing day first, while the usage table is empty: every daily reconciliation the
        #    advance fires Scans it (ADR 0110); every first period ends within minutes of the others
        report.step("billing day: advancing the test clock past every period end")
        day = billing_day.advance_past_period_ends(api, admin, plan)
        tenants.with_fresh_tokens(api, plan)  # the month may outlive the owners' 15-min tokens
        invoices = observe.billed(api, plan, knobs.settle_s)
        finalized = sum(1 for found in invoices.values() for i in found if i["finalizedAt"])
        report.billing_day(day, len(plan.tenants), finalized)
        plan.business_now = billing_day.business_now(api, admin.headers())

        # -- payment webhooks: each pending payment decided once (some events sent twice)
        report.step("reading the pending payments")
        tenants.with_fresh_tokens(api, plan)
        plan.payments = observe.pending_payments(api, plan, knobs.settle_s)
        payment_users = min(knobs.users, 8)
        payments = swarm("payments", plan, work, payment_users, knobs.settle_s)
        report.phase(payments, payment_users)
        report.say(
            f"  payment webhooks: {len(payments.decided):,} payments decided "
            f"of {len(plan.payments):,} pending"
        )

        # -- traffic: check/consume, usage batches (stamped with the frozen business time),
        #    webhook pings; then what was counted
        report.step(f"traffic phase: {knobs.users} users for {knobs.seconds} s")
        tenants.with_fresh_tokens(api, plan)
        traffic = swarm("traffic", plan, work, knobs.users, knobs.seconds)
        report.phase(traffic, knobs.users)
        report.step("reading what was counted (the pipeline may still be draining)")
        table = f"meterplex-{cloud.stage}-usage"
        stored = observe.stored_usage(cloud.moto_url, table, {t.id for t in plan.traffic()})
        seen.usage = observe.usage(api, plan, traffic, stored, knobs.settle_s)
        seen.quotas = observe.quotas(api, plan, traffic)
        seen.idempotency_mismatches = traffic.idempotent_mismatches
        report.traffic_figures(traffic, receiver.received)
        results = report.checks(run_checks(seen, TRAFFIC_CHECKS))

        report.step("reading invoices, ledgers and webhook deliveries")
        tenants.with_fresh_tokens(api, plan)
        decided = {d["tenantId"]: d["outcome"] for d in payments.decided}
        seen.billing = observe.billing(api, plan, decided, knobs.settle_s)
        seen.expected_webhooks = observe.expected_webhooks(plan, [traffic, payments], seen.billing)
        seen.arrivals = observe.arrivals(receiver.received, seen.expected_webhooks, knobs.settle_s)
        report.deliveries(receiver.received)
        report.step("reconciliation run")
        seen.reconciliation = observe.reconciliation(api, admin, knobs.settle_s)
        seen.request_errors = [*payments.errors, *traffic.errors]
        return results + report.checks(run_checks(seen, BILLING_CHECKS))
    finally:
        billing_day.reset(api, admin)  # a shared cloud is left at real time


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the cloud on the way out
    knobs = Knobs.from_environment()
    if max(knobs.traffic_tenants, knobs.hooked_tenants) > knobs.tenants:
        raise SystemExit(
            "error: MP_LOAD_TRAFFIC_TENANTS and MP_LOAD_HOOKED_TENANTS must be ≤ MP_LOAD_TENANTS"
        )
    started = time.perf_counter()
    report.say(
        f"load run: load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)"
    )
    with (
        target(knobs.url, knobs.moto_url) as cloud,
        running_receiver() as receiver,
        tempfile.TemporaryDirectory(prefix="mp-load-") as work,
    ):
        results = load_run(knobs, cloud, receiver, Path(work))
    report.summary(results)
    report.say(
        f"whole run {time.perf_counter() - started:.0f} s; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    sys.exit(1 if any(c.ok is False for c in results) else 0)


if __name__ == "__main__":
    main()
