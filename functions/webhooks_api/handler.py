"""webhooks_api: the payment providers' webhooks, verified and stored (routes in infra/topology.py)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.platform.api import create_app
from meterplex.platform.observability import logger, metrics, tracer
from meterplex.route_groups import ROUTE_GROUPS

app = create_app(*ROUTE_GROUPS["webhooks_api"]())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
