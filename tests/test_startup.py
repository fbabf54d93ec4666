"""Start-up checks: a Lambda stage is write-protected unless the operator says otherwise, and
every problem is reported at once, each naming the setting that fixes it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import make_app
from servers import ROOT
from werkzeug.security import generate_password_hash

from app import create_app
from app.config import load_settings
from app.runtime.startup import CHECKS, StartupError, run_checks

LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "cloud-image-gallery-dev"}


def problems(overrides: dict, environ: dict) -> str:
    with pytest.raises(StartupError) as failed:
        run_checks(load_settings(overrides, environ={}), environ)
    return str(failed.value)


def test_a_lambda_stage_refuses_anonymous_writes(tmp_path, monkeypatch):
    message = problems({}, LAMBDA)
    for setting in ("GALLERY_ADMIN_PASSWORD_HASH", "GALLERY_API_TOKENS", "GALLERY_ALLOW_ANONYMOUS_WRITES=1"):
        assert setting in message
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "cloud-image-gallery-dev")
    with pytest.raises(SystemExit, match="anyone could upload"):
        make_app(tmp_path)


@pytest.mark.parametrize(
    "overrides",
    [
        {"GALLERY_ADMIN_PASSWORD_HASH": generate_password_hash("secret")},
        {"GALLERY_API_TOKENS": "a-token"},
        {"GALLERY_ALLOW_ANONYMOUS_WRITES": "1"},
    ],
)
def test_a_lambda_stage_starts_when_protected_or_told_to(tmp_path, monkeypatch, overrides):
    # The in-process cache and a per-container secret key are refused on Lambda too.
    overrides = {**overrides, "GALLERY_CACHE": "none", "SECRET_KEY": "k" * 64}
    run_checks(load_settings(overrides, environ={}), LAMBDA)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "cloud-image-gallery-dev")
    assert make_app(tmp_path, **overrides).test_client().get("/healthz").status_code == 200


def test_elsewhere_anonymous_writes_stay_the_default():
    run_checks(load_settings({}, environ={}), {})
    with pytest.raises(StartupError, match="anyone could upload"):  # an empty token list protects nothing
        run_checks(load_settings({"GALLERY_API_TOKENS": " , "}, environ={}), LAMBDA)


def test_every_problem_is_reported_at_once():
    message = problems({"GALLERY_PUBLIC_READ": "0"}, LAMBDA)
    lines = message.splitlines()
    assert lines[0] == "The gallery cannot start:"
    assert len(lines) == 5 and lines[1].startswith("- GALLERY_PUBLIC_READ=0 needs") and "Lambda" in lines[2]
    assert "GALLERY_CACHE=memory" in lines[3] and "No SECRET_KEY" in lines[4]


def test_more_checks_are_functions_in_one_list():
    def secret_key_set(settings, environ):
        return [] if settings.secret_key else ["set SECRET_KEY"]

    with pytest.raises(StartupError, match="- set SECRET_KEY"):
        run_checks(load_settings({}, environ={}), {}, [*CHECKS, secret_key_set])


@pytest.mark.parametrize(
    ("overrides", "named"),
    [({"HOST": "0.0.0.0"}, "HOST=0.0.0.0"), ({"GALLERY_PROXY_COUNT": "1"}, "Behind a proxy (GALLERY_PROXY_COUNT)")],
)
def test_a_server_facing_the_network_refuses_anonymous_writes(overrides, named):
    # EC2: gunicorn on loopback behind nginx (GALLERY_PROXY_COUNT=1), or `make run HOST=0.0.0.0`.
    message = problems(overrides, {})
    assert named in message and "GALLERY_API_TOKENS" in message and "GALLERY_ALLOW_ANONYMOUS_WRITES=1" in message
    for protected in ({"GALLERY_API_TOKENS": "a-token"}, {"GALLERY_ALLOW_ANONYMOUS_WRITES": "1"}):
        run_checks(load_settings({**overrides, **protected}, environ={}), {})
    for loopback in ("127.0.0.1", "::1", "localhost"):
        run_checks(load_settings({"HOST": loopback}, environ={}), {})


MISSPELT = {"GALLERY_MEMCACHED_TLS": "ture", "GALLERY_CACHE": "memcahced"}


def test_misspelt_settings_stop_create_app_naming_each(tmp_path, monkeypatch):
    for name, value in MISSPELT.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(StartupError) as failed:
        create_app({"GALLERY_DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test-secret", "TESTING": True})
    message = str(failed.value)
    assert message.startswith("The gallery cannot start:\n- ")
    assert "GALLERY_MEMCACHED_TLS='ture' is not valid: not a boolean" in message
    assert "GALLERY_CACHE='memcahced' is not valid: not one of: memory, memcached, none" in message
    assert not (tmp_path / "data").exists()  # refused before anything was built


@pytest.mark.parametrize(
    "command",
    [["-c", "import wsgi"], ["serve.py"], ["-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]],
    ids=["import-wsgi", "make-run", "gunicorn"],
)
def test_misspelt_settings_stop_the_real_entry_points(tmp_path, command):
    """What an operator runs: the WSGI module (Zappa), `make run`'s server and the shipped gunicorn
    exit with the whole list on stderr, before binding a port."""
    env = {**os.environ, **MISSPELT, "GALLERY_DATA_DIR": str(tmp_path), "PORT": "0"}
    done = subprocess.run([sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "GALLERY_MEMCACHED_TLS='ture'" in done.stderr and "GALLERY_CACHE='memcahced'" in done.stderr
    assert "Traceback" not in done.stderr  # a message for a person, not a crash
