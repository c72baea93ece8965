"""`python -m infra.local serve | invoke <function> <event.json> | openapi | clock … | trace <id>`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from infra.local.net import PortInUse

DEFAULT_PORT = 3000


def _serve(port: int) -> int:
    from infra.local.cloud import LocalCloud

    started = time.perf_counter()
    stop = threading.Event()
    wake = threading.Event()
    broker_wanted: list[bool] = []  # SIGUSR1: stop the broker, SIGUSR2: start it (fault drills)

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()
        wake.set()

    def _on_broker_signal(signum: int, frame: FrameType | None) -> None:
        broker_wanted.append(signum == signal.SIGUSR2)
        wake.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGUSR1, _on_broker_signal)
    signal.signal(signal.SIGUSR2, _on_broker_signal)
    cloud = LocalCloud(port=port)
    cloud.start()  # a taken port raises here, before anything runs: main() prints one line
    try:
        kafka = cloud.kafka.bootstrap if cloud.kafka else "off"
        print(
            f"Meterplex local cloud ready in {time.perf_counter() - started:.1f}s\n"
            f"  API       {cloud.url}/api/v1\n"
            f"  Docs      {cloud.url}/api/docs\n"
            f"  Health    {cloud.url}/health\n"
            f"  DynamoDB  {cloud.moto.endpoint} (moto)\n"
            f"  Kafka     {kafka} (tansu)\n"
            "Ctrl-C to stop.",
            flush=True,
        )
        while not stop.is_set():
            wake.wait()
            wake.clear()
            while broker_wanted and cloud.kafka is not None and not stop.is_set():
                if broker_wanted.pop(0):
                    cloud.kafka.restart(cloud.topology.TOPICS)
                    print("kafka broker started (SIGUSR2)", flush=True)
                else:
                    cloud.kafka.stop()
                    print("kafka broker stopped (SIGUSR1)", flush=True)
    finally:
        print("stopping the local cloud…", flush=True)
        cloud.stop()
    return 0


def _invoke(function: str, event_file: Path) -> int:
    from infra import topology
    from infra.local.cloud import LocalCloud

    event = json.loads(event_file.read_text(encoding="utf-8"))
    try:
        spec = topology.function(function)
        needs_kafka = bool(spec.produces or spec.kafka_describe)
    except KeyError:
        needs_kafka = False
    cloud = LocalCloud(
        with_kafka=needs_kafka, with_gateway=False, with_pollers=False, moto_port=0, kafka_port=0
    )
    with cloud:
        result = cloud.invoke(function, event)
    print(json.dumps(result, indent=2, default=str))
    return 0


def _openapi() -> int:
    from meterplex.docs.openapi import openapi_json

    print(openapi_json())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description="Meterplex local cloud")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the whole platform (what `make dev` runs)")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    invoke = commands.add_parser("invoke", help="run one function on a sample event, print its result")
    invoke.add_argument("function")
    invoke.add_argument("event", type=Path)
    commands.add_parser("openapi", help="print the merged OpenAPI document")
    clock = commands.add_parser("clock", help="show, advance or reset the running local cloud's test clock")
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--url",
        default=f"http://127.0.0.1:{os.environ.get('PORT', DEFAULT_PORT)}",
        help="the local cloud (default http://127.0.0.1:$PORT)",
    )
    actions = clock.add_subparsers(dest="action", required=True)
    actions.add_parser("show", parents=[where], help="business time and whether it is frozen")
    actions.add_parser("reset", parents=[where], help="back to real time")
    advance = actions.add_parser(
        "advance", parents=[where], help="move forward, running every schedule that comes due"
    )
    advance.add_argument("--days", type=int, help="how many days forward (with --hours: both)")
    advance.add_argument("--hours", type=int, help="how many hours forward")
    advance.add_argument("--to", help="an ISO 8601 instant to advance to (instead of a duration)")
    advance.add_argument("--run-on", action="store_true", help="let the clock run from there, not freeze")
    trace = commands.add_parser(
        "trace", help="print one correlation id's path through the functions' logs, with timings"
    )
    trace.add_argument("correlation_id")
    trace.add_argument(
        "--logs",
        type=Path,
        default=None,
        help="the local cloud's log directory (default: $MP_LOCAL_LOGS_DIR, else .local/logs)",
    )
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=os.environ.get("MP_LOCAL_LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(message)s"
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
    logging.getLogger("botocore.credentials").setLevel(logging.WARNING)
    try:
        if args.command == "serve":
            return _serve(args.port)
        if args.command == "invoke":
            return _invoke(args.function, args.event)
        if args.command == "trace":
            from infra.local.cloud import STATE_DIR
            from infra.local.telemetry import logs_directory
            from infra.local.trace import run as trace_run

            return trace_run(args.correlation_id, args.logs or logs_directory(STATE_DIR))
        if args.command == "clock":
            from infra.local.clock_cli import run

            options = vars(args)
            return run(
                args.action,
                url=args.url,
                days=options.get("days"),
                hours=options.get("hours"),
                to=options.get("to"),
                run_on=options.get("run_on", False),
            )
        return _openapi()
    except PortInUse as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
