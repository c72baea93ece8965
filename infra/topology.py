"""The ONE declaration of Meterplex's functions, tables, routes, triggers, topics and schedules.

Both deployers read this module and neither repeats it:
* the CDK app (`infra/app.py`) turns it into AWS resources;
* the local cloud (`infra/local`) turns it into a gateway, pollers and a scheduler.

Paths use API Gateway syntax (`{id}`, `{proxy+}`). Adding a route here without serving it in the
function's resolver fails `tests/unit/test_topology.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from meterplex.platform import env, topics
from meterplex.webhooks import catalog as webhook_catalog


class Auth(StrEnum):
    """Who may call a route; the authorizer authenticates, handlers authorize."""

    PUBLIC = "public"  # no authorizer
    USER = "user"  # access JWT (x-tenant-id optional)
    TENANT = "tenant"  # access JWT + x-tenant-id, or an API key
    API_KEY = "api_key"  # API key only (checked in the handler: the authorizer accepts both kinds)


class Access(StrEnum):
    READ = "read"
    WRITE = "write"


@dataclass(frozen=True)
class GlobalIndex:
    name: str
    partition_key: str
    sort_key: str


@dataclass(frozen=True)
class Table:
    """A DynamoDB table: string keys `pk`/`sk`, on-demand, streams NEW_AND_OLD_IMAGES, TTL."""

    name: str  # logical name; also the key of `Function.tables`
    env_var: str  # the variable that carries the physical table name to functions
    indexes: tuple[GlobalIndex, ...] = ()
    ttl_attribute: str = "expiresAt"
    partition_key: str = "pk"
    sort_key: str = "sk"


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int = 3


@dataclass(frozen=True)
class Queue:
    """An SQS queue (encrypted, with a dead-letter queue after `max_receive_count` receives)."""

    name: str
    env_var: str  # the variable that carries the queue URL to the functions that send or receive
    visibility_timeout_s: int = 360  # ≥ 6 × its consumer's timeout, as AWS advises for an ESM
    max_receive_count: int = 5


@dataclass(frozen=True)
class Key:
    """A KMS key (rotated yearly). Functions declare `keys={name: READ}` to decrypt, WRITE to encrypt."""

    name: str
    env_var: str  # the variable that carries the key's ARN (locally its id)
    description: str


@dataclass(frozen=True)
class Function:
    name: str  # folder under functions/
    description: str
    memory_mb: int = 512
    timeout_s: int = 10
    tables: dict[str, Access] = field(default_factory=dict)
    produces: tuple[str, ...] = ()  # Kafka topics it writes
    kafka_describe: bool = False  # reads cluster metadata (health)
    reads_jwt_secret: bool = False
    reads_stripe_secret: bool = False  # the payment provider's credentials (payments, ADR 0060)
    handler: str = "handler.lambda_handler"
    runs_schedules: bool = False  # the test clock's advance invokes every scheduled function (ADR 0050)
    sends_to: tuple[str, ...] = ()  # SQS queues it sends to
    keys: dict[str, Access] = field(default_factory=dict)  # KMS keys: READ = Decrypt, WRITE = Encrypt
    invokes: tuple[str, ...] = ()  # functions it invokes (Lambda Invoke)
    scans: tuple[str, ...] = ()  # tables it Scans (batch jobs only; request paths Query)
    retries_dead_letters: bool = False  # invokes every consumer function (dead-letter retry, ADR 0091)
    # consumes every event source mapping's on-failure queue, re-reading stream records (ADR 0091)
    # and Kafka records by offset (ADR 0094: in the VPC when there are Kafka triggers)
    takes_dead_letters: bool = False


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    auth: Auth


@dataclass(frozen=True)
class StreamTrigger:
    """DynamoDB stream → function, with the event source mapping's filter patterns."""

    table: str
    function: str
    filters: tuple[dict, ...]
    batch_size: int = 100
    max_batching_window_s: int = 0
    retry_attempts: int = 5


@dataclass(frozen=True)
class KafkaTrigger:
    topic: str
    function: str
    batch_size: int = 500
    max_batching_window_s: int = 1
    consumer_group: str = ""

    @property
    def group_id(self) -> str:
        return self.consumer_group or f"meterplex-{self.function}"


@dataclass(frozen=True)
class QueueTrigger:
    """SQS queue → function (partial batch responses)."""

    queue: str
    function: str
    batch_size: int = 10
    max_batching_window_s: int = 0


@dataclass(frozen=True)
class Schedule:
    name: str
    function: str
    expression: str  # EventBridge Scheduler expression
    local_interval_s: int  # how often the local scheduler fires it (while the test clock runs)
    # "module.path:function", `(result) -> bool`: the test clock's advance polls it with the
    # function's result until True before moving on (work fanned out through Kafka is done).
    completion: str = ""
    # "module.path:function", `(after) -> datetime | None`: when the function next has work. The test
    # clock's advance then fires the schedule at those instants instead of at its expression's fire
    # times (ADR 0081); it needs a `completion` too.
    next_work: str = ""


# ---------------------------------------------------------------------------------------------
# Tables
CORE = "core"
USAGE = "usage"

TABLES: tuple[Table, ...] = (
    Table(
        name=CORE,
        env_var=env.CORE_TABLE,
        # gsi1 is overloaded (catalog lookups, the billing due index, audit by month); gsi2–gsi4
        # serve the audit trail's filters: tenant, actor, resource (ADR 0090).
        indexes=tuple(GlobalIndex(f"gsi{n}", f"gsi{n}pk", f"gsi{n}sk") for n in (1, 2, 3, 4)),
    ),
    Table(name=USAGE, env_var=env.USAGE_TABLE),
)

# ---------------------------------------------------------------------------------------------
# Kafka topics (names are versioned; envelopes are documented in docs/events.md)
TOPIC_DOMAIN = topics.DOMAIN
TOPIC_USAGE = topics.USAGE
TOPIC_BILLING = topics.BILLING
TOPIC_INVOICING = topics.INVOICING

TOPICS: tuple[Topic, ...] = (
    Topic(TOPIC_DOMAIN),
    Topic(TOPIC_USAGE),
    # billing: the invoice lifecycle (→ ledger) and the billing run's work items (→ invoice_worker)
    Topic(TOPIC_BILLING),
    Topic(TOPIC_INVOICING),
)

# ---------------------------------------------------------------------------------------------
# Functions
RW, RO = Access.WRITE, Access.READ
WRITE_KEY = Access.WRITE  # a KMS key: encrypt (and decrypt)

FUNCTIONS: tuple[Function, ...] = (
    Function(
        "authorizer",
        "REQUEST authorizer: access JWT or API key → principal context",
        memory_mb=256,
        timeout_s=5,
        tables={CORE: RO},
        reads_jwt_secret=True,
    ),
    Function(
        "docs_api",
        "OpenAPI document, Swagger UI, and the 404 envelope for unknown routes",
        memory_mb=256,
    ),
    Function(
        "health_api",
        "GET /health: DynamoDB and Kafka reachability",
        memory_mb=256,
        tables={CORE: RO},
        kafka_describe=True,
    ),
    Function(
        "identity_api",
        "Auth, tenants, users, memberships and invitations, API keys, admin accounts",
        tables={CORE: RW},
        reads_jwt_secret=True,
    ),
    Function(
        "outbox_relay",
        "DynamoDB stream outbox (core outbox items, usage event items) → Kafka (key = tenant id)",
        timeout_s=60,
        produces=(TOPIC_DOMAIN, TOPIC_USAGE, TOPIC_BILLING),
    ),
    Function(
        "audit_writer",
        "Domain events → the tenant's audit trail (idempotent)",
        timeout_s=60,
        tables={CORE: RW},
    ),
    Function("catalog_api", "Plans, prices, features and entitlements (the catalog)", tables={CORE: RW}),
    Function(
        "subscriptions_api",
        "Subscriptions: subscribe, plan change, cancel, history",
        tables={CORE: RW},
    ),
    Function(
        "entitlements_api",
        "The hot path: entitlement check (one read) and consume (one conditional write)",
        memory_mb=1024,  # Lambda CPU scales with memory: the hot path buys latency
        timeout_s=5,
        tables={CORE: RW},
    ),
    Function(
        "usage_api",
        "Usage ingestion: validate a batch, store each new event once (the usage outbox)",
        memory_mb=1024,  # up to 1,000 events per request: validation and JSON are CPU-bound
        timeout_s=15,
        tables={USAGE: RW, CORE: RO},  # writes events; reads the tenant's subscriptions
    ),
    Function(
        "usage_aggregator",
        "Usage events from Kafka → the counter of each event's usage window (idempotent)",
        timeout_s=60,
        tables={CORE: RW, USAGE: RW},  # counters + dead letters; marks events counted
    ),
    # -- test clock (SPEC §8.1, ADR 0050) --
    Function(
        "admin_api",
        "Platform admin: the test clock, audit logs, dead letters (list, retry, discard), overview",
        timeout_s=120,  # advance answers within its budget (20 s, under API Gateway's 29 s) + one firing
        tables={CORE: RW, USAGE: RO},  # CLOCK, audit, dead letters; the usage tally (overview)
        runs_schedules=True,
        retries_dead_letters=True,
    ),
    Function(
        "dead_letter_intake",
        "Event source mappings' on-failure queues → the dead-letter store (records re-read by stream "
        "sequence number or Kafka offset)",
        timeout_s=120,  # a batch of 10 failure records, each re-read by offset within ~10 s
        tables={CORE: RW},
        takes_dead_letters=True,
    ),
    # -- billing (ADR 0041–0043)
    Function(
        "billing_api",
        "Invoices (generate, finalize, mark paid, void), the ledger and balances",
        tables={CORE: RW},
    ),
    Function(
        "billing_scheduler",
        "The billing run: subscriptions due by its time (due index) → invoice.due messages",
        timeout_s=300,
        tables={CORE: RO},
        produces=(TOPIC_INVOICING,),
    ),
    Function(
        "invoice_worker",
        "invoice.due → each due period invoiced, finalized and advanced exactly once",
        timeout_s=300,
        tables={CORE: RW},
    ),
    Function(
        "ledger_writer",
        "The invoice lifecycle → append-only ledger entries and balances (idempotent)",
        timeout_s=60,
        tables={CORE: RW},
    ),
    # -- reconciliation (SPEC §8.4, ADR 0095)
    Function(
        "reconciler",
        "A reconciliation run: usage Scan, re-drive of uncounted events, counters, invoice lines, ledger",
        memory_mb=2048,  # the run holds the Scan's events; Lambda CPU scales with memory
        timeout_s=900,
        tables={CORE: RW, USAGE: RW},  # runs, issues, re-driven counters; reads events, writes receipts
        scans=(USAGE,),  # each usage item read once per run
    ),
    Function(
        "reconciliation_api",
        "Platform admin: reconciliation runs (request, list) and their issues (list, acknowledge, resolve)",
        tables={CORE: RW},
        invokes=("reconciler",),
    ),
    # -- payments (SPEC §8.2, ADR 0060)
    Function(
        "payments_api",
        "Payment attempts (list, read) and refunds",
        tables={CORE: RW},
        reads_stripe_secret=True,  # refunds call the provider
    ),
    Function(
        "webhooks_api",
        "Payment provider webhooks: verified, stored once, answered 200 (processing is payment_events')",
        memory_mb=256,
        tables={CORE: RW},
        reads_stripe_secret=True,  # the webhook signing secret
    ),
    Function(
        "payment_events",
        "Stored provider events (core stream) → attempts, invoices paid, dunning, refunds (once each)",
        timeout_s=60,
        tables={CORE: RW},
    ),
    Function(
        "payment_collector",
        "The invoice lifecycle → payment collections: first attempts, overdue watches, settlements",
        timeout_s=120,
        tables={CORE: RW},
        reads_stripe_secret=True,
    ),
    Function(
        "payments_scheduler",
        "The payments run: retries, the pending-payment janitor, overdue manual invoices",
        timeout_s=300,
        tables={CORE: RW},
        reads_stripe_secret=True,
    ),
    # -- outbound webhooks (SPEC §8.3, ADR 0080)
    Function(
        "webhook_endpoints_api",
        "Webhook endpoints (secrets sealed with KMS), their delivery log, test events, manual retries",
        tables={CORE: RW},
        sends_to=("webhook-deliveries",),
        keys={"webhook-secrets": WRITE_KEY},
    ),
    Function(
        "webhook_dispatcher",
        "Billing, payment, subscription and usage events → one delivery per (event, endpoint), queued",
        timeout_s=60,
        tables={CORE: RW},
        sends_to=("webhook-deliveries",),
    ),
    Function(
        "webhook_delivery",
        "A queued delivery: claim, sign, POST (15 s), record, retry; the sweep enqueues due retries",
        memory_mb=256,  # waits on receivers, not CPU
        timeout_s=60,  # 10 concurrent attempts of ≤ 15 s each, and recording them
        tables={CORE: RW},
        sends_to=("webhook-deliveries",),
        keys={"webhook-secrets": RO},
    ),
)

# ---------------------------------------------------------------------------------------------
# Queues and keys
WEBHOOK_QUEUE = "webhook-deliveries"
WEBHOOK_KEY = "webhook-secrets"
QUEUES: tuple[Queue, ...] = (Queue(WEBHOOK_QUEUE, env.WEBHOOK_QUEUE_URL),)
KEYS: tuple[Key, ...] = (
    Key(WEBHOOK_KEY, env.WEBHOOK_KEY, "Encrypts tenants' webhook signing secrets (ADR 0080)"),
)

# ---------------------------------------------------------------------------------------------
# Routes. Everything under /api/v1 that is not public goes through the authorizer.
V1 = "/api/v1"


def _routes(function: str, auth: Auth, *pairs: tuple[str, str]) -> tuple[Route, ...]:
    return tuple(Route(method, V1 + path, function, auth) for method, path in pairs)


ROUTES: tuple[Route, ...] = (
    Route("GET", "/health", "health_api", Auth.PUBLIC),
    Route("GET", "/api/docs", "docs_api", Auth.PUBLIC),
    Route("GET", "/api/openapi.json", "docs_api", Auth.PUBLIC),
    *_routes(
        "identity_api",
        Auth.PUBLIC,
        ("POST", "/auth/register"),
        ("POST", "/auth/login"),
        ("POST", "/auth/refresh"),
        ("POST", "/auth/forgot-password"),
        ("POST", "/auth/reset-password"),
    ),
    *_routes(
        "identity_api",
        Auth.USER,
        ("GET", "/auth/me"),
        ("POST", "/auth/change-password"),
        ("POST", "/auth/logout"),
        ("POST", "/auth/revoke-all"),
        ("POST", "/tenants"),
        ("GET", "/tenants"),
        ("GET", "/tenants/{id}"),
        ("GET", "/tenants/slug/{slug}"),
        ("PATCH", "/tenants/{id}"),
        ("GET", "/users/{id}"),
        ("PATCH", "/users/{id}"),
        ("GET", "/users/me/invitations"),
        ("POST", "/users/me/invitations/{invitationId}/accept"),
        ("POST", "/users/me/invitations/{invitationId}/decline"),
        ("DELETE", "/tenants/{id}/members/{userId}"),
        ("PATCH", "/admin/users/{id}"),  # platform admin, checked in the handler
    ),
    *_routes(
        "identity_api",
        Auth.TENANT,
        ("GET", "/tenants/me/context"),
        ("POST", "/users"),
        ("POST", "/api-keys"),
        ("GET", "/api-keys"),
        ("DELETE", "/api-keys/{id}"),
        ("GET", "/audit-events"),
    ),
    *_routes(
        "catalog_api",
        Auth.PUBLIC,  # plan and price reads are public: ADR 0010
        ("GET", "/plans"),
        ("GET", "/plans/slug/{slug}"),
        ("GET", "/plans/{planId}"),
        ("GET", "/plans/{planId}/prices"),
    ),
    *_routes(
        "catalog_api",
        Auth.USER,  # writes: platform admin, checked in the handler
        ("POST", "/plans"),
        ("PATCH", "/plans/{planId}"),
        ("POST", "/plans/{planId}/prices"),
        ("PATCH", "/plans/{planId}/prices/{priceId}"),
        ("POST", "/features"),
        ("GET", "/features"),
        ("GET", "/features/key/{lookupKey}"),
        ("GET", "/features/{featureId}"),
        ("PATCH", "/features/{featureId}"),
        ("POST", "/plans/{planId}/entitlements"),
        ("GET", "/plans/{planId}/entitlements"),
        ("GET", "/plans/{planId}/entitlements/{entitlementId}"),
        ("PATCH", "/plans/{planId}/entitlements/{entitlementId}"),
        ("DELETE", "/plans/{planId}/entitlements/{entitlementId}"),
    ),
    *_routes(
        "subscriptions_api",
        Auth.TENANT,
        ("POST", "/subscriptions"),
        ("GET", "/subscriptions"),
        ("GET", "/subscriptions/active"),
        ("POST", "/subscriptions/{subscriptionId}/cancel"),
    ),
    *_routes(
        "entitlements_api",
        Auth.TENANT,
        ("GET", "/entitlements/{featureKey}/check"),
        ("POST", "/entitlements/{featureKey}/consume"),
    ),
    *_routes("usage_api", Auth.API_KEY, ("POST", "/usage/events")),
    # -- test clock: platform admin only, checked in the handler; 404 where the clock is off --
    *_routes(
        "admin_api",
        Auth.USER,
        ("GET", "/admin/clock"),
        ("POST", "/admin/clock/advance"),
        ("POST", "/admin/clock/reset"),
    ),
    # -- admin: audit, dead letters, overview (SPEC §8.4, ADR 0090–0092); platform admin only --
    *_routes(
        "admin_api",
        Auth.USER,
        ("GET", "/admin/audit-logs"),
        ("GET", "/admin/audit-logs/{id}"),
        ("GET", "/admin/dead-letter"),
        ("GET", "/admin/dead-letter/{id}"),
        ("POST", "/admin/dead-letter/{id}/retry"),
        ("POST", "/admin/dead-letter/{id}/discard"),
        ("GET", "/admin/overview"),
    ),
    *_routes(
        "billing_api",
        Auth.TENANT,  # roles checked in the handler: API keys are refused
        ("GET", "/invoices"),
        ("POST", "/invoices/generate"),
        ("GET", "/invoices/{invoiceId}"),
        ("GET", "/invoices/{invoiceId}/line-items"),
        ("POST", "/invoices/{invoiceId}/finalize"),
        ("POST", "/invoices/{invoiceId}/mark-paid"),
        ("POST", "/invoices/{invoiceId}/void"),
        ("GET", "/billing/ledger"),
        ("GET", "/billing/balance"),
    ),
    # -- reconciliation: platform admin only, checked in the handler (ADR 0095) --
    *_routes(
        "reconciliation_api",
        Auth.USER,
        ("POST", "/admin/reconciliation/run"),
        ("GET", "/admin/reconciliation/runs"),
        ("GET", "/admin/reconciliation/runs/{runId}/issues"),
        ("POST", "/admin/reconciliation/issues/{issueId}/acknowledge"),
        ("POST", "/admin/reconciliation/issues/{issueId}/resolve"),
    ),
    *_routes(
        "payments_api",
        Auth.TENANT,  # OWNER/ADMIN/BILLING, checked in the handler
        ("GET", "/billing/payments"),
        ("GET", "/billing/payments/{paymentId}"),
        ("POST", "/invoices/{invoiceId}/refund"),
    ),
    # provider webhooks: no authorizer (the signature is the authentication; fake: 404 in prod)
    *_routes("webhooks_api", Auth.PUBLIC, ("POST", "/webhooks/stripe"), ("POST", "/webhooks/fake")),
    *_routes(
        "webhook_endpoints_api",
        Auth.TENANT,  # OWNER/ADMIN, checked in the handler: API keys are refused
        ("POST", "/webhook-endpoints"),
        ("GET", "/webhook-endpoints"),
        ("GET", "/webhook-endpoints/{id}"),
        ("PATCH", "/webhook-endpoints/{id}"),
        ("DELETE", "/webhook-endpoints/{id}"),
        ("POST", "/webhook-endpoints/{id}/rotate-secret"),
        ("POST", "/webhook-endpoints/{id}/test"),
        ("GET", "/webhook-endpoints/{id}/deliveries"),
        ("POST", "/webhook-endpoints/{id}/deliveries/{deliveryId}/retry"),
    ),
)

# Unmatched requests (any method, any path) reach docs_api, which answers the 404 envelope; in AWS
# this is the `ANY /{proxy+}` resource, locally the gateway's fallback.
FALLBACK_FUNCTION = "docs_api"

# ---------------------------------------------------------------------------------------------
# Triggers
OUTBOX_FILTER = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"outbox": {"S": [{"exists": True}]}}}}

# Usage event items (sk = EVENT) are their own outbox: only their INSERT is relayed, never the
# MODIFY that marks them counted nor the TTL's REMOVE (ADR 0020).
USAGE_EVENT_FILTER = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"sk": {"S": ["EVENT"]}}}}

# Stored provider events (ADR 0060): their own INSERT is the trigger of payment_events.
PAYMENT_EVENT_FILTER = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"sk": {"S": ["PAYEVENT"]}}}}
# Counter changes of QUOTA/METERED grants: the relay's watcher finds the 80 %/100 % crossings
# (`usage.threshold_reached`, ADR 0080). On the relay's own mapping: a stream shard allows two readers.
GRANT_USAGE_FILTER = {
    "eventName": ["MODIFY"],
    "dynamodb": {"Keys": {"sk": {"S": ["GRANT"]}}, "NewImage": {"featureType": {"S": ["QUOTA", "METERED"]}}},
}
# A high-throughput grant's counter shards (ADR 0071: `consumed` on `WINDOW#…` items of
# `…#SHARD#<n>` partitions); the watcher skips the window archives this also passes (late usage).
SHARD_USAGE_FILTER = {
    "eventName": ["INSERT", "MODIFY"],
    "dynamodb": {
        "Keys": {"sk": {"S": [{"prefix": "WINDOW#"}]}},
        "NewImage": {"consumed": {"N": [{"exists": True}]}},
    },
}

STREAM_TRIGGERS: tuple[StreamTrigger, ...] = (
    StreamTrigger(
        table=CORE, function="outbox_relay", filters=(OUTBOX_FILTER, GRANT_USAGE_FILTER, SHARD_USAGE_FILTER)
    ),
    # 500: one request of up to 1,000 events becomes ~2 relay invocations, each one produce flush;
    # bigger batches would add latency (ingest → check p99 ≤ 2 s) for little saving (ADR 0020).
    StreamTrigger(table=USAGE, function="outbox_relay", filters=(USAGE_EVENT_FILTER,), batch_size=500),
    StreamTrigger(table=CORE, function="payment_events", filters=(PAYMENT_EVENT_FILTER,), batch_size=10),
)

KAFKA_TRIGGERS: tuple[KafkaTrigger, ...] = (
    KafkaTrigger(topic=TOPIC_DOMAIN, function="audit_writer", batch_size=100),
    KafkaTrigger(topic=TOPIC_USAGE, function="usage_aggregator", batch_size=500),
    KafkaTrigger(topic=TOPIC_BILLING, function="ledger_writer", batch_size=100),
    # small batches: each message may issue several invoices; partitions run in parallel
    KafkaTrigger(topic=TOPIC_INVOICING, function="invoice_worker", batch_size=50),
    KafkaTrigger(topic=TOPIC_BILLING, function="payment_collector", batch_size=50),
    # the webhook catalogue's topics (one group per topic: a mapping per topic in AWS)
    *(
        KafkaTrigger(
            topic=topic,
            function="webhook_dispatcher",
            batch_size=100,
            consumer_group=f"meterplex-webhook_dispatcher-{topic}",
        )
        for topic in webhook_catalog.SOURCE_TOPICS
    ),
)

QUEUE_TRIGGERS: tuple[QueueTrigger, ...] = (
    QueueTrigger(queue=WEBHOOK_QUEUE, function="webhook_delivery", batch_size=10),
)

SCHEDULES: tuple[Schedule, ...] = (
    # SPEC §7: daily. Locally every hour of wall time (and on every test-clock advance).
    Schedule(
        "billing-daily",
        "billing_scheduler",
        "cron(5 0 * * ? *)",
        local_interval_s=3600,
        completion="meterplex.billing.scheduler:run_completed",
    ),
    # ADR 0060: retries (due from 00:00 UTC of their day), the 12 h janitor, overdue manual invoices
    Schedule(
        "payments-twice-daily",
        "payments_scheduler",
        "cron(30 0,12 * * ? *)",
        local_interval_s=3600,
        completion="meterplex.payments.scheduler:run_completed",
    ),
    # ADR 0080/0081: due webhook retries → the queue. Every minute in AWS (longer retries than SQS
    # can delay, and any lost message); the test clock fires it when a retry is due.
    Schedule(
        "webhook-retries",
        "webhook_delivery",
        "rate(1 minute)",
        local_interval_s=60,
        completion="meterplex.webhooks.due:sweep_completed",
        next_work="meterplex.webhooks.due:next_due_at",
    ),
    # ADR 0095: daily, after billing's run; the run is synchronous (nothing to wait for after it).
    Schedule("reconciliation-daily", "reconciler", "cron(30 1 * * ? *)", local_interval_s=86_400),
)


# ---------------------------------------------------------------------------------------------
def function(name: str) -> Function:
    for fn in FUNCTIONS:
        if fn.name == name:
            return fn
    raise KeyError(name)


def table(name: str) -> Table:
    for t in TABLES:
        if t.name == name:
            return t
    raise KeyError(name)


def queue(name: str) -> Queue:
    return next(q for q in QUEUES if q.name == name)


def key(name: str) -> Key:
    return next(k for k in KEYS if k.name == name)


def routes_of(function_name: str) -> tuple[Route, ...]:
    return tuple(r for r in ROUTES if r.function == function_name)
