"""Per-client rate limits on login and on the expensive POSTs, as decorators for the views.

Each limit is read from the app's settings when a request comes (Flask-Limiter accepts a
callable), so every app that ``create_app`` builds keeps its own; ``off`` disables one.
"""

from __future__ import annotations

from flask import request

from ..extensions import limiter
from .common import app_settings

# What a 429 says was counted, by blueprint.
RATE_LIMITED = {"auth": "login attempts", "processing": "processing runs", "recognition": "recognition runs"}


def configured(value: str) -> str:
    """The limit as Flask-Limiter reads it (``10/minute``); '' means none."""
    value = value.strip()
    return "" if value.lower() in ("", "off", "none", "0") else value


def is_step_edit() -> bool:
    return bool(request.form.get("edit"))


def is_preview() -> bool:
    """A live preview (``preview`` on /api/process): small work, counted in a budget of its own."""
    if request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # the view answers that one
            body = None
        value = body.get("preview") if isinstance(body, dict) else None
    else:
        value = request.form.get("preview")
    return str(value).strip().lower() in ("1", "true", "on", "yes")


def ran_something(response) -> bool:
    """A result the cache answered cost nothing, so it is not counted."""
    return response.headers.get("X-Cache") != "hit"


# Only on submitting the password: logging out must always work.
login_attempts = limiter.limit(lambda: configured(app_settings().rate_limit_login))
# The page form and the JSON route share one budget per client; editing the steps of the
# no-JavaScript form ("edit" buttons) processes nothing, so it costs nothing, and neither does a
# result the cache answers. Live previews have a larger budget of their own.
processing_runs = limiter.shared_limit(
    lambda: configured(app_settings().rate_limit_process),
    scope="processing",
    exempt_when=lambda: is_step_edit() or is_preview(),
    deduct_when=ran_something,
)
preview_runs = limiter.shared_limit(
    lambda: configured(app_settings().rate_limit_preview),
    scope="preview",
    exempt_when=lambda: not is_preview(),
    deduct_when=ran_something,
)
recognition_runs = limiter.shared_limit(
    lambda: configured(app_settings().rate_limit_recognize), scope="recognition", exempt_when=is_step_edit
)
