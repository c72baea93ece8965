"""More speed-ups of moto's request path that keep every answer identical (ADR 0072 amendments).

Measured with py-spy on moto under `BatchExecuteStatement` INSERTs of usage items (the ingest
path): of moto's busy time, a stream record cost 17 % — 8 % in one `json.dumps` of the whole record
only to measure it, 5 % in moto's seeded Python `uuid4` for its event id — and serializing the
batch's answer through moto's model-driven serializer another 7 %; walking the request through
moto's model-driven parser a further 20–25 % (sixth session).
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from typing import Any

from infra.local.aws import REGION
from infra.local.partiql_insert import insert_shapes


def cheap_stream_records() -> None:
    """Build a stream record without serializing it to measure it.

    moto sets a record's `SizeBytes` to the length of its own JSON dump ("a substantial
    overestimate", its comment says); DynamoDB's figure is the record's size. Here it is the sizes
    of the keys and images as moto already computes an item's size (names + values). Nothing of
    the platform reads `SizeBytes`. The event id is a random 32-hex-digit id as before, from
    `uuid.uuid4` (os.urandom) rather than moto's seeded generator in Python.
    """
    from moto.core.utils import utcnow
    from moto.dynamodb.models.table import StreamRecord
    from moto.dynamodb.models.utilities import bytesize

    if getattr(StreamRecord.__init__, "_cheap", False):
        return

    def __init__(
        self: Any, table: Any, stream_type: str, event_name: str, old: Any, new: Any, seq: int
    ) -> None:
        rec = old if old is not None else new
        keys = {table.hash_key_attr: rec.hash_key.to_json()}
        size = bytesize(table.hash_key_attr) + rec.hash_key.size()
        if table.range_key_attr is not None:
            keys[table.range_key_attr] = rec.range_key.to_json()
            size += bytesize(table.range_key_attr) + rec.range_key.size()
        dynamodb: dict[str, Any] = {
            "StreamViewType": stream_type,
            "ApproximateCreationDateTime": utcnow(),
            "SequenceNumber": str(seq),
            "SizeBytes": 0,
            "Keys": keys,
        }
        if stream_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and new is not None:
            dynamodb["NewImage"] = new.to_json()["Attributes"]
            size += new.size()
        if stream_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and old is not None:
            dynamodb["OldImage"] = old.to_json()["Attributes"]
            size += old.size()
        dynamodb["SizeBytes"] = size
        self.record = {
            "eventID": uuid.uuid4().hex,
            "eventName": event_name,
            "eventSource": "aws:dynamodb",
            "eventVersion": "1.0",
            "awsRegion": REGION,
            "dynamodb": dynamodb,
        }

    __init__._cheap = True  # type: ignore[attr-defined]
    StreamRecord.__init__ = __init__  # type: ignore[method-assign]


def plain_insert_answers() -> None:
    """Answer a BatchExecuteStatement of parameterised INSERTs with one `json.dumps`.

    Their answers (`native_partiql_inserts`) are plain JSON already — a table name, or an error's
    code and message per statement — which moto would walk through its model-driven serializer
    member by member. Any other batch (a SELECT returns items) is answered by moto as before.
    """
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.batch_execute_statement
    if getattr(original, "_plain", False):
        return

    def batch_execute_statement(self: Any) -> Any:
        statements = self.body.get("Statements", [])
        if insert_shapes(statements) is None:
            return original(self)
        return json.dumps({"Responses": self.dynamodb_backend.batch_execute_statement(statements)})

    batch_execute_statement._plain = True  # type: ignore[attr-defined]
    DynamoHandler.batch_execute_statement = batch_execute_statement  # type: ignore[method-assign]


# A blob parameter anywhere (`"B"`, `"BS"` as a key; also matches harmlessly inside an odd string)
_BLOB_KEY = re.compile(rb'"BS?"')


def plain_insert_requests() -> None:
    """Read a BatchExecuteStatement of parameterised INSERTs with `json.loads` alone.

    moto walks every request through its model-driven parser, member by member, to turn JSON into
    richer types — for DynamoDB that is base64 blobs into bytes (and numbers, timestamps of other
    operations). A batch of INSERT statements has no such member but a blob parameter: its parse is
    the JSON document itself. So when every statement is an INSERT and no parameter is a blob, the
    parameters are the loaded JSON; any other request is parsed by moto as before.
    """
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.parse_parameters
    if getattr(original, "_plain", False):
        return

    def parse_parameters(self: Any, request: Any) -> None:
        if self._get_action() == "BatchExecuteStatement":
            body = request.data
            if not _BLOB_KEY.search(body):
                try:
                    params = json.loads(body)
                except ValueError:
                    params = None
                if isinstance(params, dict) and insert_shapes(params.get("Statements")) is not None:
                    self.params = params
                    return
        original(self, request)

    parse_parameters._plain = True  # type: ignore[attr-defined]
    DynamoHandler.parse_parameters = parse_parameters  # type: ignore[method-assign]


def lean_dispatch() -> None:
    """Two costs moto pays on every request for nothing, dropped (sixth session, py-spy: 4 % of
    moto's time under ingest load).

    * moto looks for an XML `<RequestId>` in every answer to put its request id there — a regular
      expression over the whole body, a megabyte for a page of stream records; a JSON answer has
      none, so a body without that tag is left as it is (what the substitution would leave).
    * moto lists a handler class's methods (`inspect.getmembers`) on every request to check the
      action exists; the list is kept per class — its names never change (the emulator's patches
      replace methods, they add none).
    """
    import moto.core.responses as responses
    from moto.core.responses import BaseResponse

    if getattr(BaseResponse._enrich_response, "_lean", False):
        return
    enrich = BaseResponse._enrich_response

    def _enrich_response(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
        if isinstance(body, str) and "<RequestId>" not in body:
            return enrich(headers, "")[0], body
        return enrich(headers, body)

    _enrich_response._lean = True  # type: ignore[attr-defined]
    BaseResponse._enrich_response = staticmethod(_enrich_response)  # type: ignore[method-assign]
    responses.method_names_from_class = functools.lru_cache(maxsize=None)(responses.method_names_from_class)
