"""One phase of Locust, headless, through its library API, in a process of its own (Locust patches
the process for gevent; the cloud and the receiver must not share that — ADR 0110):

    python -m load.swarm <traffic|payments> <plan.json> <outcome.json> --users N [--seconds S]

`traffic` runs for `--seconds`; `payments` until every pending payment of the plan is decided (and
at most `--seconds`). Writes an `Outcome`: Locust's figures per route and what the answers said.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import gevent
from locust.env import Environment
from locust.stats import StatsEntry

from load import locustfile
from load.plan import Outcome, Plan, RouteStats

POLL_S = 0.2
# Stopping lets each user finish the request it is in (force=False): a request killed in flight
# would have changed the platform without the swarm recording its answer.
STOP_TIMEOUT_S = 90


def route_stats(entry: StatsEntry) -> RouteStats:
    return RouteStats(
        method=str(entry.method),
        name=entry.name,
        requests=entry.num_requests,
        failures=entry.num_failures,
        rps=round(entry.total_rps, 1),
        p50_ms=float(entry.get_response_time_percentile(0.5) or 0),
        p99_ms=float(entry.get_response_time_percentile(0.99) or 0),
    )


def run(phase: str, plan: Plan, users: int, seconds: float) -> Outcome:
    outcome = Outcome(phase)
    locustfile.CONTEXT.start(plan, outcome)
    environment = Environment(
        user_classes=list(locustfile.PHASES[phase]), host=plan.url, stop_timeout=STOP_TIMEOUT_S
    )
    runner = environment.create_local_runner()
    began = time.perf_counter()
    runner.start(users, spawn_rate=users)
    deadline = began + seconds

    def watch() -> None:
        if phase == "payments":  # done once every payment is decided and its users stopped
            gevent.sleep(1)
            while (locustfile.CONTEXT.payments or runner.user_count) and time.perf_counter() < deadline:
                gevent.sleep(POLL_S)
        else:
            gevent.sleep(seconds)
        runner.quit()

    gevent.spawn(watch)
    assert runner.greenlet is not None
    runner.greenlet.join()
    outcome.seconds = round(time.perf_counter() - began, 2)
    outcome.routes = [route_stats(e) for e in environment.stats.entries.values()]
    outcome.errors += [
        f"{e.occurrences}× {e.method} {e.name}: {e.error}" for e in environment.stats.errors.values()
    ]
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=sorted(locustfile.PHASES))
    parser.add_argument("plan", type=Path)
    parser.add_argument("outcome", type=Path)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=120)
    args = parser.parse_args()
    run(args.phase, Plan.load(args.plan), args.users, args.seconds).save(args.outcome)


if __name__ == "__main__":
    main()
