"""`GetRecords` for the local event source mapping, read as the JSON document it is.

Lambda's event source mapping reads a stream on AWS's side; locally the stream poller does it in
the local cloud's process, beside the functions. Through boto3, a page of 1,000 usage records is
walked by botocore's model-driven parser attribute by attribute — a sixth of the local cloud's busy
time under ingest load (py-spy, sixth session) — only for `stream_poller.lambda_record` to turn
its timestamps back into numbers. Lambda's event carries the records in the wire's own shape
(DynamoDB JSON, binary values in base64, `ApproximateCreationDateTime` in epoch seconds), so the
poller sends the same signed request and keeps the answer's JSON. Errors are raised with the
service's error code, as boto3 would name them.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from infra.local.aws import REGION

TARGET = "DynamoDBStreams_20120810.GetRecords"
SIGNING_NAME = "dynamodb"  # DynamoDB Streams signs as DynamoDB
TIMEOUT_S = 30


class StreamReadError(RuntimeError):
    """A GetRecords call the service refused: `code` is its error type (e.g. ExpiredIteratorException)."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code}: {message} (HTTP {status})")
        self.code = code
        self.status = status


class StreamReader:
    """Reads pages of one stream endpoint's records over one kept-alive connection pool."""

    def __init__(self, endpoint_url: str) -> None:
        self.url = endpoint_url.rstrip("/") + "/"
        self._pool = urllib3.PoolManager(maxsize=1, retries=False, timeout=TIMEOUT_S)
        credentials = boto3.Session().get_credentials()
        if credentials is None:
            raise RuntimeError("no AWS credentials to sign GetRecords with")
        self._signer = SigV4Auth(credentials.get_frozen_credentials(), SIGNING_NAME, REGION)

    def get_records(self, shard_iterator: str, limit: int) -> dict[str, Any]:
        """One page: `Records` (Lambda's record fields, as sent) and `NextShardIterator`."""
        body = json.dumps({"ShardIterator": shard_iterator, "Limit": limit}).encode()
        request = AWSRequest(
            method="POST",
            url=self.url,
            data=body,
            headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": TARGET},
        )
        self._signer.add_auth(request)
        response = self._pool.request("POST", self.url, body=body, headers=dict(request.headers.items()))
        try:
            answer = json.loads(response.data or b"{}")
        except ValueError:
            answer = {}
        if response.status != 200:
            fields = answer if isinstance(answer, dict) else {}
            code = str(fields.get("__type", "HTTP")).rsplit("#", 1)[-1]
            text = (response.data or b"").decode("utf-8", "replace")[:200]
            message = str(fields.get("message") or fields.get("Message") or text)
            raise StreamReadError(code, message, response.status)
        if not isinstance(answer, dict):
            raise StreamReadError("MalformedResponse", "not a JSON object", response.status)
        return answer
