"""The JWT signing key: from Secrets Manager in AWS (cached 5 minutes), from settings locally."""

from __future__ import annotations

from meterplex.platform.settings import JwtSettings, load

SECRET_CACHE_S = 300


def jwt_signing_key() -> str:
    settings = load(JwtSettings)
    if settings.jwt_secret:
        return settings.jwt_secret
    from aws_lambda_powertools.utilities.parameters import get_secret

    assert settings.jwt_secret_arn is not None  # guaranteed by JwtSettings
    return str(get_secret(settings.jwt_secret_arn, max_age=SECRET_CACHE_S))
