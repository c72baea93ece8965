"""Lambda Invoke (RequestResponse), the same call in AWS and in the local cloud.

In AWS the endpoint is Lambda's; locally `AWS_ENDPOINT_URL_LAMBDA` points botocore at the local
cloud's Lambda API (`infra/local/lambda_api.py`), so this code cannot tell the two apart.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from meterplex.testclock.service import InvocationFailed

# A scheduled function may run up to Lambda's 15 minutes; never retry an invoke behind our back
# (a retried firing would run twice).
CLIENT_CONFIG = Config(read_timeout=900, connect_timeout=5, retries={"total_max_attempts": 1})


@cache
def lambda_client() -> Any:
    return botocore.session.get_session().create_client("lambda", config=CLIENT_CONFIG)


class LambdaInvoker:
    def __init__(self, client: Any | None = None) -> None:
        self.client = client or lambda_client()

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        try:
            response = self.client.invoke(
                FunctionName=function,
                InvocationType="RequestResponse",
                Payload=json.dumps(event).encode("utf-8"),
            )
        except ClientError as error:
            details = error.response.get("Error", {})
            raise InvocationFailed(f"{details.get('Code')}: {details.get('Message')}") from error
        except BotoCoreError as error:
            raise InvocationFailed(str(error)) from error
        body = response["Payload"].read()
        result = json.loads(body) if body else None
        if response.get("FunctionError"):
            if isinstance(result, dict):
                raise InvocationFailed(f"{result.get('errorType')}: {result.get('errorMessage')}")
            raise InvocationFailed(f"function error: {result!r}")
        return result
