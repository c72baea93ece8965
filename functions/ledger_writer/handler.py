"""ledger_writer: the invoice lifecycle (meterplex.billing.v1) → append-only ledger entries and
balances; replaying any message adds nothing; poison → dead letters. See meterplex.billing.ledger."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEventRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.billing.dependencies import ledger
from meterplex.billing.ledger import LedgerEntry, entry_for
from meterplex.platform.consumer import KafkaConsumer, domain_event_of
from meterplex.platform.observability import logger, metrics, tracer


def parse(record: KafkaEventRecord) -> LedgerEntry | None:
    return entry_for(domain_event_of(record))  # None: an event that makes no entry


consumer = KafkaConsumer("ledger_writer", parse)


def write(entry: LedgerEntry) -> str:
    recorded = ledger().record(entry)
    return f"ledger entry {entry.id} {'recorded' if recorded else 'already recorded'}"


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer.run(event, context, write)
