"""Start-up checks for AWS Lambda: each check looks at the settings and names what is wrong and
the setting that fixes it. ``create_app`` runs them on Lambda and refuses to start while any
fails, reporting every problem at once (a container that starts half-configured fails later,
per request and per container, where nobody looks)."""

from __future__ import annotations

import os
from collections.abc import Callable

from .config import Settings
from .secret_key import SecretUnavailable, ssm_secret


def on_lambda() -> bool:
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def stable_secret_key(settings: Settings) -> str | None:
    """Every container must sign sessions and CSRF tokens with the same key; a key made per container
    fails every form that another container rendered."""
    if settings.secret_key:
        return None
    if not settings.secret_key_ssm:
        return (
            "No SECRET_KEY: every Lambda container would make its own, and forms rendered by one fail on "
            "another. Set GALLERY_SECRET_KEY_SSM to the name of an SSM SecureString holding the key "
            "(aws ssm put-parameter --type SecureString ...), or SECRET_KEY in the function's environment."
        )
    try:
        ssm_secret(settings.secret_key_ssm, settings.aws_region)
    except SecretUnavailable as exc:
        return str(exc)
    return None


CHECKS: list[Callable[[Settings], str | None]] = [stable_secret_key]


def run(settings: Settings) -> None:
    """Run every check; raise SystemExit listing all the problems found."""
    problems = [message for check in CHECKS if (message := check(settings))]
    if problems:
        raise SystemExit("The gallery cannot start on AWS Lambda:\n" + "\n".join(f"- {p}" for p in problems))
