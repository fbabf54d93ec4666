"""Cloud Image Gallery: the Flask application factory.

Only Flask and the settings are imported here, so ``gunicorn.conf.py`` can read the settings
without loading the image libraries; ``create_app`` imports the rest.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask

from .config import OPTIONS, Settings, load_settings

# Their DEBUG output carries signed request headers (session tokens), request and response bodies
# (image bytes, a secret read from SSM): never at DEBUG, whatever level the root logger is given
# (Zappa's default is DEBUG). A level set on one of them explicitly is left alone.
SDK_LOGGERS = ("boto3", "botocore", "s3transfer", "urllib3")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides settings from the environment, keyed by their variable
    names (``{"GALLERY_CACHE": "memory"}``, used by tests); its other upper-case keys (``TESTING``...)
    go to Flask's own config."""
    from .cache import create_cache
    from .cli import init_app as register_cli
    from .metadata import create_metadata_store
    from .recognition import detector_factory
    from .runtime.startup import run_checks
    from .services import build_services
    from .storage import create_blob_store
    from .web import register
    from .web.extensions import csrf, limiter, limiter_config

    app = Flask(__name__, instance_relative_config=True, template_folder="../templates", static_folder="../static")
    config = dict(config or {})
    settings = load_settings(config)
    quiet_sdk_logs()  # before the first AWS call (the start-up checks may read SSM)
    settings = _ssm_secrets(settings)
    run_checks(settings)

    app.config.update(
        SECRET_KEY=_secret_key(settings, app.instance_path),
        # Room for the multipart envelope around one file of the largest size taken in a body.
        MAX_CONTENT_LENGTH=settings.max_body_bytes + 64 * 1024,
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # A signed cookie older than this is refused; a login also ends this long after it began.
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        # Set the cookie only when the session changes, so no image response carries a Set-Cookie.
        SESSION_REFRESH_EACH_REQUEST=False,
        **limiter_config(settings),
    )
    names = {option.name for option in OPTIONS}
    app.config.update({k: v for k, v in config.items() if k.isupper() and k not in names})
    app.extensions["settings"] = settings
    csrf.init_app(app)
    limiter.init_app(app)

    services = build_services(
        blobs=create_blob_store(settings, app.instance_path),
        metadata=create_metadata_store(settings, app.instance_path),
        cache=create_cache(settings),
        detector=detector_factory(settings),
        settings=settings,
        secret=app.config["SECRET_KEY"],
    )
    app.extensions["services"] = services
    register(app)
    register_cli(app)
    return app


def quiet_sdk_logs() -> None:
    for name in SDK_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


def _secret_key(settings: Settings, instance_path: str) -> str:
    """SECRET_KEY, else the SSM SecureString named by GALLERY_SECRET_KEY_SSM, else (off Lambda: the
    start-up checks refuse that there) one generated and kept in the instance folder."""
    if settings.secret_key:
        return settings.secret_key
    if settings.secret_key_ssm:
        from .runtime.secret_key import SecretUnavailable, ssm_secret

        try:
            return ssm_secret(settings.secret_key_ssm, settings.aws_region)
        except SecretUnavailable as exc:
            raise SystemExit(str(exc)) from None
    return _instance_secret(instance_path)


def _ssm_secrets(settings):
    """The password hash and API tokens from SSM where the settings name parameters for them."""
    from .runtime.secret_key import SecretUnavailable, with_ssm_secrets

    try:
        return with_ssm_secrets(settings)
    except SecretUnavailable as exc:
        raise SystemExit(str(exc)) from None


def _instance_secret(instance_path: str) -> str:
    """A secret generated once and kept in the instance folder, so sessions survive restarts."""
    os.makedirs(instance_path, exist_ok=True)  # only here: on Lambda the code folder is read-only
    path = os.path.join(instance_path, "secret_key")
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        pass
    secret = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker wrote it first: use theirs
        return _instance_secret(instance_path)
    with os.fdopen(fd, "w") as f:
        f.write(secret)
    return secret
