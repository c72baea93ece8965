"""The hot path's API schemas: the consume request and the exact SPEC §5 answers, typed (they
drive OpenAPI, the SDK and the fuzzer's response checks). The service builds plain dicts
(`grants.check_answer` / `consume_answer`, also what an idempotency claim stores); these models
validate them on the way out."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from meterplex.platform.api import ApiModel, ApiResponse
from meterplex.platform.limits import KeyPart

Amount = Annotated[int, Field(ge=1, le=1_000_000_000)]
ResetAt = Annotated[str | None, Field(description="End of the usage window (ISO 8601); null: never resets")]


class ConsumeRequest(ApiModel):
    amount: Amount = 1
    idempotency_key: KeyPart | None = Field(
        None,
        description="A repeated key returns the first answer and counts nothing; the same key with"
        " another feature or amount is 409 IDEMPOTENCY_KEY_REUSED",
    )


PastDue = Annotated[
    bool,
    Field(
        description="Present (true) only while an invoice of the tenant is in dunning: PAST_DUE or UNPAID",
        exclude_if=lambda value: not value,  # in good standing: SPEC §5's exact shapes
    ),
]


class _Check(ApiResponse):
    allowed: bool
    feature: str


class UnknownCheckOut(_Check):
    """The feature is not in the tenant's plan (or the subscription has ended)."""

    type: Literal["UNKNOWN"]
    reason: str


class BooleanCheckOut(_Check):
    type: Literal["BOOLEAN"]
    past_due: PastDue = False


class QuotaCheckOut(_Check):
    type: Literal["QUOTA"]
    limit: int
    used: int
    remaining: int
    reset_at: ResetAt
    limit_behavior: Literal["HARD", "SOFT"]
    past_due: PastDue = False


class MeteredCheckOut(_Check):
    type: Literal["METERED"]
    included_amount: int
    used: int
    overage: int
    reset_at: ResetAt
    past_due: PastDue = False


CheckOut = Annotated[
    UnknownCheckOut | BooleanCheckOut | QuotaCheckOut | MeteredCheckOut, Field(discriminator="type")
]
check_out: TypeAdapter[UnknownCheckOut | BooleanCheckOut | QuotaCheckOut | MeteredCheckOut] = TypeAdapter(
    CheckOut
)


class ConsumeOut(ApiResponse):
    allowed: Literal[True]
    feature: str
    consumed: int
    used: int = Field(description="Units used in the window after this consume")
    remaining: int = Field(description="Units left before the limit (0 once exceeded)")
    overage: int = Field(description="Units beyond the limit or included amount (0 for a HARD limit)")
    past_due: PastDue = False
