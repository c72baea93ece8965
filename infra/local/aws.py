"""DynamoDB (and the rest of AWS we use) on moto server, with the topology's tables created.

Every boto3/PynamoDB client in the process reaches moto through `AWS_ENDPOINT_URL`: pointing the
platform at the emulator is configuration, not code.
"""

from __future__ import annotations

import base64
import contextvars
import copy
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from infra.local.net import LOCALHOST, ensure_free
from infra.local.partiql_insert import insert_shapes
from infra.local.processes import die_with_this_process, stop

if TYPE_CHECKING:
    from infra.topology import Table

log = logging.getLogger("localcloud.aws")

PORT_ENV = "MP_MOTO_PORT"
# moto keeps HTTP/1.1 connections open (infra/local/keep_alive.py, ADR 0072 amendments) unless
# this is "0" (werkzeug's close-per-request server, as before)
KEEP_ALIVE_ENV = "MP_MOTO_KEEP_ALIVE"
DEFAULT_PORT = 4566
START_TIMEOUT_S = 30
REGION = "us-east-1"
ACCOUNT_ID = "000000000000"

# Fake credentials: nothing local may ever reach a real account.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def keep_alive_on() -> bool:
    return os.environ.get(KEEP_ALIVE_ENV, "1") != "0"


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
_WRITES = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "batch_write_item",
    "batch_execute_statement",
    "execute_statement",
    "execute_transaction",
)
# Reads that iterate a table (Query, Scan) take the lock too: moto iterates its item dicts while a
# concurrent put may add to them ("dictionary changed size during iteration" → HTTP 500).
_ITERATING_READS = ("query", "scan")
# Item reads take it as well, around the whole request (moto serializes the live item after
# reading it): moto applies an UpdateItem's actions one by one to the live item, so an unlocked
# GetItem could answer a half-updated item (measured: 14 of 833 reads beside a writer setting 20
# attributes) — DynamoDB's item reads are atomic.
_ITEM_READ_REQUESTS = ("get_item", "batch_get_item", "transact_get_items")


def linearize_dynamodb_writes() -> None:
    """Make moto's DynamoDB writes linearizable, as DynamoDB's are.

    moto's threaded server evaluates a write's condition and applies it without a lock, so two
    concurrent requests can both pass `attribute_not_exists` or `room >= :amount` — a HARD limit
    overshot, two live subscriptions. Real DynamoDB never allows that, so the emulator must not
    either. Reads that need isolation (TransactGetItems, a single item's GetItem) or iterate
    tables (Query, Scan) take the same lock. Idempotent; applies to every moto backend in this process.
    """
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    # TransactGetItems is serializable with transactions in DynamoDB; moto reads its items one by
    # one in the request handler, so the lock is taken there, around the whole request.
    targets = [(DynamoDBBackend, n) for n in _WRITES + _ITERATING_READS] + [
        (DynamoHandler, n) for n in _ITEM_READ_REQUESTS
    ]
    for owner, name in targets:
        original = getattr(owner, name)
        if getattr(original, "_linearized", False):
            continue

        def locked(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _WRITE_LOCK:
                return __original(*args, **kwargs)

        locked._linearized = True  # type: ignore[attr-defined]
        setattr(owner, name, locked)


def cheap_transactions() -> None:
    """Give moto a TransactWriteItems that does not deep-copy whole tables.

    moto backs up every table a transaction touches with `copy.deepcopy` — once per item of the
    transaction — to roll back on a failed condition. A 100-item transaction on a table of 20,000
    items copies two million items: ingestion slowed down quadratically with the table's size.
    DynamoDB's semantics are kept: every condition is evaluated against the state before the
    transaction (items are distinct, so checking all first is the same thing); if any fails, nothing
    is written and the cancellation reasons say which, with `ALL_OLD` items as asked. Only then
    are the writes applied; should one of them fail, the touched items and stream are restored.
    Runs under the write lock (`linearize_dynamodb_writes`), so no other write interleaves.
    """
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType

    def _moto_key(table: Any, key: dict[str, Any]) -> tuple[Any, Any]:
        range_key = key.get(table.range_key_attr) if table.range_key_attr else None
        return DynamoType(key[table.hash_key_attr]), DynamoType(range_key) if range_key else None

    if getattr(DynamoDBBackend.transact_write_items, "_cheap", False):
        return

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        seen: set[tuple[str, str]] = set()
        planned: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = []
        errors: list[tuple[Any, Any, Any]] = []
        for entry in transact_items:
            if len(entry) > 1:
                raise TransactWriteSingleOpException
            op_type, op = next(iter(entry.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table = self.get_table(op["TableName"])
            if op_type == "Put":
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            unique = (str(op["TableName"]), str(dict(sorted(key.items()))))
            if unique in seen:
                raise MultipleTransactionsException()
            seen.add(unique)
            current = self.get_item(op["TableName"], key)
            condition = op.get("ConditionExpression")
            if condition is not None and not get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            ).expr(current):
                old = None
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    old = current.to_json()["Attributes"]
                errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
            else:
                errors.append((None, None, None))
            planned.append((op_type, op, op["TableName"], key))
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)
        # Apply. Remember what each touched item was, to restore it if a write fails midway.
        before = {
            (name, str(sorted(key.items()))): (name, key, copy.deepcopy(self.get_item(name, key)))
            for _, _, name, key in planned
        }
        streams = {
            name: len(self.get_table(name).stream_shard.items)
            for name in {n for _, _, n, _ in planned}
            if self.get_table(name).stream_shard is not None
        }
        try:
            for op_type, op, name, key in planned:
                names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                if op_type == "Put":
                    self.put_item(
                        name, op["Item"], expression_attribute_names=names, expression_attribute_values=values
                    )
                elif op_type == "Delete":
                    self.delete_item(
                        name, key, expression_attribute_names=names, expression_attribute_values=values
                    )
                elif op_type == "Update":
                    self.update_item(
                        name,
                        key,
                        update_expression=op["UpdateExpression"],
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
        except Exception:
            for name, key, item in before.values():
                table = self.get_table(name)
                if item is not None:
                    table.put_item(item.to_json()["Attributes"])
                elif table.get_item(*_moto_key(table, key)) is not None:
                    table.delete_item(*_moto_key(table, key))
            for name, length in streams.items():
                del self.get_table(name).stream_shard.items[length:]
            raise

    transact_write_items._cheap = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


MAX_BATCH_STATEMENTS = 25  # DynamoDB's BatchExecuteStatement limit


def native_partiql_inserts() -> None:
    """Give moto a BatchExecuteStatement that runs the platform's INSERTs as DynamoDB does.

    moto evaluates every PartiQL statement by converting *every item of every table* to JSON and
    querying that copy, and its INSERT overwrites an existing item. DynamoDB's INSERT writes the
    item only if none has its key — otherwise that statement's answer is the error
    `DuplicateItem` — and each statement is atomic on its own (the batch is not a transaction). A
    batch of such INSERTs (`partiql_insert`: values as parameters, or string and number literals)
    is run here directly on the table: the key checked, the item put (with its stream record), or
    `DuplicateItem` answered; any other statement shape is left to moto.
    Runs under the write lock (`linearize_dynamodb_writes`), so two batches racing for one key
    insert it once.
    """
    from moto.dynamodb.exceptions import MockValidationException
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = DynamoDBBackend.batch_execute_statement
    if getattr(original, "_native_inserts", False):
        return

    def batch_execute_statement(self: Any, statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        shapes = insert_shapes(statements)
        if shapes is None:
            return original(self, statements)
        if len(statements) > MAX_BATCH_STATEMENTS:
            raise MockValidationException(
                f"1 validation error detected: Value at 'statements' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_BATCH_STATEMENTS}"
            )
        responses: list[dict[str, Any]] = []
        for statement, shape in zip(statements, shapes, strict=True):
            table_name = shape.table
            values = statement.get("Parameters") or []
            if table_name not in self.tables:
                responses.append(
                    {"Error": {"Code": "ResourceNotFound", "Message": "Requested resource not found"}}
                )
                continue
            table = self.tables[table_name]
            if len(values) != len(shape.parameters) or not shape.distinct:
                responses.append(
                    {
                        "TableName": table_name,
                        "Error": {"Code": "ValidationError", "Message": "Number of parameters mismatch"},
                    }
                )
                continue
            item = shape.item(values)
            keys = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
            if any(k not in item for k in keys):
                responses.append(
                    {
                        "TableName": table_name,
                        "Error": {
                            "Code": "ValidationError",
                            "Message": "Missing a key attribute in the item",
                        },
                    }
                )
                continue
            range_key = DynamoType(item[table.range_key_attr]) if table.range_key_attr else None
            if table.get_item(DynamoType(item[table.hash_key_attr]), range_key) is not None:
                responses.append(
                    {
                        "TableName": table_name,
                        "Error": {
                            "Code": "DuplicateItem",
                            "Message": "Duplicate primary key exists in table",
                        },
                    }
                )
                continue
            table.put_item(item)
            responses.append({"TableName": table_name})
        return responses

    batch_execute_statement._native_inserts = True  # type: ignore[attr-defined]
    DynamoDBBackend.batch_execute_statement = batch_execute_statement  # type: ignore[method-assign]


def fast_stream_records() -> None:
    """Answer DynamoDB Streams `GetRecords` with one `json.dumps` of the records moto keeps.

    moto stores each stream record already in DynamoDB JSON, then runs it through its generic,
    model-driven response serializer attribute by attribute: a page of 1,000 usage records cost more
    CPU than writing them did (a quarter of all local-cloud time under ingest load, measured with
    py-spy). The answer is the same document — `Records`, `NextShardIterator`, and
    `ApproximateCreationDateTime` as epoch seconds and binary values in base64, as the JSON protocol
    sends timestamps and blobs — so every SDK parses it exactly as before.
    """
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    if getattr(DynamoDBStreamsHandler.get_records, "_fast", False):
        return

    def as_json(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, bytes):  # a binary attribute (B, BS): base64, as the JSON protocol sends blobs
            return base64.b64encode(value).decode("ascii")
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    def get_records(self: Any) -> str:
        limit = self._get_param("Limit")
        result = self.backend.get_records(self._get_param("ShardIterator"), 1000 if limit is None else limit)
        return json.dumps(result, default=as_json)

    get_records._fast = True  # type: ignore[attr-defined]
    DynamoDBStreamsHandler.get_records = get_records  # type: ignore[method-assign,assignment]


def cheap_item_sizes() -> None:
    """Check a new item's 400 KB limit once, not once per attribute.

    moto's item dict recomputes the size of *every* attribute each time one is added, so building
    an item of n attributes costs n² size computations — a sixth of moto's time per usage item.
    The same limit is checked on the same total, once, when the item is built.
    """
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    if getattr(Item.__init__, "_cheap", False):
        return

    def __init__(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        converted = {key: DynamoType(value) for key, value in attrs.items()}
        if sum(bytesize(key) + value.size() for key, value in converted.items()) > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        self.attrs = LimitedSizeDict()
        dict.update(self.attrs, converted)  # later additions still go through its per-key check

    __init__._cheap = True  # type: ignore[attr-defined]
    Item.__init__ = __init__  # type: ignore[method-assign]


def partition_queries() -> None:
    """Answer a Query of a table's own key from that partition's items, not from the whole table.

    moto's `Table.query` builds its candidates from `all_items()` — every item of the table,
    sorted — and then keeps those of the asked partition: each Query costs O(table log table).
    A daily job that reads a few partitions per tenant (the reconciliation run: invoices, ledger,
    payments) then costs tenants × table size, quadratic in the tenants (measured with py-spy on
    bench/billing_day.py: nine tenths of an idle day; ADR 0111). DynamoDB reads only the
    partition. While moto answers a base-table Query, its `all_items()` returns that partition's
    items in the same order (by range key) — the very items moto's own filter would keep — so
    the answer is unchanged. An index Query still sees every item, unsorted: moto sorts its
    candidates again by the index keys and the table's keys (unique per item), so the order it
    answers in does not depend on theirs — the whole table's sort was wasted. Scans are unchanged.
    """
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "_partitioned", False):
        return
    every_item, query = Table.all_items, Table.query

    def all_items(self: Any) -> list[Any]:
        asked = _QUERIED_PARTITION.get()
        if asked is None or asked[0] is not self:
            return every_item(self)
        if asked[1] is None:  # an index Query: every item, in any order (moto sorts them itself)
            return [item for partition in self.items.values() for item in partition.values()]
        return sorted((self.items.get(asked[1]) or {}).values(), key=lambda item: item.range_key)

    def partition_query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # moto's own call: (hash_key, range_comparison, range_objs, limit, exclusive_start_key,
        # scan_index_forward, projection_expressions, index_name, ...)
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if not self.range_key_attr or (hash_key is None and not index_name):
            return query(self, hash_key, *args, **kwargs)
        token = _QUERIED_PARTITION.set((self, None if index_name else hash_key))
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _QUERIED_PARTITION.reset(token)

    partition_query._partitioned = True  # type: ignore[attr-defined]
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = partition_query  # type: ignore[method-assign]


_QUERIED_PARTITION: contextvars.ContextVar[tuple[Any, Any] | None] = contextvars.ContextVar(
    "queried_partition", default=None
)


ITEM_SIZE_LIMIT = 405_000  # moto's own figure for DynamoDB's 400 KB (measured between 409 and 410 KB)


def apply_emulator_patches() -> None:
    """Everything the emulator changes in moto (each idempotent): DynamoDB's write semantics first,
    then the speed-ups that keep answers identical."""
    from infra.local.moto_records import (
        cheap_stream_records,
        lean_dispatch,
        plain_insert_answers,
        plain_insert_requests,
    )

    cheap_transactions()
    native_partiql_inserts()
    linearize_dynamodb_writes()
    fast_stream_records()
    cheap_item_sizes()
    partition_queries()
    cheap_stream_records()
    plain_insert_answers()
    plain_insert_requests()
    lean_dispatch()


def moto_app() -> Any:
    """moto's WSGI app, looking up the service of a host once.

    moto's dispatcher finds the backend of every request anew — listing moto's package folder on
    disk (an `isdir` per service) before matching URL patterns: 4 % of all local-cloud time under
    ingest load (py-spy). The answer for a host never changes, so it is remembered.
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    class Dispatcher(DomainDispatcherApplication):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._backends: dict[str | None, Any] = {}

        def get_backend_for_host(self, host: str | None) -> Any:  # called under the app's lock
            if host not in self._backends:
                self._backends[host] = super().get_backend_for_host(host)
            return self._backends[host]

    return Dispatcher(create_backend_app)


def serve_moto(port: int) -> None:
    """Serve moto on 127.0.0.1:`port` until killed (the child process `MotoServer` starts)."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from infra.local.keep_alive import KeepAliveMotoRequestHandler

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per request
    apply_emulator_patches()
    handler = KeepAliveMotoRequestHandler if keep_alive_on() else MotoRequestHandler
    make_server(LOCALHOST, port, moto_app(), threaded=True, request_handler=handler).serve_forever()


class MotoServer:
    """moto server on 127.0.0.1 (`MP_MOTO_PORT`, default 4566; 0 = a free port), in a process of
    its own: moto is the busiest part of the local cloud, and a process of its own gives it the
    second core (one Python process runs Python on one core at a time). Started like the broker
    (`processes.die_with_this_process`): it ends with this process, even when that is killed."""

    def __init__(self, port: int | None = None) -> None:
        self.requested_port = int(os.environ.get(PORT_ENV, DEFAULT_PORT)) if port is None else port
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    @property
    def process_id(self) -> int:
        """The server process's pid (0 when not running): for CPU accounting (bench/cpu.py)."""
        return self._process.pid if self._process is not None else 0

    def start(self) -> str:
        self.port = ensure_free(self.requested_port, PORT_ENV)
        root = str(Path(__file__).resolve().parents[2])
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "infra.local.aws", str(self.port)],
            cwd=root,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=None if log.isEnabledFor(logging.DEBUG) else subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches us, and we stop moto in order
            preexec_fn=die_with_this_process(),  # …and a SIGKILL of us takes moto with it
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto exited with code {self._process.returncode} on port {self.port}")
            try:
                socket.create_connection((LOCALHOST, self.port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto did not answer on {self.endpoint}") from None
                time.sleep(0.05)
        log.info("moto server listening on %s", self.endpoint)
        return self.endpoint

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        stop(process, 5)


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


if __name__ == "__main__":  # the moto child process: python -m infra.local.aws <port>
    serve_moto(int(sys.argv[1]))
