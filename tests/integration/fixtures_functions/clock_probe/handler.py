"""A scheduled test function: records each event's `time` and the business time it reads.

Tests reach this module through the FunctionRunner that serves it and set:
* FAIL_AT: event times whose invocation raises;
* HOLD: a threading.Event the next invocations wait on (to keep an advance in progress).
"""

import threading

from meterplex.platform.clock import business_clock, iso, per_invocation

CALLS: list[dict] = []
FAIL_AT: set[str] = set()
HOLD: threading.Event | None = None


@per_invocation
def lambda_handler(event: dict, context: object) -> dict:
    if HOLD is not None:
        HOLD.wait(10)
    now = iso(business_clock.now())
    CALLS.append({"time": event["time"], "now": now, "resources": event["resources"]})
    if event["time"] in FAIL_AT:
        raise RuntimeError(f"failing at {event['time']} as the test asked")
    return {"time": event["time"], "businessNow": now, "calls": len(CALLS)}
