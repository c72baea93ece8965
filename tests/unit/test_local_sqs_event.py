"""The local SQS poller hands a function Lambda's SQS event shape, message attributes included (the
`x-correlation-id` a webhook attempt runs under, ADR 0105)."""

from __future__ import annotations

from infra.local.queues import sqs_event
from meterplex.platform.sqs_messages import correlation_attributes, correlation_id_of_message


def test_sqs_event_carries_each_messages_attributes_in_lambdas_shape() -> None:
    # GIVEN what ReceiveMessage answers for a message sent with the correlation attribute, and one without
    received = [
        {
            "MessageId": "m-1",
            "ReceiptHandle": "r-1",
            "Body": "{}",
            "MessageAttributes": correlation_attributes("req-9"),
        },
        {"MessageId": "m-2", "ReceiptHandle": "r-2", "Body": "{}"},
    ]
    # WHEN the poller builds the function's event
    first, second = sqs_event(received, "arn:aws:sqs:us-east-1:000000000000:q")["Records"]
    # THEN the consumer reads the id back from the first and none from the second
    assert first["messageAttributes"]["x-correlation-id"]["stringValue"] == "req-9"
    assert (correlation_id_of_message(first), correlation_id_of_message(second)) == ("req-9", None)
    assert correlation_attributes(None) == {}
