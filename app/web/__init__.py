"""Registers the blueprints, error handlers and response headers on an app (helpers they share: ``common``)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, current_app, g, request, url_for
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..core.errors import GalleryError
from ..core.redaction import redact
from ..core.units import format_mb
from ..runtime import fairness
from . import (
    albums,
    api,
    auth,
    cdn,
    direct_upload,
    folders,
    history,
    media,
    pages,
    processing,
    ratelimits,
    recognition,
    selection,
    shares,
)
from .apidoc import init_api
from .common import SECURITY_HEADERS, error_response, wants_json


def register(app: Flask) -> None:
    settings = app.extensions["settings"]
    blueprints = (
        pages,
        media,
        history,
        selection,
        api,
        processing,
        recognition,
        direct_upload,
        folders,
        shares,
        albums,
    )
    init_api(app, [m.bp for m in blueprints])
    # Before the security headers' hook: its own hook edits their CSP.
    cdn.install(app, settings, reads_public=auth.reads_public(settings))
    if auth.reads_public(settings):  # private reads go through Flask's login check
        app.wsgi_app = media.MediaFastPath(app.wsgi_app, app.extensions["services"].media)
    auth.init_app(app)

    # Image work is shared out per client (app.runtime.fairness): the pool learns who asks from
    # here, after auth.check_request (the first before_request) has said who that is.
    @app.before_request
    def image_work_client():
        g.image_work_client = fairness.set_client(ratelimits.client_identity())

    @app.teardown_request
    def image_work_client_done(exc):
        token = g.pop("image_work_client", None)
        if token is not None:  # request threads are reused: the next request must not inherit it
            fairness.reset_client(token)

    @app.errorhandler(GalleryError)
    def gallery_error(exc: GalleryError):
        body, status = error_response(exc.status, exc.code, exc.message if wants_json() else exc.page_message)
        return body, status, {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        if not wants_json():
            return error_response(
                400,
                "csrf_failed",
                "This form has expired (it was open a long time, or you logged in or out meanwhile). "
                "Go back, reload the page and send it again.",
            )
        return error_response(
            400, "csrf_failed", f"{exc.description} Reload the page and try again (API clients: send X-CSRFToken)."
        )

    @app.errorhandler(RateLimitExceeded)
    def too_many(exc: RateLimitExceeded):
        wait = "see the Retry-After header" if wants_json() else "a minute is usually enough"
        return error_response(
            429,
            "rate_limited",
            f"Too many {ratelimits.counted(exc)} from your address: the limit is {exc.description}. "
            f"Wait a little ({wait}) and try again.",
        )

    @app.errorhandler(413)
    def too_large(exc):
        limit = format_mb(settings.max_upload_bytes)
        if (
            settings.max_body_bytes < settings.max_upload_bytes
            and app.extensions["services"].uploads.supports_direct_upload
        ):
            # Behind API Gateway and Lambda: say which way bigger files go (straight to S3).
            uploads = url_for("direct_upload.presign")
            return error_response(
                413,
                "too_large",
                f"Files over {format_mb(settings.max_body_bytes)} cannot be sent through this server: use the "
                f"Upload page, or POST {uploads} (files up to {limit} go straight to storage), then POST "
                f"{uploads}/<upload_id>/commit to store the file, or send staged_id=<upload_id> to "
                f"{url_for('processing.api_process')} or {url_for('recognition.recognize_api')}.",
            )
        return error_response(
            413,
            "too_large",
            f"The upload is larger than the {limit} limit this server takes. (POST "
            f"{url_for('direct_upload.presign')}, which sends a file straight to storage, needs S3 storage.)",
        )

    @app.before_request
    def refuse_oversize_bodies():
        # A declared body over the limit is refused before any view runs, read or not: a view that
        # never reads its body must not act on a request the server only half took (serve.py hands
        # the app such requests, bodies unread, so that this 413 is the one the client gets).
        limit = app.config["MAX_CONTENT_LENGTH"]
        if limit is not None and (request.content_length or 0) > limit:
            raise RequestEntityTooLarge()

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return error_response(exc.code or 500, exc.name.lower().replace(" ", "_"), exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        current_app.logger.exception("Unhandled error on %s %s", request.method, redact(request.path))
        return error_response(500, "internal_error", "Something went wrong on our side; the error has been logged.")

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS:
            response.headers.setdefault(name, value)
        return response

    @app.template_filter("isotime")
    def isotime(timestamp: float, human: bool = False) -> str:
        moment = datetime.fromtimestamp(timestamp, tz=UTC)
        return moment.strftime("%Y-%m-%d %H:%M UTC") if human else moment.isoformat()

    # Templates get what they display, never the settings themselves (secret key, passwords, tokens):
    # not even Flask's default ``config`` global.
    app.jinja_env.globals.pop("config", None)
    site = {
        "storage": settings.storage,
        "metadata": settings.metadata,
        "cache": settings.cache,
        "max_upload": format_mb(settings.max_upload_bytes),
        "max_pixels": settings.max_pixels,
        "api_tokens": bool(auth.api_tokens(settings)),
        # Browse says "labelling…" for an upload whose labels come from the bucket's event (app.events).
        "labels_after_upload": settings.label_on_upload and settings.labels_after_upload,
    }

    @app.context_processor
    def template_globals():
        return {"site": site}
