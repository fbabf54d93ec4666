"""Optional write protection, login and HTTPS-aware session cookies (rate limits: ``ratelimits.py``).

Protection is on when an admin password (plain or hashed) or API tokens are configured.
Then every request that is not GET/HEAD/OPTIONS needs a logged-in session (and its CSRF
token) or ``Authorization: Bearer <token>`` (no CSRF token: a browser never sends that header
by itself, so a forged cross-site request cannot carry it). With ``GALLERY_PUBLIC_READ=0``
reads need the same, except the login page, static files and the health check.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.security import check_password_hash

from ..config import Settings
from ..errors import GalleryError
from . import ratelimits
from .common import app_settings

bp = Blueprint("auth", __name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Reachable by anyone even when reads are private: the way in, its assets, the liveness probe.
OPEN_ENDPOINTS = frozenset({"auth.login", "auth.login_submit", "auth.logout", "static", "api.healthz"})
SESSION_FLAG = "admin"


class Unauthorized(GalleryError):
    status = 401
    code = "unauthorized"


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """Marks the session cookie ``Secure`` whenever the request itself came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


# -- configuration -----------------------------------------------------------------------
def api_tokens(settings: Settings) -> list[str]:
    return [token.strip() for token in settings.api_tokens.split(",") if token.strip()]


def protection_enabled(settings: Settings) -> bool:
    return bool(settings.admin_password or settings.admin_password_hash or api_tokens(settings))


def reads_public(settings: Settings) -> bool:
    return not protection_enabled(settings) or settings.public_read


def password_login_enabled(settings: Settings) -> bool:
    return bool(settings.admin_password or settings.admin_password_hash)


def password_matches(settings: Settings, candidate: str) -> bool:
    if settings.admin_password_hash:
        return check_password_hash(settings.admin_password_hash, candidate)
    expected = settings.admin_password
    return bool(expected) and hmac.compare_digest(candidate.encode(), expected.encode())


def token_matches(settings: Settings, candidate: str) -> bool:
    # Compare with every token, so the time taken does not tell which one nearly matched.
    found = False
    for token in api_tokens(settings):
        found |= hmac.compare_digest(candidate.encode(), token.encode())
    return found


# -- per-request check -------------------------------------------------------------------
def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def authenticate(settings: Settings) -> str | None:
    """Who is asking: ``"bearer"``, ``"session"`` or ``None``. A wrong token is refused outright."""
    token = bearer_token()
    if token is not None:
        if not token_matches(settings, token):
            raise Unauthorized("The API token is not valid.")
        return "bearer"
    if session.get(SESSION_FLAG):
        return "session"
    return None


def wants_html() -> bool:
    return not request.path.startswith("/api/") and request.method in SAFE_METHODS


def check_request():
    """before_request: authenticate, authorise, then check CSRF for session-based writes."""
    app, settings = current_app, app_settings()
    g.auth = None
    if protection_enabled(settings):
        g.auth = authenticate(settings)
        needs_login = request.method not in SAFE_METHODS or not settings.public_read
        if needs_login and g.auth is None and request.endpoint not in OPEN_ENDPOINTS:
            if wants_html() and password_login_enabled(settings):
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            raise Unauthorized(login_hint(settings))
    csrf_on = app.config.get("WTF_CSRF_ENABLED", True)  # as Flask-WTF's own check honours it
    if csrf_on and g.auth != "bearer" and request.method in app.config["WTF_CSRF_METHODS"]:
        app.extensions["csrf"].protect()
    return None


def login_hint(settings: Settings) -> str:
    ways = []
    if password_login_enabled(settings):
        ways.append("log in")
    if api_tokens(settings):
        ways.append("send an API token as 'Authorization: Bearer <token>'")
    return "This needs permission: " + " or ".join(ways) + "."


# -- login -------------------------------------------------------------------------------
def safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute or scheme-relative URL (open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("pages.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("pages.home")
    return target


@bp.get("/login")
def login():
    return render_template(
        "login.html", next=safe_next(request.args.get("next")), enabled=password_login_enabled(app_settings())
    )


@bp.post("/login")
@ratelimits.login_attempts
def login_submit():
    settings = app_settings()
    target = safe_next(request.form.get("next"))
    if not password_login_enabled(settings):
        return render_template("login.html", next=target, enabled=False, error="No password is configured."), 400
    if not password_matches(settings, request.form.get("password", "")):
        return render_template("login.html", next=target, enabled=True, error="Wrong password."), 401
    session.clear()  # a fresh session (and CSRF token) after logging in
    session[SESSION_FLAG] = True
    return redirect(target, code=303)


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("pages.home"), code=303)


# -- wiring ------------------------------------------------------------------------------
def init_app(app: Flask) -> None:
    """Register login, the access check and cookie/proxy settings on ``app``."""
    settings = app.extensions["settings"]
    if not settings.public_read and not protection_enabled(settings):
        raise SystemExit("GALLERY_PUBLIC_READ=0 needs GALLERY_ADMIN_PASSWORD(_HASH) or GALLERY_API_TOKENS.")
    app.register_blueprint(bp)
    # Flask-WTF's own check would run before we know about bearer tokens: we call it ourselves.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config["SESSION_COOKIE_SECURE"] = settings.secure_cookies
    app.session_interface = HttpsAwareSessionInterface()
    if settings.proxy_count:
        n = settings.proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)

    @app.after_request
    def challenge(response):
        if response.status_code == 401 and api_tokens(settings):
            response.headers.setdefault("WWW-Authenticate", 'Bearer realm="gallery"')
        return response

    @app.context_processor
    def auth_globals():
        return {
            "auth_enabled": password_login_enabled(settings),
            "logged_in": g.get("auth") == "session",
        }
