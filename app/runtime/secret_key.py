"""The Flask secret key from an SSM SecureString (``GALLERY_SECRET_KEY_SSM``), read once per process.

Every Lambda container (and every EC2 instance) then signs sessions and CSRF tokens with the same
key, and the key lives neither in the repository nor in the function's configuration.
"""

from __future__ import annotations

import functools


class SecretUnavailable(Exception):
    """The named parameter could not be read; the message says why and what to do."""


@functools.cache
def ssm_secret(name: str, region: str) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    from .aws import error_code, make_client

    try:
        response = make_client(region, "ssm").get_parameter(Name=name, WithDecryption=True)
    except (BotoCoreError, ClientError) as exc:
        code = error_code(exc) or type(exc).__name__
        fix = {
            "ParameterNotFound": f"create it: aws ssm put-parameter --type SecureString --name {name} "
            "--value \"$(python3 -c 'import secrets; print(secrets.token_hex(32))')\"",
            "AccessDeniedException": f"allow ssm:GetParameter on parameter {name} in the function's role",
        }.get(code, "check the name, the region and the function's role")
        raise SecretUnavailable(f"GALLERY_SECRET_KEY_SSM={name} could not be read ({code}): {fix}.") from None
    value = response["Parameter"]["Value"].strip()
    if len(value) < 32:
        raise SecretUnavailable(
            f"GALLERY_SECRET_KEY_SSM={name} holds a key of {len(value)} characters; use at least 32 random ones."
        )
    return value
