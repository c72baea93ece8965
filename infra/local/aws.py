"""DynamoDB (and the rest of AWS we use) on moto server, with the topology's tables created.

Every boto3/PynamoDB client in the process reaches moto through `AWS_ENDPOINT_URL`: pointing the
platform at the emulator is configuration, not code.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import boto3

from infra.local.net import LOCALHOST, ensure_free

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

    from infra.topology import Table

log = logging.getLogger("localcloud.aws")

PORT_ENV = "MP_MOTO_PORT"
DEFAULT_PORT = 4566
REGION = "us-east-1"
ACCOUNT_ID = "000000000000"

# Fake credentials: nothing local may ever reach a real account.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def aws_environment(endpoint: str) -> dict[str, str]:
    """The variables that send every AWS SDK client of the process to `endpoint`."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        **FAKE_CREDENTIALS,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        # botocore >= 1.36 sends DynamoDB Streams calls to account endpoints moto does not route.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }


def physical_table_name(stage: str, table: Table) -> str:
    return f"meterplex-{stage}-{table.name}"


_WRITE_LOCK = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")


def linearize_dynamodb_writes() -> None:
    """Make moto's DynamoDB writes linearizable, as DynamoDB's are.

    moto's threaded server evaluates a write's condition and applies it without a lock, so two
    concurrent requests can both pass `attribute_not_exists` or `room >= :amount` — a HARD limit
    overshot, two live subscriptions. Real DynamoDB never allows that, so the emulator must not
    either. Idempotent; applies to every moto backend in this process.
    """
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITES:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_linearized", False):
            continue

        def locked(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _WRITE_LOCK:
                return __original(*args, **kwargs)

        locked._linearized = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, locked)


class MotoServer:
    """moto's threaded server on 127.0.0.1 (`MP_MOTO_PORT`, default 4566; 0 = a free port)."""

    def __init__(self, port: int | None = None) -> None:
        self._requested = int(os.environ.get(PORT_ENV, DEFAULT_PORT)) if port is None else port
        self._server: ThreadedMotoServer | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def start(self) -> str:
        from moto.server import ThreadedMotoServer

        # moto's server thread dies silently on a taken port (start() would then hang): check first.
        self.port = ensure_free(self._requested, PORT_ENV)
        linearize_dynamodb_writes()
        self._server = ThreadedMotoServer(ip_address=LOCALHOST, port=self.port, verbose=False)
        self._server.start()
        log.info("moto server listening on %s", self.endpoint)
        return self.endpoint

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def dynamodb_client(endpoint: str | None = None) -> Any:
    endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL")
    return boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)


def create_tables(tables: Iterable[Table], names: Mapping[str, str], endpoint: str | None = None) -> None:
    """Create each table as the CDK declares it: pk/sk strings, GSIs, on demand, streams, TTL.

    `names` maps a logical table name to its physical name.
    """
    client = dynamodb_client(endpoint)
    for table in tables:
        name = names[table.name]
        attributes = {table.partition_key, table.sort_key}
        for index in table.indexes:
            attributes |= {index.partition_key, index.sort_key}
        request: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
            "KeySchema": [
                {"AttributeName": table.partition_key, "KeyType": "HASH"},
                {"AttributeName": table.sort_key, "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        }
        if table.indexes:
            request["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": index.name,
                    "KeySchema": [
                        {"AttributeName": index.partition_key, "KeyType": "HASH"},
                        {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index in table.indexes
            ]
        client.create_table(**request)
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
        )
        log.info("table %s created (%s)", table.name, name)
