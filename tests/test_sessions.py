"""Logins end for good: logging out or changing the password revokes every earlier cookie, in
every process (the session epoch lives in the metadata store), and a login lasts
GALLERY_SESSION_HOURS."""

from __future__ import annotations

import time

from conftest import make_app
from test_security import PASSWORD, login, token_of, upload
from werkzeug.security import generate_password_hash

from app.services.admin import SESSION_EPOCH


def logged_in_cookie(app) -> tuple[str, str]:
    """Log in on a fresh client; the session cookie it got and its CSRF token."""
    client = app.test_client()
    assert login(client).status_code == 303
    token = token_of(client, "/upload")  # kept in the session: take the cookie after it
    return client.get_cookie("session").value, token


def writes_with(app, cookie: str, token: str, key: str) -> int:
    """The status of an upload by a client that kept ``cookie`` (another browser, or a thief)."""
    client = app.test_client()
    client.set_cookie("session", cookie)
    return upload(client, key, headers={"X-CSRFToken": token}).status_code


def test_logout_revokes_a_kept_cookie(tmp_path):
    app = make_app(tmp_path, GALLERY_ADMIN_PASSWORD=PASSWORD)
    kept, token = logged_in_cookie(app)
    assert writes_with(app, kept, token, "before.png") == 201
    client = app.test_client()
    client.set_cookie("session", kept)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert writes_with(app, kept, token, "after.png") == 401
    # A new login works again.
    fresh, fresh_token = logged_in_cookie(app)
    assert writes_with(app, fresh, fresh_token, "again.png") == 201


def test_logout_in_one_process_revokes_in_another(tmp_path):
    # Two apps on one data folder are two gunicorn workers (or two containers on one table).
    worker_a = make_app(tmp_path, GALLERY_ADMIN_PASSWORD=PASSWORD)
    worker_b = make_app(tmp_path, GALLERY_ADMIN_PASSWORD=PASSWORD)
    kept, token = logged_in_cookie(worker_a)
    assert writes_with(worker_b, kept, token, "b1.png") == 201  # worker B trusts A's login...
    client = worker_a.test_client()
    client.set_cookie("session", kept)
    client.post("/logout", data={"csrf_token": token})
    assert writes_with(worker_b, kept, token, "b2.png") == 401  # ...until A logs out
    assert worker_b.extensions["services"].metadata.get_state(SESSION_EPOCH)


def test_a_password_change_revokes_earlier_logins(tmp_path):
    old_hash = generate_password_hash(PASSWORD)
    before = make_app(tmp_path, GALLERY_ADMIN_PASSWORD_HASH=old_hash)
    kept, token = logged_in_cookie(before)
    same = make_app(tmp_path, GALLERY_ADMIN_PASSWORD_HASH=old_hash)  # a restart: the login holds
    assert writes_with(same, kept, token, "same.png") == 201
    changed = make_app(tmp_path, GALLERY_ADMIN_PASSWORD_HASH=generate_password_hash("a new password"))
    assert writes_with(changed, kept, token, "changed.png") == 401


def test_anonymous_logout_ends_nobody_elses_login(tmp_path):
    app = make_app(tmp_path, GALLERY_ADMIN_PASSWORD=PASSWORD)
    kept, token = logged_in_cookie(app)
    stranger = app.test_client()
    assert stranger.post("/logout", data={"csrf_token": token_of(stranger)}).status_code == 303
    assert writes_with(app, kept, token, "still.png") == 201


def test_a_login_lasts_the_configured_hours(tmp_path):
    hours = 2 / 3600  # two seconds
    app = make_app(tmp_path, GALLERY_ADMIN_PASSWORD=PASSWORD, GALLERY_SESSION_HOURS=hours)
    client = app.test_client()
    response = login(client)
    cookie = response.headers["Set-Cookie"]
    assert "Expires=" in cookie and "HttpOnly" in cookie
    token = token_of(client, "/upload")
    kept = client.get_cookie("session").value
    assert writes_with(app, kept, token, "fresh.png") == 201
    time.sleep(2.5)
    assert writes_with(app, kept, token, "stale.png") == 401


def test_default_lifetime_is_twelve_hours(tmp_path):
    app = make_app(tmp_path)
    assert app.permanent_session_lifetime.total_seconds() == 12 * 3600
    # Image responses never set a cookie (a shared cache could keep it).
    assert app.config["SESSION_REFRESH_EACH_REQUEST"] is False
