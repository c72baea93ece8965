"""entitlements_api: the hot path (see infra/topology.py for its routes).

No Powertools Tracer here: it imports the X-Ray SDK, doubling the cold start; Lambda's active
tracing still records every invocation (bench/import_time.py measures the module).
"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.platform.api import create_app
from meterplex.platform.observability import logger, metrics
from meterplex.route_groups import ROUTE_GROUPS

app = create_app(*ROUTE_GROUPS["entitlements_api"]())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
