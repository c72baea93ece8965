"""Process-wide test settings, applied before any test imports `meterplex`.

Every suite runs against local stand-ins: moto server for AWS, Tansu for Kafka. Nothing here may
point at a real AWS account, so credentials are fake and endpoints are set by the fixtures.
"""

import os
import secrets

TEST_ENV = {
    "MP_STAGE": "test",
    "MP_CORE_TABLE": "meterplex-test-core",
    "MP_USAGE_TABLE": "meterplex-test-usage",
    "MP_KAFKA_BOOTSTRAP": "127.0.0.1:1",  # replaced by the Kafka fixture where a broker runs
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "meterplex-test",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "MP_BCRYPT_ROUNDS": "4",  # the KDF stays bcrypt; only its cost is lowered for speed
    # In-process gateways cache no authorizer result unless a test asks for one (ApiClient(...,
    # authorizer_cache_ttl_s=30)); the e2e local cloud runs with the real default (30 s).
    "MP_AUTHORIZER_CACHE_TTL": "0",
}
for _name, _value in TEST_ENV.items():
    os.environ.setdefault(_name, _value)
os.environ.setdefault("MP_JWT_SECRET", secrets.token_urlsafe(48))
