"""Work that runs from AWS events instead of a request: labelling a new upload.

With GALLERY_LABEL_ASYNC (on by default on Lambda) an upload answers without waiting for the
detector; the bucket's ``s3:ObjectCreated`` event for the original (``zappa_settings.json``,
``events``) then invokes ``label_uploaded`` in a container of the same function. Lambda invokes
it asynchronously and retries a failed invocation twice (about 1 and 3 minutes later), which is
the backoff for a throttled Rekognition beyond the few seconds tried here; ``gallery label
--missing`` sweeps whatever is still unlabelled.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from urllib.parse import unquote_plus

from flask import current_app, has_app_context

from .core.blobs import ORIGINAL
from .core.errors import BackendUnavailable, GalleryError

log = logging.getLogger(__name__)

# In-handler waits (seconds): for the record, written just after the original's bytes, and after a
# throttled or unavailable detector. Past them the invocation fails and Lambda retries it later.
WAITS = (0.5, 1.0, 2.0, 4.0)
# An original whose record is still missing this long after its event never got one (a refused or
# failed upload): nothing to label.
GIVE_UP_SECONDS = 15 * 60


class NotYet(Exception):
    """Labelling must be tried again later (Lambda retries the invocation)."""


def label_uploaded(event: dict, context=None) -> dict:
    """Zappa's event handler for the bucket's ObjectCreated events on originals."""
    app = current_app._get_current_object() if has_app_context() else _wsgi_app()
    with app.app_context():
        services = app.extensions["services"]
        outcomes = [label_one(services, record) for record in event.get("Records", [])]
    return {"labelled": outcomes.count("labelled"), "outcomes": outcomes}


def _wsgi_app():
    from wsgi import app  # the app Zappa's handler imported at start (``app_function``)

    return app


def label_one(services, s3_record: dict, sleep=time.sleep) -> str:
    """Label the upload one event names; what happened, in a word."""
    found = original_of(services, unquote_plus(s3_record["s3"]["object"]["key"]))
    if found is None:
        return "not an original"
    key, version = found
    metadata = services.images.metadata
    for wait in (*WAITS, None):
        record = metadata.get(key)
        if record is not None and record.version == version:
            break
        if metadata.get_version(key, version) is not None:
            return "replaced"  # replaced or deleted before its labels came
        if wait is None:
            if age(s3_record) > GIVE_UP_SECONDS:
                return "never stored"
            raise NotYet(f"{key} {version}: no record yet")
        sleep(wait)
    if record.labelled:
        return "already labelled"
    for wait in (*WAITS, None):
        try:
            services.recognition.recognize(key=key)  # stores the labels while that version is current
            return "labelled"
        except BackendUnavailable as exc:  # throttled or unreachable: back off, then let Lambda retry
            if wait is None:
                raise NotYet(exc.message) from exc
            log.warning("Labelling %r: %s; trying again in %.1f s", key, exc.message, wait)
            sleep(wait)
        except GalleryError as exc:  # the image itself: retrying will not help
            log.warning("Labelling %r failed: %s", key, exc.message)
            return "failed"
    return "failed"


def original_of(services, object_key: str) -> tuple[str, str] | None:
    """``(image key, version)`` from an original's object key (``[prefix]originals/<key>/<version>``)."""
    prefix = getattr(services.images.blobs, "prefix", "") + ORIGINAL + "/"
    if not object_key.startswith(prefix):
        return None
    key, _, version = object_key[len(prefix) :].rpartition("/")
    return (key, version) if key and version else None


def age(s3_record: dict) -> float:
    try:
        when = datetime.fromisoformat(s3_record["eventTime"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return 0.0
    return (datetime.now(UTC) - when).total_seconds()
