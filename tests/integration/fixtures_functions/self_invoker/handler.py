"""A test function that invokes itself through the Lambda API, as a buggy schedule target might."""

import json

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError


def lambda_handler(event: dict, context: object) -> dict:
    if event.get("inner"):
        return {"inner": True}
    config = Config(retries={"total_max_attempts": 1})
    client = botocore.session.get_session().create_client("lambda", config=config)
    try:
        client.invoke(FunctionName="self_invoker", Payload=json.dumps({"inner": True}).encode())
    except ClientError as error:
        return {"error": error.response["Error"]["Code"]}
    return {"error": None}
