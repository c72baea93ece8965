"""A test function: records every event it receives and fails the records the test asks it to.

Tests reach this module through `FunctionRunner.load("recorder")` and set:
* FAIL_ONCE: keys (stream: NewImage pk; Kafka: decoded value) to report failed the next time only;
* FAIL_ALWAYS: keys to report failed every time;
* CRASH_NEXT: how many next invocations raise instead of answering.
"""

import base64
import threading

EVENTS: list[dict] = []
FAIL_ONCE: set[str] = set()
FAIL_ALWAYS: set[str] = set()
CRASH_NEXT = 0
LOCK = threading.Lock()


def _should_fail(key: str) -> bool:
    if key in FAIL_ALWAYS:
        return True
    if key in FAIL_ONCE:
        FAIL_ONCE.discard(key)
        return True
    return False


def lambda_handler(event: dict, context: object) -> dict:
    global CRASH_NEXT
    with LOCK:
        EVENTS.append(event)
        if CRASH_NEXT:
            CRASH_NEXT -= 1
            raise RuntimeError("crash requested by the test")
        failures = []
        for record in event.get("Records", []):  # DynamoDB stream
            key = record["dynamodb"].get("NewImage", {}).get("pk", {}).get("S", "")
            if _should_fail(key):
                failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
        for partition, records in (event.get("records") or {}).items():  # MSK
            for record in records:
                if _should_fail(base64.b64decode(record["value"]).decode()):
                    # Powertools BatchProcessor(EventType.Kafka)'s identifier shape
                    failures.append({"itemIdentifier": {"partition": partition, "offset": record["offset"]}})
        return {"batchItemFailures": failures}
