"""The topology is the one declaration: every route it lists is served by its function, every
route a function serves is listed, and every function it names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infra import topology
from meterplex.route_groups import ROUTE_GROUPS

ROOT = Path(__file__).resolve().parents[2]


def powertools_to_gateway(path: str) -> str:
    """`/plans/<plan_id>` → `/plans/{}` (parameter names may differ between the two syntaxes)."""
    return re.sub(r"<[^>]+>", "{}", path)


def gateway_shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def served_routes(function: str) -> set[tuple[str, str]]:
    served = set()
    for router in ROUTE_GROUPS[function]():
        for key in router._routes:
            rule, methods = key[0], key[1]
            for method in methods if isinstance(methods, tuple | list) else (methods,):
                served.add((method.upper(), powertools_to_gateway(rule)))
    return served


@pytest.mark.parametrize("function", sorted(ROUTE_GROUPS))
def test_function_serves_exactly_its_topology_routes(function: str) -> None:
    declared = {(r.method, gateway_shape(r.path)) for r in topology.routes_of(function)}
    assert served_routes(function) == declared


def test_every_routed_function_has_a_route_group_and_a_handler() -> None:
    for name in {r.function for r in topology.ROUTES} | {topology.FALLBACK_FUNCTION}:
        assert name in ROUTE_GROUPS, name
    for fn in topology.FUNCTIONS:
        assert (ROOT / "functions" / fn.name / "handler.py").is_file(), fn.name


def test_triggers_and_grants_name_declared_things() -> None:
    names = {f.name for f in topology.FUNCTIONS}
    tables = {t.name for t in topology.TABLES}
    topics = {t.name for t in topology.TOPICS}
    for trigger in topology.STREAM_TRIGGERS:
        assert trigger.function in names and trigger.table in tables
    for kafka in topology.KAFKA_TRIGGERS:
        assert kafka.function in names and kafka.topic in topics
    for schedule in topology.SCHEDULES:
        assert schedule.function in names
    for fn in topology.FUNCTIONS:
        assert set(fn.tables) <= tables and set(fn.produces) <= topics


def test_routes_are_unique() -> None:
    keys = [(r.method, gateway_shape(r.path)) for r in topology.ROUTES]
    assert len(keys) == len(set(keys))


def test_schedules_parse_target_no_schedule_runner_and_name_importable_completions() -> None:
    # The test clock's advance runs every schedule through admin_api (ADR 0050): a schedule aimed at
    # a function that itself runs schedules would have it invoke itself.
    from meterplex.platform.schedules import parse_expression
    from meterplex.testclock.targets import import_check

    runners = {fn.name for fn in topology.FUNCTIONS if fn.runs_schedules}
    assert runners == {"admin_api"}
    for schedule in topology.SCHEDULES:
        parse_expression(schedule.expression)
        assert schedule.function not in runners, schedule.name
        if schedule.completion:
            assert callable(import_check(schedule.completion)), schedule.completion
        if schedule.next_work:  # a hinted schedule must say when its work is done (ADR 0081)
            assert schedule.completion, schedule.name
            assert callable(import_check(schedule.next_work)), schedule.next_work


def test_queues_keys_and_queue_triggers_name_what_exists() -> None:
    queues, keys = {q.name for q in topology.QUEUES}, {k.name for k in topology.KEYS}
    for fn in topology.FUNCTIONS:
        assert set(fn.sends_to) <= queues and set(fn.keys) <= keys, fn.name
    functions = {fn.name for fn in topology.FUNCTIONS}
    for trigger in topology.QUEUE_TRIGGERS:
        assert trigger.queue in queues and trigger.function in functions
        # SQS wants the visibility timeout to cover the consumer's timeout (AWS advises 6 ×)
        consumer = next(fn for fn in topology.FUNCTIONS if fn.name == trigger.function)
        assert topology.queue(trigger.queue).visibility_timeout_s >= 6 * consumer.timeout_s
