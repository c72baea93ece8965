"""The synthesized service stack against infra/topology.py: every declaration becomes its resource,
with the properties that matter."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra import topology
from infra.constructs.functions import READ_ACTIONS, WRITE_ACTIONS
from tests.infra.conftest import Synthesized

LAMBDA_FUNCTION = "AWS::Lambda::Function"
ESM = "AWS::Lambda::EventSourceMapping"
STREAM_ARN_MARK = "StreamArn"
NAMED_RESOURCE_SERVICES = ("dynamodb:", "secretsmanager:", "kafka-cluster:", "kafka:")


# -- helpers -----------------------------------------------------------------------------------
def function_ids(synth: Synthesized) -> dict[str, str]:
    """Topology function name → logical id (by the function's description)."""
    by_description = {fn.description: fn.name for fn in topology.FUNCTIONS}
    return {
        by_description[r["Properties"]["Description"]]: logical_id
        for logical_id, r in synth.of_type(LAMBDA_FUNCTION).items()
        if r["Properties"].get("Description") in by_description
    }


def role_statements(synth: Synthesized, function_logical_id: str) -> list[dict[str, Any]]:
    role_id = synth.resources[function_logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements: list[dict[str, Any]] = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def actions_of(statements: list[dict[str, Any]]) -> set[str]:
    actions: set[str] = set()
    for statement in statements:
        value = statement["Action"]
        actions |= {value} if isinstance(value, str) else set(value)
    return actions


def api_methods(synth: Synthesized) -> dict[tuple[str, str], dict[str, Any]]:
    """(HTTP method, path) → method properties, paths rebuilt from the resource tree."""
    resources = synth.of_type("AWS::ApiGateway::Resource")

    def path_of(ref: Any) -> str:
        if isinstance(ref, dict) and "Fn::GetAtt" in ref:  # the RestApi's root resource
            return ""
        props = resources[ref["Ref"]]["Properties"]
        return path_of(props["ParentId"]) + "/" + props["PathPart"]

    methods = {}
    for method in synth.of_type("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        resource_id = props["ResourceId"]
        path = "/" if "Fn::GetAtt" in resource_id else path_of(resource_id)
        methods[(props["HttpMethod"], path)] = props
    return methods


def function_ref(synth: Synthesized, name: str) -> dict[str, str]:
    return {"Ref": function_ids(synth)[name]}


# -- tables ------------------------------------------------------------------------------------
@pytest.mark.parametrize("table", topology.TABLES, ids=lambda t: t.name)
def test_table_streams_ttl_pitr_on_demand_and_indexes(dev: Synthesized, table: topology.Table) -> None:
    dev.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": f"meterplex-dev-{table.name}",
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "TimeToLiveSpecification": {"AttributeName": table.ttl_attribute, "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "KeySchema": [
                {"AttributeName": table.partition_key, "KeyType": "HASH"},
                {"AttributeName": table.sort_key, "KeyType": "RANGE"},
            ],
            "GlobalSecondaryIndexes": Match.absent()
            if not table.indexes
            else [
                Match.object_like(
                    {
                        "IndexName": index.name,
                        "KeySchema": [
                            {"AttributeName": index.partition_key, "KeyType": "HASH"},
                            {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                        ],
                    }
                )
                for index in table.indexes
            ],
        },
    )


def test_tables_in_prod_are_retained_and_deletion_protected(prod_provisioned: Synthesized) -> None:
    tables = prod_provisioned.of_type("AWS::DynamoDB::Table").values()
    assert len(tables) == len(topology.TABLES)
    for table in tables:
        assert table["DeletionPolicy"] == "Retain"
        assert table["Properties"]["DeletionProtectionEnabled"] is True


def test_tables_in_dev_are_destroyed_with_the_stack(dev: Synthesized) -> None:
    for table in dev.of_type("AWS::DynamoDB::Table").values():
        assert table["DeletionPolicy"] == "Delete"
        assert table["Properties"].get("DeletionProtectionEnabled") in (None, False)


# -- functions ---------------------------------------------------------------------------------
def test_every_topology_function_exists(dev: Synthesized) -> None:
    assert set(function_ids(dev)) == {fn.name for fn in topology.FUNCTIONS}


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda f: f.name)
def test_function_runtime_logs_tracing_and_environment(dev: Synthesized, fn: topology.Function) -> None:
    props = dev.resources[function_ids(dev)[fn.name]]["Properties"]
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == fn.handler
    assert props["MemorySize"] == fn.memory_mb
    assert props["Timeout"] == fn.timeout_s
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    assert len(props["Layers"]) == 2
    variables = props["Environment"]["Variables"]
    assert variables["MP_STAGE"] == "dev"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "Meterplex"
    assert variables["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"
    assert variables["POWERTOOLS_SERVICE_NAME"]
    for name in fn.tables:
        assert topology.table(name).env_var in variables
    assert ("MP_JWT_SECRET_ARN" in variables) == fn.reads_jwt_secret
    # the dead-letter intake re-reads failed Kafka records by offset (ADR 0094)
    talks_kafka = bool(fn.produces) or fn.kafka_describe or fn.takes_dead_letters
    assert ("MP_KAFKA_BOOTSTRAP" in variables) == talks_kafka
    assert (variables.get("MP_KAFKA_AUTH") == "iam") == talks_kafka
    assert ("VpcConfig" in props) == talks_kafka


def test_every_function_has_its_own_role(dev: Synthesized) -> None:
    roles = [dev.resources[i]["Properties"]["Role"]["Fn::GetAtt"][0] for i in function_ids(dev).values()]
    assert len(roles) == len(set(roles))


@pytest.mark.parametrize("fn", topology.FUNCTIONS, ids=lambda f: f.name)
def test_function_iam_actions_are_what_it_declares(dev: Synthesized, fn: topology.Function) -> None:
    statements = role_statements(dev, function_ids(dev)[fn.name])
    actions = actions_of(statements)
    dynamodb = {a for a in actions if a.startswith("dynamodb:")}
    streams = any(t.function == fn.name for t in topology.STREAM_TRIGGERS)
    consumes = any(t.function == fn.name for t in topology.KAFKA_TRIGGERS)

    if not fn.tables and not streams:
        assert not dynamodb, f"{fn.name} declares no table"
    if fn.tables and all(a is topology.Access.READ for a in fn.tables.values()):
        assert not dynamodb & set(WRITE_ACTIONS), f"{fn.name} is read-only"
    if any(a is topology.Access.WRITE for a in fn.tables.values()):
        assert set(WRITE_ACTIONS) <= dynamodb
    if fn.tables:
        assert set(READ_ACTIONS) <= dynamodb
    # request paths Query; only a declared batch job Scans (its tables: test_reconciliation_stack)
    assert ("dynamodb:Scan" in dynamodb) == bool(fn.scans)
    # which secret is checked here (JWT) and in test_payments_stack (Stripe)
    reads_secret = fn.reads_jwt_secret or fn.reads_stripe_secret
    assert ("secretsmanager:GetSecretValue" in actions) == reads_secret
    assert ("kafka-cluster:WriteData" in actions) == bool(fn.produces)
    reads_kafka = consumes or fn.takes_dead_letters  # the intake reads by offset, with no group
    assert ("kafka-cluster:ReadData" in actions) == reads_kafka
    assert ("kafka-cluster:AlterGroup" in actions) == consumes
    assert ("kafka-cluster:Connect" in actions) == (bool(fn.produces) or fn.kafka_describe or reads_kafka)
    assert not any(a.endswith("*") for a in actions), "no wildcard actions"


def test_no_wildcard_resource_where_a_resource_can_be_named(dev: Synthesized) -> None:
    for policy_id, policy in dev.of_type("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.startswith(NAMED_RESOURCE_SERVICES) for a in actions):
                resources = statement["Resource"]
                resources = resources if isinstance(resources, list) else [resources]
                assert "*" not in resources, f"{policy_id}: {actions} on *"
                assert not any(isinstance(r, str) and r.endswith("/*") for r in resources), policy_id


def test_stream_consumers_read_only_their_stream(dev: Synthesized) -> None:
    for trigger in topology.STREAM_TRIGGERS:
        statements = role_statements(dev, function_ids(dev)[trigger.function])
        stream_statements = [s for s in statements if "dynamodb:GetRecords" in s["Action"]]
        assert stream_statements
        for statement in stream_statements:
            assert STREAM_ARN_MARK in json.dumps(statement["Resource"])


def test_jwt_secret_is_generated_not_in_code(dev: Synthesized) -> None:
    dev.template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"GenerateSecretString": Match.object_like({"PasswordLength": 64}), "SecretString": Match.absent()},
    )


# -- API Gateway -------------------------------------------------------------------------------
def test_every_topology_route_is_an_api_method(dev: Synthesized) -> None:
    declared = {(r.method, r.path) for r in topology.ROUTES} | {("ANY", "/"), ("ANY", "/{proxy+}")}
    synthesized = {key for key in api_methods(dev) if key[0] != "OPTIONS"}
    assert synthesized == declared


@pytest.mark.parametrize("route", topology.ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_route_authorizer_and_integration(dev: Synthesized, route: topology.Route) -> None:
    method = api_methods(dev)[(route.method, route.path)]
    if route.auth is topology.Auth.PUBLIC:
        assert method["AuthorizationType"] == "NONE"
        assert "AuthorizerId" not in method
    else:
        assert method["AuthorizationType"] == "CUSTOM"
        assert method["AuthorizerId"]
    integration = method["Integration"]
    assert integration["Type"] == "AWS_PROXY"
    target = function_ids(dev)[route.function]
    assert target in json.dumps(integration["Uri"])


def test_fallback_routes_reach_the_fallback_function_without_authorizer(dev: Synthesized) -> None:
    target = function_ids(dev)[topology.FALLBACK_FUNCTION]
    for key in (("ANY", "/"), ("ANY", "/{proxy+}")):
        method = api_methods(dev)[key]
        assert method["AuthorizationType"] == "NONE"
        assert target in json.dumps(method["Integration"]["Uri"])


def test_one_cached_request_authorizer_on_the_authorization_header(dev: Synthesized) -> None:
    authorizers = dev.of_type("AWS::ApiGateway::Authorizer")
    assert len(authorizers) == 1
    (authorizer,) = authorizers.values()
    props = authorizer["Properties"]
    assert props["Type"] == "REQUEST"
    assert props["IdentitySource"] == "method.request.header.Authorization"
    assert props["AuthorizerResultTtlInSeconds"] == 30  # the setting's default (ADR 0031)
    assert function_ids(dev)["authorizer"] in json.dumps(props["AuthorizerUri"])


@pytest.mark.parametrize(
    ("response_type", "status"),
    [
        ("UNAUTHORIZED", "401"),
        ("ACCESS_DENIED", "403"),
        ("MISSING_AUTHENTICATION_TOKEN", "404"),
        ("THROTTLED", "429"),
        ("DEFAULT_4XX", None),
        ("DEFAULT_5XX", None),
    ],
)
def test_gateway_responses_use_the_error_envelope(
    dev: Synthesized, response_type: str, status: str | None
) -> None:
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in dev.of_type("AWS::ApiGateway::GatewayResponse").values()
    }
    response = responses[response_type]
    assert response.get("StatusCode") == status
    template = response["ResponseTemplates"]["application/json"]
    for field in ("statusCode", "error", "code", "message", "correlationId", "timestamp", "path"):
        assert f'"{field}":' in template
    assert "$context.requestId" in template
    assert response["ResponseParameters"]["gatewayresponse.header.x-correlation-id"] == (
        "method.request.header.x-correlation-id"
    )


def test_stage_throttling_tracing_and_json_access_logs(dev: Synthesized) -> None:
    (stage,) = dev.of_type("AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "dev"
    assert props["TracingEnabled"] is True
    settings = props["MethodSettings"][0]
    assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0
    log_format = json.loads(props["AccessLogSetting"]["Format"])
    assert log_format["requestId"] == "$context.requestId"


def test_cors_allows_the_project_headers(dev: Synthesized) -> None:
    options = [p for (m, _), p in api_methods(dev).items() if m == "OPTIONS"]
    assert options
    headers = options[0]["Integration"]["IntegrationResponses"][0]["ResponseParameters"][
        "method.response.header.Access-Control-Allow-Headers"
    ]
    for header in ("Authorization", "Content-Type", "x-tenant-id", "x-correlation-id"):
        assert header in headers


# -- event source mappings ---------------------------------------------------------------------
def stream_mappings(synth: Synthesized) -> list[dict[str, Any]]:
    return [
        r["Properties"]
        for r in synth.of_type(ESM).values()
        if "Topics" not in r["Properties"]
        and STREAM_ARN_MARK in json.dumps(r["Properties"]["EventSourceArn"])
    ]


def kafka_mappings(synth: Synthesized) -> list[dict[str, Any]]:
    return [r["Properties"] for r in synth.of_type(ESM).values() if "Topics" in r["Properties"]]


def test_every_mapping_reports_batch_item_failures(dev: Synthesized) -> None:
    mappings = dev.of_type(ESM)
    queues = set(dev.of_type("AWS::SQS::Queue"))
    from_sqs = {
        k
        for k, m in mappings.items()
        if m["Properties"]["EventSourceArn"].get("Fn::GetAtt", [""])[0] in queues
    }
    assert len(mappings) - len(from_sqs) == len(topology.STREAM_TRIGGERS) + len(topology.KAFKA_TRIGGERS)
    # SQS: the queue triggers, and the pipeline's shared on-failure queue → dead_letter_intake
    # (tests/infra/test_admin_stack.py)
    assert len(from_sqs) == len(topology.QUEUE_TRIGGERS) + 1
    for key, mapping in mappings.items():
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        if key not in from_sqs:
            assert mapping["Properties"]["StartingPosition"] == "TRIM_HORIZON"


@pytest.mark.parametrize("trigger", topology.STREAM_TRIGGERS, ids=lambda t: f"{t.table}->{t.function}")
def test_stream_trigger_has_its_mapping(dev: Synthesized, trigger: topology.StreamTrigger) -> None:
    target = function_ref(dev, trigger.function)
    (mapping,) = [
        m
        for m in stream_mappings(dev)
        if m["FunctionName"] == target and trigger.table.title() in json.dumps(m["EventSourceArn"])
    ]
    assert [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]] == list(trigger.filters)
    assert mapping["BatchSize"] == trigger.batch_size
    assert mapping["MaximumBatchingWindowInSeconds"] == trigger.max_batching_window_s
    assert mapping["MaximumRetryAttempts"] == trigger.retry_attempts
    assert mapping["BisectBatchOnFunctionError"] is True
    destination = mapping["DestinationConfig"]["OnFailure"]["Destination"]
    queue_id = destination["Fn::GetAtt"][0]
    queue = dev.resources[queue_id]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert trigger.table.title() in json.dumps(mapping["EventSourceArn"])


@pytest.mark.parametrize("trigger", topology.KAFKA_TRIGGERS, ids=lambda t: f"{t.topic}->{t.function}")
def test_kafka_trigger_has_its_mapping(dev: Synthesized, trigger: topology.KafkaTrigger) -> None:
    target = function_ref(dev, trigger.function)
    (mapping,) = [
        m for m in kafka_mappings(dev) if m["FunctionName"] == target and m["Topics"] == [trigger.topic]
    ]
    assert mapping["BatchSize"] == trigger.batch_size
    assert mapping["MaximumBatchingWindowInSeconds"] == trigger.max_batching_window_s
    assert mapping["AmazonManagedKafkaEventSourceConfig"] == {"ConsumerGroupId": trigger.group_id}
    queue_id = mapping["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert dev.resources[queue_id]["Type"] == "AWS::SQS::Queue"
    assert dev.resources[queue_id]["Properties"]["SqsManagedSseEnabled"] is True


# -- Kafka -------------------------------------------------------------------------------------
def test_msk_serverless_with_iam_in_private_subnets(dev: Synthesized) -> None:
    dev.template.has_resource_properties(
        "AWS::MSK::ServerlessCluster",
        {"ClientAuthentication": {"Sasl": {"Iam": {"Enabled": True}}}},
    )
    dev.template.resource_count_is("AWS::EC2::NatGateway", 0)
    dev.template.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {"ServiceName": Match.object_like({"Fn::Join": Match.any_value()}), "VpcEndpointType": "Gateway"},
    )
    endpoints = json.dumps(dev.of_type("AWS::EC2::VPCEndpoint"))
    assert "dynamodb" in endpoints
    dev.template.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress", {"FromPort": 9098, "ToPort": 9098, "IpProtocol": "tcp"}
    )


def test_topics_custom_resource_creates_every_topology_topic(dev: Synthesized) -> None:
    (topics,) = dev.of_type("Custom::KafkaTopics").values()
    declared = [{"Name": t.name, "Partitions": str(t.partitions)} for t in topology.TOPICS]
    assert topics["Properties"]["Topics"] == declared


def test_provisioned_kafka_is_two_t3_small_brokers_with_iam_and_tls(prod_provisioned: Synthesized) -> None:
    prod_provisioned.template.resource_count_is("AWS::MSK::ServerlessCluster", 0)
    prod_provisioned.template.has_resource_properties(
        "AWS::MSK::Cluster",
        {
            "NumberOfBrokerNodes": 2,
            "BrokerNodeGroupInfo": Match.object_like({"InstanceType": "kafka.t3.small"}),
            "ClientAuthentication": Match.object_like({"Sasl": {"Iam": {"Enabled": True}}}),
            "EncryptionInfo": {"EncryptionInTransit": {"ClientBroker": "TLS", "InCluster": True}},
        },
    )


# -- monitoring --------------------------------------------------------------------------------
def metric_name(alarm: dict[str, Any]) -> str:
    props = alarm["Properties"]
    if "MetricName" in props:
        return str(props["MetricName"])
    # a labelled metric renders as a one-query alarm; a math expression (the 5xx rate) as its
    # metrics' names, e.g. "5XXError/Count"
    names = sorted(q["MetricStat"]["Metric"]["MetricName"] for q in props["Metrics"] if "MetricStat" in q)
    return "/".join(names)


def test_alarms_cover_errors_throttles_dlq_iterator_age_lag_and_5xx(dev: Synthesized) -> None:
    alarms = [metric_name(a) for a in dev.of_type("AWS::CloudWatch::Alarm").values()]
    expected = {
        "Errors",
        "Throttles",
        "ApproximateNumberOfMessagesVisible",
        "IteratorAge",
        "OffsetLag",
        "5XXError/Count",
    }
    assert expected <= set(alarms)
    assert alarms.count("Errors") == len(topology.FUNCTIONS)
    assert alarms.count("Throttles") == 1  # account-wide: throttling is the account's concurrency
    assert alarms.count("IteratorAge") == len({t.function for t in topology.STREAM_TRIGGERS})
    assert alarms.count("OffsetLag") == len({t.function for t in topology.KAFKA_TRIGGERS})
    for alarm in dev.of_type("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"], "every alarm notifies the alarm topic"
    dev.monitoring.resource_count_is("AWS::CloudWatch::Dashboard", 1)


# -- linters -----------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["dev", "prod_provisioned"])
def test_cfn_lint_finds_no_errors(fixture: str, request: pytest.FixtureRequest) -> None:
    synth: Synthesized = request.getfixturevalue(fixture)
    result = subprocess.run(
        [sys.executable, "-m", "cfnlint", "--format", "json", str(synth.template_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    findings = json.loads(result.stdout or "[]")
    errors = [f for f in findings if f["Level"] == "Error"]
    assert not errors, json.dumps(errors, indent=1)[:4000]


@pytest.mark.parametrize("fixture", ["dev", "prod_provisioned"])
def test_cdk_nag_has_no_unacknowledged_errors(fixture: str, request: pytest.FixtureRequest) -> None:
    # cdk-nag v3 is a CDK validation plugin: synthesis raises on an unacknowledged error, so the
    # fixture synthesizing at all is the main check; the report must also hold no error.
    synth: Synthesized = request.getfixturevalue(fixture)
    report = synth.validation_report
    violations = [
        v
        for plugin in (report or {}).get("pluginReports", [])
        for v in plugin["violations"]
        if v["severity"] == "error"
    ]
    assert not violations
