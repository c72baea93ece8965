"""Check and consume rules (SPEC §5) against an in-memory grant store."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from meterplex.entitlements.grants import CounterMoved
from meterplex.entitlements.service import MAX_KEYED_ATTEMPTS, EntitlementService
from meterplex.platform.clock import FixedClock
from meterplex.platform.errors import Conflict, Forbidden, NotFound, Unavailable
from tests.unit.catalog.fakes import FakeGrantStore, grant

START = datetime(2026, 1, 31, 10, tzinfo=UTC)


@pytest.fixture
def store() -> FakeGrantStore:
    return FakeGrantStore()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START + timedelta(hours=1))


@pytest.fixture
def service(store: FakeGrantStore, clock: FixedClock) -> EntitlementService:
    return EntitlementService(store, clock)


def test_check_unknown_feature_is_allowed_false_type_unknown(service: EntitlementService) -> None:
    answer = service.check("t1", "nope")
    assert (answer["allowed"], answer["type"], answer["feature"]) == (False, "UNKNOWN", "nope")
    assert answer["reason"]


def test_check_boolean_reports_its_value(service: EntitlementService, store: FakeGrantStore) -> None:
    store.put(grant(feature_key="sso", feature_type="BOOLEAN", started_at=START, value=True))
    assert service.check("t1", "sso") == {"allowed": True, "feature": "sso", "type": "BOOLEAN"}


def test_check_quota_reports_limit_used_remaining_reset(
    service: EntitlementService, store: FakeGrantStore
) -> None:
    store.put(grant(started_at=START, limit=10, limit_behavior="HARD"))
    service.consume("t1", "api_calls", 4)
    answer = service.check("t1", "api_calls", amount=7)
    assert answer == {
        "allowed": False,
        "feature": "api_calls",
        "type": "QUOTA",
        "limit": 10,
        "used": 4,
        "remaining": 6,
        "resetAt": "2026-02-28T10:00:00.000Z",
        "limitBehavior": "HARD",
    }


def test_check_metered_reports_overage(service: EntitlementService, store: FakeGrantStore) -> None:
    store.put(
        grant(
            feature_key="storage",
            feature_type="METERED",
            started_at=START,
            included_amount=10,
            overage_price=200,
        )
    )
    service.consume("t1", "storage", 15)
    answer = service.check("t1", "storage")
    assert (answer["allowed"], answer["used"], answer["overage"], answer["includedAmount"]) == (
        True,
        15,
        5,
        10,
    )


def test_check_costs_one_store_call(service: EntitlementService, store: FakeGrantStore) -> None:
    store.put(grant(started_at=START, limit=10, limit_behavior="HARD"))
    store.calls = 0
    service.check("t1", "api_calls")
    assert store.calls == 1


def test_consume_hard_over_limit_is_quota_exceeded(
    service: EntitlementService, store: FakeGrantStore
) -> None:
    store.put(grant(started_at=START, limit=10, limit_behavior="HARD"))
    assert service.consume("t1", "api_calls", 10)["remaining"] == 0
    with pytest.raises(Forbidden) as error:
        service.consume("t1", "api_calls", 1)
    assert error.value.code == "QUOTA_EXCEEDED"


def test_consume_soft_over_limit_is_allowed_with_overage(
    service: EntitlementService, store: FakeGrantStore
) -> None:
    store.put(grant(started_at=START, limit=10, limit_behavior="SOFT", overage_price=10))
    answer = service.consume("t1", "api_calls", 12)
    assert (answer["used"], answer["remaining"], answer["overage"]) == (12, 0, 2)


def test_consume_boolean_is_403_and_unknown_is_404(
    service: EntitlementService, store: FakeGrantStore
) -> None:
    store.put(grant(feature_key="sso", feature_type="BOOLEAN", started_at=START, value=True))
    with pytest.raises(Forbidden) as error:
        service.consume("t1", "sso")
    assert error.value.code == "FEATURE_NOT_CONSUMABLE"
    with pytest.raises(NotFound) as missing:
        service.consume("t1", "nope")
    assert missing.value.code == "FEATURE_NOT_IN_PLAN"


def test_consume_hard_quota_costs_one_store_call(service: EntitlementService, store: FakeGrantStore) -> None:
    store.put(grant(started_at=START, limit=10, limit_behavior="HARD"))
    store.calls = 0
    service.consume("t1", "api_calls")
    assert store.calls == 1


def test_consume_repeated_idempotency_key_returns_first_answer_and_counts_once(
    service: EntitlementService, store: FakeGrantStore
) -> None:
    store.put(grant(started_at=START, limit=10, limit_behavior="HARD"))
    first = service.consume("t1", "api_calls", 3, idempotency_key="k")
    again = service.consume("t1", "api_calls", 3, idempotency_key="k")
    assert again == first
    assert service.check("t1", "api_calls")["used"] == 3


def test_consume_idempotency_key_is_bound_to_feature_and_amount(
    service: EntitlementService, store: FakeGrantStore
) -> None:
    store.put(grant(started_at=START, limit=10, limit_behavior="HARD"))
    service.consume("t1", "api_calls", 3, idempotency_key="k")
    with pytest.raises(Conflict) as reused:
        service.consume("t1", "api_calls", 4, idempotency_key="k")
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert service.check("t1", "api_calls")["used"] == 3


def test_keyed_retry_of_a_request_that_filled_the_quota_still_gets_its_answer(
    service: EntitlementService, store: FakeGrantStore
) -> None:
    store.put(grant(started_at=START, limit=3, limit_behavior="HARD"))
    first = service.consume("t1", "api_calls", 3, idempotency_key="k")
    assert service.consume("t1", "api_calls", 3, idempotency_key="k") == first  # not QUOTA_EXCEEDED
    with pytest.raises(Forbidden):
        service.consume("t1", "api_calls", 1, idempotency_key="other")


class AlwaysMoved(FakeGrantStore):
    def add_usage_once(self, seen, amount, now, idempotency_key, answer):  # type: ignore[no-untyped-def]
        self.calls += 1
        return CounterMoved(seen)


def test_keyed_consume_that_always_loses_the_race_is_503_with_retry_after(clock: FixedClock) -> None:
    store = AlwaysMoved()
    store.put(grant(started_at=START, limit=10, limit_behavior="SOFT", overage_price=1))
    service = EntitlementService(store, clock, sleep=lambda _: None)
    with pytest.raises(Unavailable) as busy:
        service.consume("t1", "api_calls", 1, idempotency_key="k")
    assert busy.value.headers["Retry-After"] == "1"
    assert store.calls == 1 + MAX_KEYED_ATTEMPTS  # one read, then only writes: each returns the grant


def test_consume_after_window_end_rolls_to_a_fresh_window_and_archives_the_old(
    service: EntitlementService, store: FakeGrantStore, clock: FixedClock
) -> None:
    store.put(grant(started_at=START, limit=10, limit_behavior="HARD"))
    service.consume("t1", "api_calls", 10)
    clock.set(datetime(2026, 2, 28, 10, tzinfo=UTC))  # Feb 28: the next window begins
    assert service.check("t1", "api_calls")["used"] == 0
    assert service.consume("t1", "api_calls", 2)["used"] == 2
    assert store.windows[("t1", "api_calls", "2026-01-31T10:00:00.000Z")] == 10


def test_never_reset_window_spans_the_subscription(
    service: EntitlementService, store: FakeGrantStore, clock: FixedClock
) -> None:
    store.put(
        grant(
            feature_key="team_seats", started_at=START, reset_period="NEVER", limit=3, limit_behavior="HARD"
        )
    )
    service.consume("t1", "team_seats", 2)
    clock.set(START + timedelta(days=400))
    answer = service.check("t1", "team_seats")
    assert (answer["used"], answer["resetAt"]) == (2, None)


def test_trial_window_ends_at_trial_end(
    service: EntitlementService, store: FakeGrantStore, clock: FixedClock
) -> None:
    trial_end = START + timedelta(days=14)
    store.put(grant(started_at=START, trial_ends_at=trial_end, limit=10, limit_behavior="HARD"))
    assert service.check("t1", "api_calls")["resetAt"] == "2026-02-14T10:00:00.000Z"
    clock.set(trial_end + timedelta(hours=1))
    assert service.check("t1", "api_calls")["resetAt"] == "2026-03-14T10:00:00.000Z"


def test_ended_grant_is_not_in_plan(
    service: EntitlementService, store: FakeGrantStore, clock: FixedClock
) -> None:
    from dataclasses import replace

    store.put(
        replace(grant(started_at=START, limit=10, limit_behavior="HARD"), ends_at="2026-02-01T00:00:00.000Z")
    )
    clock.set(datetime(2026, 2, 1, tzinfo=UTC))
    assert service.check("t1", "api_calls")["type"] == "UNKNOWN"
    with pytest.raises(NotFound):
        service.consume("t1", "api_calls")


def test_concurrent_consumes_never_overshoot_a_hard_limit(
    service: EntitlementService, store: FakeGrantStore
) -> None:
    store.put(grant(started_at=START, limit=10, limit_behavior="HARD"))
    outcomes: list[str] = []

    def one() -> None:
        try:
            service.consume("t1", "api_calls", 1)
            outcomes.append("ok")
        except Forbidden:
            outcomes.append("denied")

    threads = [threading.Thread(target=one) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (outcomes.count("ok"), outcomes.count("denied")) == (10, 40)


class ThrottledOnce(FakeGrantStore):
    """The grant's item refuses its next write as DynamoDB does past its write rate (after
    botocore's and `retrying`'s retries: Unavailable); switching it works, as a later write would."""

    def __init__(self) -> None:
        super().__init__()
        self.throttled = 1

    def add_usage(self, tenant_id: str, feature_key: str, amount: int, now: datetime):  # type: ignore[no-untyped-def]
        if self.throttled:
            self.throttled -= 1
            raise Unavailable("The database is busy; retry the request", retry_after_s=1)
        return super().add_usage(tenant_id, feature_key, amount, now)

    def set_throughput(self, tenant_id: str, feature_key: str, high: bool = True):  # type: ignore[no-untyped-def]
        from dataclasses import replace

        switched = replace(self.grants[(tenant_id, feature_key)], throughput="HIGH" if high else None)
        self.put(switched)
        return switched

    def give_back(self, grant, amount):  # type: ignore[no-untyped-def]
        return True


def test_a_throttled_hard_grant_switches_to_leases_and_serves_the_consume(clock: FixedClock) -> None:
    # GIVEN a HARD grant whose one item is past its write rate
    store = ThrottledOnce()
    store.put(grant(feature_key="hard", started_at=START, limit=1_000))
    service = EntitlementService(store, clock)
    # WHEN a consume is throttled
    answer = service.consume("t1", "hard", 1)
    # THEN the grant is switched and the consume was served from a lease (a block reserved at once)
    switched = store.grants[("t1", "hard")]
    assert switched.throughput == "HIGH" and switched.used > 1
    assert (answer["consumed"], answer["used"]) == (1, 1)
    calls = store.calls
    # AND the next consumes are spent from that lease without a write
    for n in range(2, 6):
        assert service.consume("t1", "hard", 1)["used"] == n
    assert store.calls == calls
