"""moto reads a batch of parameterised INSERTs with json.loads alone (infra.local.moto_records
.plain_insert_requests); every other request still goes through moto's model-driven parser."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from moto.core.parse import JSONParser
from moto.dynamodb.responses import DynamoHandler

from infra.local.moto_records import plain_insert_requests

INSERT = """INSERT INTO "t" VALUE {'pk': ?, 'n': ?, 'm': ?}"""
NESTED = [{"BOOL": True}, {"NULL": True}, {"SS": ["a", "b"]}]


def handler(action: str) -> DynamoHandler:
    plain_insert_requests()
    handler = DynamoHandler()
    handler.querystring = {}
    handler.headers = {"X-Amz-Target": f"DynamoDB_20120810.{action}"}
    handler.uri_match = {}
    return handler


def request(body: dict[str, Any]) -> Any:
    data = json.dumps(body).encode()
    return SimpleNamespace(
        data=data, method="POST", values={}, headers={}, path="/", content_type="application/x-amz-json-1.0"
    )


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The bodies moto's own parser was asked to walk."""
    seen: list[Any] = []
    original = JSONParser.parse

    def parse(self: Any, request_dict: dict[str, Any]) -> Any:
        seen.append(request_dict["body"])
        return original(self, request_dict)

    monkeypatch.setattr(JSONParser, "parse", parse)
    return seen


def test_an_insert_batch_is_its_json_without_moto_walking_it(parses: list[Any]) -> None:
    body = {
        "Statements": [
            {
                "Statement": INSERT,
                "Parameters": [
                    {"S": f"k{i}"},
                    {"N": "1"},
                    {"M": {"x": {"L": [{"BOOL": True}, {"NULL": True}]}}},
                ],
            }
            for i in range(3)
        ]
    }
    moto = handler("BatchExecuteStatement")
    moto.parse_parameters(request(body))
    assert moto.params == body
    assert parses == []


def test_a_blob_parameter_or_another_statement_is_parsed_by_moto(parses: list[Any]) -> None:
    blob = {"Statements": [{"Statement": INSERT, "Parameters": [{"S": "k"}, {"B": "AQI="}, {"M": {}}]}]}
    select = {"Statements": [{"Statement": 'SELECT * FROM "t" WHERE pk = ?', "Parameters": [{"S": "k"}]}]}
    for body in (blob, select):
        moto = handler("BatchExecuteStatement")
        moto.parse_parameters(request(body))
    assert len(parses) == 2
    # a blob is decoded as moto decodes it (base64 → bytes): only moto's parser does that
    other = handler("PutItem")
    other.parse_parameters(request({"TableName": "t", "Item": {"pk": {"S": "k"}}}))
    assert len(parses) == 3


def test_answers_keep_their_request_id_without_a_regular_expression_over_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import re

    from moto.core.responses import BaseResponse

    from infra.local.moto_records import lean_dispatch

    lean_dispatch()
    scanned: list[str] = []
    original = re.sub

    def sub(pattern: Any, replacement: Any, text: Any, *args: Any, **kwargs: Any) -> Any:
        scanned.append(text)
        return original(pattern, replacement, text, *args, **kwargs)

    monkeypatch.setattr(re, "sub", sub)
    body = json.dumps({"Records": [{"n": i} for i in range(1000)]})
    headers, answered = BaseResponse._enrich_response({"status": 200}, body)  # type: ignore[arg-type]
    assert answered == body and headers["status"] == "200" and headers["x-amzn-requestid"]
    assert body not in scanned  # the JSON answer was not scanned for an XML tag
    xml = "<R><RequestId>old</RequestId></R>"
    headers, answered = BaseResponse._enrich_response({}, xml)
    assert answered == f"<R><RequestId>{headers['x-amzn-requestid']}</RequestId></R>"
