"""cdk-nag acknowledgments (v3: CDK's `Validations`), each with the reason it is acceptable here.

The checks themselves are added in `infra/app.py`. An acknowledgment covers the construct and
everything under it; rules with several findings (IAM5) are acknowledged per finding.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def suppress(scope: IConstruct, rule: str, reason: str, *, applies_to: Sequence[str] = ()) -> None:
    """Acknowledge `AwsSolutions-<rule>` (or each `AwsSolutions-<rule>[<finding>]`) on `scope`."""
    ids = [f"AwsSolutions-{rule}[{finding}]" for finding in applies_to] or [f"AwsSolutions-{rule}"]
    Validations.of(scope).acknowledge(*(Acknowledgment(id=id_, reason=reason) for id_ in ids))
