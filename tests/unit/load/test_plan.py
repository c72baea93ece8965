"""The runner ↔ swarm contract (load/plan.py): a Plan and an Outcome survive their JSON file."""

from __future__ import annotations

from pathlib import Path

from load.plan import Endpoint, Outcome, Payment, Plan, RouteStats, Tenant


def test_a_plan_round_trips_through_its_file(tmp_path: Path) -> None:
    hooked = Tenant(
        "t-1",
        "s-1",
        "2026-12-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
        owner_email="o@example.com",
        member_token="jwt",
        api_key="mp_live_x",
        endpoints=[Endpoint("e-1", "/t/0/invoices", ["invoice.finalized"])],
    )
    plain = Tenant("t-2", "s-2", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z", "o@example.com", "jwt")
    plan = Plan(
        url="http://127.0.0.1:1/api/v1",
        metered="load_events_x",
        quota="load_quota_x",
        quota_limit=15,
        tenants=[hooked, plain],
        payments=[Payment("t-1", "inv-1", "fake_pi_1", 2900, "usd")],
        business_now="2027-01-02T00:06:00.000Z",
        fail_percent=10,
    )
    plan.save(tmp_path / "plan.json")

    loaded = Plan.load(tmp_path / "plan.json")

    assert loaded == plan
    assert loaded.traffic() == [hooked] and loaded.hooked() == [hooked]


def test_an_outcome_round_trips_through_its_file(tmp_path: Path) -> None:
    outcome = Outcome(
        "traffic",
        seconds=60.2,
        routes=[RouteStats("POST", "/usage/events", 10, 0, 1.5, 120.0, 480.0)],
        accepted_units={"t-1": 30},
        granted_units={"t-1": 15},
        webhook_tests=[{"path": "/t/0/invoices", "eventId": "evt", "sentAt": 1.0}],
    )
    outcome.save(tmp_path / "outcome.json")

    assert Outcome.load(tmp_path / "outcome.json") == outcome
