"""Names of the environment variables functions read. The CDK and the local cloud import these too,
so a name is spelled once."""

STAGE = "MP_STAGE"
SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
CORE_TABLE = "MP_CORE_TABLE"
USAGE_TABLE = "MP_USAGE_TABLE"
JWT_SECRET = "MP_JWT_SECRET"  # the signing key itself (local cloud and tests)
JWT_SECRET_ARN = "MP_JWT_SECRET_ARN"  # Secrets Manager secret holding it (AWS)
KAFKA_BOOTSTRAP = "MP_KAFKA_BOOTSTRAP"
KAFKA_AUTH = "MP_KAFKA_AUTH"  # "plaintext" (Tansu) or "iam" (MSK)
EXPOSE_RESET_TOKEN = "MP_EXPOSE_RESET_TOKEN"  # local only: log reset tokens for the developer
BCRYPT_ROUNDS = "MP_BCRYPT_ROUNDS"  # the password KDF cost (tests lower it)
USAGE_LATE_WINDOW_DAYS = "MP_USAGE_LATE_WINDOW_DAYS"  # how old a usage event may be (SPEC §6: 35)
USAGE_FUTURE_SKEW_S = "MP_USAGE_FUTURE_SKEW_S"  # how far in the future it may be (SPEC §6: 300)
AUTHORIZER_CACHE_TTL = "MP_AUTHORIZER_CACHE_TTL"  # seconds API Gateway caches an authorizer result
INVITATION_TTL_DAYS = "MP_INVITATION_TTL_DAYS"  # how long a tenant invitation can be accepted
TEST_CLOCK = "MP_TEST_CLOCK"  # the test clock (SPEC §8.1, ADR 0050): local/test default on, never prod
DEAD_LETTER_TARGETS = "MP_DEAD_LETTER_TARGETS"  # admin_api: JSON {consumer: function name/ARN} for retries
SCHEDULES = "MP_SCHEDULES"  # admin_api: JSON list of the schedules advance runs (name, target, expression…)
CLOCK_ADVANCE_BUDGET_S = "MP_CLOCK_ADVANCE_BUDGET_S"  # advance stops between firings after this
CLOCK_COMPLETION_TIMEOUT_S = "MP_CLOCK_COMPLETION_TIMEOUT_S"  # how long a completion check may take
WEBHOOK_KEY = "MP_WEBHOOK_KEY"  # the KMS key (id or ARN) that encrypts webhook signing secrets (ADR 0080)
WEBHOOK_QUEUE_URL = "MP_WEBHOOK_QUEUE_URL"  # SQS queue of webhook attempts (dispatcher, API, worker)
WEBHOOK_TIMEOUT_S = "MP_WEBHOOK_TIMEOUT_S"  # one attempt's deadline (SPEC §8.3: 15 s; tests lower it)
PAYMENT_PROVIDER = "MP_PAYMENT_PROVIDER"  # payments adapter: fake (local default) | stripe (ADR 0060)
PAYMENT_RETRY_DAYS = "MP_PAYMENT_RETRY_DAYS"  # dunning: retry days after the first failure ("3,8,15")
PAYMENT_EXHAUSTED = "MP_PAYMENT_EXHAUSTED"  # after the last failed retry: unpaid | cancel
STRIPE_SECRET_ARN = "MP_STRIPE_SECRET_ARN"  # Secrets Manager: JSON {apiKey, webhookSecret} (AWS)
STRIPE_API_KEY = "MP_STRIPE_API_KEY"  # local and tests: the Stripe secret key itself
STRIPE_WEBHOOK_SECRET = "MP_STRIPE_WEBHOOK_SECRET"  # local and tests: the webhook signing secret
STRIPE_API_BASE = "MP_STRIPE_API_BASE"  # tests: localstripe's URL (the stripe library's api_base)
# how old work must be before a reconciliation run holds it to account (seconds of business time)
RECONCILIATION_SETTLE_S = "MP_RECONCILIATION_SETTLE_S"
RECONCILIATION_SCAN_SEGMENTS = "MP_RECONCILIATION_SCAN_SEGMENTS"  # parallel segments of the usage Scan


def function_name_var(function: str) -> str:
    """The variable carrying an invoked function's deployed name (`invokes` in the topology)."""
    return f"MP_{function.upper()}_FUNCTION"


RECONCILER_FUNCTION = function_name_var("reconciler")  # reconciliation_api: what a run request invokes
KAFKA_MESSAGE_TIMEOUT_MS = "MP_KAFKA_MESSAGE_TIMEOUT_MS"  # how long a produced message waits for the broker
