"""Checks a Lambda stage must pass before it serves anything.

On Lambda (``AWS_LAMBDA_FUNCTION_NAME`` is set) ``create_app`` runs every check in ``CHECKS``
and refuses to start with all the problems at once, each naming the setting that fixes it,
rather than one problem per failed deployment.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from .config import Settings


def shared_cache(settings: Settings) -> str | None:
    if settings.cache == "memory":
        return (
            "GALLERY_CACHE=memory keeps a separate cache in every Lambda container (memory paid in each, "
            "hit rates and statistics per container): set GALLERY_CACHE=memcached with GALLERY_MEMCACHED_SERVERS "
            "(ElastiCache), or GALLERY_CACHE=none."
        )
    return None


CHECKS: list[Callable[[Settings], str | None]] = [shared_cache]


def on_lambda(environ: Mapping[str, str] = os.environ) -> bool:
    return bool(environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def check(settings: Settings, environ: Mapping[str, str] = os.environ) -> None:
    """Raise ``SystemExit`` listing every problem, when running on Lambda."""
    if not on_lambda(environ):
        return
    problems = [problem for run in CHECKS if (problem := run(settings))]
    if problems:
        raise SystemExit("The app cannot start on Lambda:\n" + "\n".join(f"- {p}" for p in problems))
