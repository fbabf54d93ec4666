"""Secrets from SSM SecureStrings, read once per process: the Flask secret key
(``GALLERY_SECRET_KEY_SSM``), the admin password hash (``GALLERY_ADMIN_PASSWORD_HASH_SSM``) and
the API tokens (``GALLERY_API_TOKENS_SSM``).

Every Lambda container (and every EC2 instance) then signs sessions and CSRF tokens with the same
key and accepts the same credentials, and none of them lives in the repository or in the
function's configuration.
"""

from __future__ import annotations

import dataclasses
import functools

from ..config import Settings

GENERATE_KEY = "\"$(python3 -c 'import secrets; print(secrets.token_hex(32))')\""
# setting attribute filled from SSM -> (the SSM-name setting, its variable, how to make a value)
FROM_SSM = {
    "admin_password_hash": (
        "admin_password_hash_ssm",
        "GALLERY_ADMIN_PASSWORD_HASH_SSM",
        "\"$(python3 -c 'from getpass import getpass; from werkzeug.security import generate_password_hash as h; "
        "print(h(getpass()))')\"",
    ),
    "api_tokens": (
        "api_tokens_ssm",
        "GALLERY_API_TOKENS_SSM",
        "\"$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')\"",
    ),
}


class SecretUnavailable(Exception):
    """The named parameter could not be read; the message says why and what to do."""


def ssm_parameter(name: str, region: str, setting: str, example: str) -> str:
    """The decrypted value of one SecureString; ``SecretUnavailable`` naming ``setting`` and the fix."""
    from botocore.exceptions import BotoCoreError, ClientError

    from .aws import error_code, make_client

    try:
        response = make_client(region, "ssm").get_parameter(Name=name, WithDecryption=True)
    except (BotoCoreError, ClientError) as exc:
        code = error_code(exc) or type(exc).__name__
        fix = {
            "ParameterNotFound": f"create it: aws ssm put-parameter --type SecureString --name {name} --value {example}",
            "AccessDeniedException": f"allow ssm:GetParameter on parameter {name} in the function's role",
        }.get(code, "check the name, the region and the function's role")
        raise SecretUnavailable(f"{setting}={name} could not be read ({code}): {fix}.") from None
    return response["Parameter"]["Value"].strip()


@functools.cache
def ssm_secret(name: str, region: str) -> str:
    value = ssm_parameter(name, region, "GALLERY_SECRET_KEY_SSM", GENERATE_KEY)
    if len(value) < 32:
        raise SecretUnavailable(
            f"GALLERY_SECRET_KEY_SSM={name} holds a key of {len(value)} characters; use at least 32 random ones."
        )
    return value


def with_ssm_secrets(settings: Settings) -> Settings:
    """``settings`` with the password hash and API tokens read from SSM where their ``*_SSM``
    setting names a parameter (a value set directly wins). Every unreadable one is reported."""
    found, problems = {}, []
    for attr, (name_attr, variable, example) in FROM_SSM.items():
        name = getattr(settings, name_attr)
        if not name or getattr(settings, attr):
            continue
        try:
            found[attr] = ssm_parameter(name, settings.aws_region, variable, example)
        except SecretUnavailable as exc:
            problems.append(str(exc))
    if problems:
        raise SecretUnavailable("\n".join(problems))
    return dataclasses.replace(settings, **found) if found else settings
