"""Optional write protection, login and HTTPS-aware session cookies (rate limits: ``ratelimits.py``).

Protection is on when an admin password (plain or hashed) or API tokens are configured.
Then every request that is not GET/HEAD/OPTIONS needs a logged-in session (and its CSRF
token) or ``Authorization: Bearer <token>`` (no CSRF token: a browser never sends that header
by itself, so a forged cross-site request cannot carry it). With ``GALLERY_PUBLIC_READ=0``
reads need the same, except the login page, static files and the health check.

A login lasts ``GALLERY_SESSION_HOURS`` and is checked against the server on every request: the
cookie carries a fingerprint of the admin password and of the *session epoch* that the metadata
store keeps (so every worker and container sees the same one). Logging out starts a new epoch
and changing the password changes the fingerprint, so either ends every earlier login, wherever
its cookie went.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.security import check_password_hash

from ..config import Settings
from ..core.errors import GalleryError
from . import ratelimits
from .common import app_settings, bearer_token, services

bp = Blueprint("auth", __name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Reachable by anyone even when reads are private: the way in, its assets, the liveness probe, and
# share links (each checks its own token and reaches only what it shares: web/shares.py).
SHARE_ENDPOINTS = frozenset(
    {"shares.shared_page", "shares.shared_unlock", "shares.shared_items", "shares.shared_item", "shares.shared_media"}
)
OPEN_ENDPOINTS = (
    frozenset({"auth.login", "auth.login_submit", "auth.logout", "static", "api.healthz"}) | SHARE_ENDPOINTS
)
# Deleting unpublishes: what is in the trash is for the admin, even when reads are public; the
# share links too (each token is a key to part of the gallery).
ADMIN_READS = frozenset({"history.list_trash", "history.trash_page", "shares.list_shares", "shares.shares_page"})
SESSION_FLAG = "admin"  # the login's fingerprint (login_fingerprint)
SESSION_SINCE = "since"  # when it logged in (Unix time)
# How long a page view may trust this process's copy of the session epoch; writes always read it.
EPOCH_MAX_AGE = 2.0


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


def authenticate(settings: Settings) -> str | None:
    """Who is asking: ``"bearer"``, ``"session"`` or ``None``. A wrong token is refused outright."""
    token = bearer_token()
    if token is not None:
        if not token_matches(settings, token):
            raise Unauthorized("The API token is not valid.")
        return "bearer"
    if SESSION_FLAG in session and session_login_counts(settings):
        return "session"
    return None


def login_fingerprint(settings: Settings, max_age: float = 0.0) -> str:
    """What a login's cookie carries: an HMAC, under the secret key, of the admin password setting
    and the current session epoch. The cookie is signed but readable, so it holds no password."""
    material = "\0".join(
        (settings.admin_password_hash or settings.admin_password, services().admin.session_epoch(max_age))
    )
    return hmac.new(str(current_app.secret_key).encode(), material.encode(), hashlib.sha256).hexdigest()


def session_login_counts(settings: Settings) -> bool:
    """Whether the session's login still counts: made with the current password, in the current
    session epoch, less than GALLERY_SESSION_HOURS ago."""
    claim, since = session.get(SESSION_FLAG), session.get(SESSION_SINCE)
    if not password_login_enabled(settings) or not isinstance(claim, str) or not isinstance(since, int | float):
        return False
    if time.time() - since > settings.session_hours * 3600:
        return False
    max_age = EPOCH_MAX_AGE if request.method in SAFE_METHODS else 0.0
    return hmac.compare_digest(claim, login_fingerprint(settings, max_age))


def wants_html() -> bool:
    return not request.path.startswith("/api/") and request.method in SAFE_METHODS


def check_request():
    """before_request: authenticate, authorise, then check CSRF for session-based writes."""
    app, settings = current_app, app_settings()
    g.auth = None
    if protection_enabled(settings):
        g.auth = authenticate(settings)
        needs_login = request.method not in SAFE_METHODS or not settings.public_read or request.endpoint in ADMIN_READS
        if needs_login and g.auth is None and request.endpoint not in OPEN_ENDPOINTS:
            if wants_html() and password_login_enabled(settings):
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            raise Unauthorized(login_hint(settings))
    csrf_on = app.config.get("WTF_CSRF_ENABLED", True)  # as Flask-WTF's own check honours it
    if csrf_on and g.auth != "bearer" and request.method in app.config["WTF_CSRF_METHODS"]:
        app.extensions["csrf"].protect()
    return None


def sees_deleted() -> bool:
    """Whether this request may see deleted images and their versions: the admin's, or anyone's
    when writes are anonymous (then pages say so)."""
    return not protection_enabled(app_settings()) or g.get("auth") is not None


def login_hint(settings: Settings) -> str:
    ways = []
    if password_login_enabled(settings):
        ways.append("log in")
    if api_tokens(settings):
        ways.append("send an API token as 'Authorization: Bearer <token>'")
    return "This needs permission: " + " or ".join(ways) + "."


# -- login -------------------------------------------------------------------------------
def safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute or scheme-relative URL (open redirect), nor one
    with control characters (a CR/LF would split the Location header)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("pages.home")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
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
    session.permanent = True  # the browser drops the cookie when the login ends
    session[SESSION_FLAG] = login_fingerprint(settings)
    session[SESSION_SINCE] = int(time.time())
    return redirect(target, code=303)


@bp.post("/logout")
def logout():
    if g.get("auth") == "session":  # only a login may end the logins (there is one admin)
        services().admin.end_sessions()
    session.clear()
    return redirect(url_for("pages.home"), code=303)


# -- wiring ------------------------------------------------------------------------------
def init_app(app: Flask) -> None:
    """Register login, the access check and cookie/proxy settings on ``app``."""
    settings = app.extensions["settings"]  # checked at start-up (app/startup.py)
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
            "anonymous_writes": not protection_enabled(settings),
        }
