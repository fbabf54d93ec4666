"""Cloud Image Gallery: the Flask application factory."""

from __future__ import annotations

import os
import secrets

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from .cache import create_cache
from .config import load_settings
from .gallery import Gallery
from .metadata import create_metadata_store
from .recognition import create_detector
from .storage import create_blob_store

csrf = CSRFProtect()


def create_app(config: dict | None = None) -> Flask:
    """Build the app. ``config`` overrides settings from the environment (used by tests)."""
    app = Flask(__name__, instance_relative_config=True, template_folder="../templates", static_folder="../static")
    settings = load_settings()
    settings.update(config or {})

    app.config.update(
        SECRET_KEY=settings["SECRET_KEY"] or _instance_secret(app.instance_path),
        # Room for the multipart envelope around one file of the largest allowed size.
        MAX_CONTENT_LENGTH=int(settings["GALLERY_MAX_UPLOAD_MB"] * 1024 * 1024) + 64 * 1024,
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        GALLERY=settings,
    )
    app.config.update({k: v for k, v in (config or {}).items() if k.isupper() and not k.startswith("GALLERY_")})
    csrf.init_app(app)

    gallery = Gallery(
        blobs=create_blob_store(settings, app.instance_path),
        metadata=create_metadata_store(settings, app.instance_path),
        cache=create_cache(settings),
        detector=create_detector(settings),
        settings=settings,
    )
    app.extensions["gallery"] = gallery

    from .web import register

    register(app)
    from .cli import init_app as register_cli

    register_cli(app)
    return app


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
