"""What every blueprint shares: the services, the settings, the error body and the security headers."""

from __future__ import annotations

from flask import current_app, g, jsonify, render_template, request

from ..config import Settings
from ..services import Services

# No inline script or style anywhere: every script and stylesheet is a file under /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

SECURITY_HEADERS = [
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
]


def services() -> Services:
    """The app's use-case services: views call their methods and nothing behind them."""
    return current_app.extensions["services"]


def app_settings() -> Settings:
    """The app's settings (``create_app`` keeps them in ``app.extensions``)."""
    return current_app.extensions["settings"]


def is_api_path(rule: str) -> bool:
    """A JSON endpoint: declared in the API document (``apidoc``)."""
    return rule.startswith("/api/") or rule == "/healthz"


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: str):
    if wants_json():
        return jsonify({"error": {"code": code, "message": message}}), status
    return render_template(
        "error.html", status=status, code=code, message=message, **g.get("error_context", {})
    ), status


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None
