"""API Gateway REST API: every topology route, one cached REQUEST authorizer, the error envelope.

Unmatched paths reach the fallback function through `ANY /{proxy+}` (and `ANY /`), which answers the
404 envelope; API Gateway's own errors (Gateway Responses) use the same envelope shape.
"""

from __future__ import annotations

import json

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import topology as topo
from infra.constructs.config import StageConfig, Topology
from infra.constructs.nag import suppress
from meterplex.platform.auth import TENANT_HEADER

AUTHORIZATION_HEADER = "Authorization"
CORRELATION_HEADER = "x-correlation-id"
CORS_HEADERS = [AUTHORIZATION_HEADER, "Content-Type", TENANT_HEADER, CORRELATION_HEADER]

# Gateway response → (HTTP status or None to keep API Gateway's, error, code). The body is the
# project's error envelope (layers/meterplex/platform/errors.py).
GATEWAY_RESPONSES: dict[apigw.ResponseType, tuple[str | None, str, str]] = {
    apigw.ResponseType.UNAUTHORIZED: ("401", "Unauthorized", "UNAUTHORIZED"),
    apigw.ResponseType.ACCESS_DENIED: ("403", "Forbidden", "FORBIDDEN"),
    # An existing resource without the method: API Gateway says 403 "Missing Authentication
    # Token"; to a caller it is an unknown route.
    apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN: ("404", "Not Found", "NOT_FOUND"),
    apigw.ResponseType.THROTTLED: ("429", "Too Many Requests", "RATE_LIMITED"),
    apigw.ResponseType.QUOTA_EXCEEDED: ("429", "Too Many Requests", "RATE_LIMITED"),
    apigw.ResponseType.BAD_REQUEST_BODY: ("400", "Bad Request", "VALIDATION_FAILED"),
    apigw.ResponseType.REQUEST_TOO_LARGE: ("413", "Payload Too Large", "PAYLOAD_TOO_LARGE"),
    apigw.ResponseType.INTEGRATION_TIMEOUT: ("504", "Gateway Timeout", "UNAVAILABLE"),
    apigw.ResponseType.DEFAULT_4_XX: (None, "Bad Request", "BAD_REQUEST"),
    apigw.ResponseType.DEFAULT_5_XX: (None, "Internal Server Error", "INTERNAL_ERROR"),
}
_STATUS_IN_BODY = {"DEFAULT_4XX": "400", "DEFAULT_5XX": "500"}


def envelope_template(status: str, error: str, code: str) -> str:
    # $context.error.messageString is already a quoted JSON string.
    return (
        f'{{"statusCode":{status},"error":"{error}","code":"{code}",'
        '"message":$context.error.messageString,"correlationId":"$context.requestId",'
        '"timestamp":"$context.requestTime","path":"$context.path"}'
    )


ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency",
    "principalId": "$context.authorizer.principalId",
    "authorizerError": "$context.authorizer.error",
    "errorType": "$context.error.responseType",
    "xrayTraceId": "$context.xrayTraceId",
}


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StageConfig,
        topology: Topology,
        functions: dict[str, lambda_.Function],
    ) -> None:
        super().__init__(scope, id)
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=config.log_retention, removal_policy=config.removal_policy
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=config.name("api"),
            description="Meterplex REST API (routes from infra/topology.py)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name=config.stage,
                throttling_rate_limit=config.api_rate_limit,
                throttling_burst_limit=config.api_burst_limit,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT)),
            ),
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=apigw.Cors.ALL_ORIGINS,
                allow_methods=apigw.Cors.ALL_METHODS,
                allow_headers=CORS_HEADERS,
                expose_headers=[CORRELATION_HEADER, "Retry-After"],
                max_age=Duration.hours(1),
            ),
        )
        self.authorizer = apigw.RequestAuthorizer(
            self,
            "Authorizer",
            authorizer_name=config.name("authorizer"),
            handler=functions[topology.authorizer_function],
            identity_sources=[apigw.IdentitySource.header(AUTHORIZATION_HEADER)],
            # the revocation lag of reads; writes re-check the current state (ADR 0031)
            results_cache_ttl=Duration.seconds(config.authorizer_cache_ttl_s),
        )
        # One invoke permission per function for the whole API: a permission per method would
        # overflow the 20 KB resource policy of a function serving dozens of routes.
        integrations = {
            name: apigw.LambdaIntegration(function, proxy=True, scope_permission_to_method=False)
            for name, function in functions.items()
        }
        for route in topology.routes:
            resource = self.rest_api.root.resource_for_path(route.path)
            if route.auth is topo.Auth.PUBLIC:
                resource.add_method(route.method, integrations[route.function])
            else:
                resource.add_method(
                    route.method,
                    integrations[route.function],
                    authorizer=self.authorizer,
                    authorization_type=apigw.AuthorizationType.CUSTOM,
                )
        fallback = integrations[topology.fallback_function]
        self.rest_api.root.add_method("ANY", fallback)
        self.rest_api.root.add_resource("{proxy+}").add_method("ANY", fallback)

        cors_headers = {
            "Access-Control-Allow-Origin": "'*'",
            "Access-Control-Allow-Headers": "'" + ",".join(CORS_HEADERS) + "'",
            "Access-Control-Expose-Headers": f"'{CORRELATION_HEADER}'",
            CORRELATION_HEADER: f"method.request.header.{CORRELATION_HEADER}",
        }
        for response_type, (status, error, code) in GATEWAY_RESPONSES.items():
            body_status = status or _STATUS_IN_BODY[response_type.response_type]
            self.rest_api.add_gateway_response(
                f"{response_type.response_type.title().replace('_', '')}Response",
                type=response_type,
                status_code=status,
                response_headers=cors_headers,
                templates={"application/json": envelope_template(body_status, error, code)},
            )

        suppress(
            self.rest_api,
            "APIG2",
            "requests are validated in each function against its Pydantic models, which answer the "
            "project's error envelope with field details; API Gateway's validator cannot",
        )
        suppress(
            self.rest_api,
            "APIG4",
            "methods without the authorizer are the public routes declared Auth.PUBLIC in "
            "infra/topology.py (health, docs, register/login), the 404 fallback and CORS preflights",
        )
        suppress(
            self.rest_api,
            "COG4",
            "authentication is the project's own REQUEST authorizer (access JWTs and API keys), not Cognito",
        )
        suppress(
            self.rest_api,
            "APIG3",
            "no WAF web ACL by default (~$6/month floor); stage throttling limits abuse; "
            "attach one per install",
        )
        suppress(
            self.rest_api,
            "IAM4",
            "API Gateway's account-level CloudWatch role needs AmazonAPIGatewayPushToCloudWatchLogs",
            applies_to=[
                "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
            ],
        )

    @property
    def url(self) -> str:
        return self.rest_api.url
