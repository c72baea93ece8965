"""bench.clock's scheduled function: reads business time once per invocation, as a scheduled job does."""

from meterplex.platform.clock import business_clock, iso, per_invocation


@per_invocation
def lambda_handler(event: dict, context: object) -> dict:
    return {"time": event["time"], "businessNow": iso(business_clock.now())}
