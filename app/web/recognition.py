"""Image Recognition tab: the page (works without JavaScript) and ``POST /api/recognize``.

Both take a multipart ``file`` or a ``source_key`` of a gallery image, plus ``min_confidence`` and
``max_labels`` (bounds and defaults in ``recognition.shape``), and call ``Gallery.recognize``.
"""

from __future__ import annotations

import time

from flask import render_template, request

from ..core.errors import GalleryError, InvalidParameter
from ..recognition.shape import DEFAULT_MAX_LABELS, DEFAULT_MIN_CONFIDENCE
from . import answers, ratelimits, schemas
from .apidoc import ApiBlueprint, parser
from .common import services
from .processing import shown_picture, source_data

bp = ApiBlueprint("recognition", __name__, description="Object recognition")


def _source(fields: dict) -> tuple[bytes | None, str | None]:
    data, key = source_data(fields), fields.get("source_key")
    if data is not None and key is not None:
        raise InvalidParameter(
            "Send either an image file or a source_key, not both.",
            page="Choose a photo from your computer or type the key of a gallery photo, not both.",
        )
    if data is None and key is None:
        raise InvalidParameter(
            "Attach an image as the multipart field 'file' or name a gallery image in 'source_key'.",
            page="Choose a photo from your computer or type the key of a gallery photo.",
        )
    return data, key


def _detect(fields: dict) -> dict:
    """Run one recognition request (the page and the API take the same fields); the answer plus
    what the page and the API report about it."""
    data, key = _source(fields)
    started = time.perf_counter()
    result = services().recognition.recognize(
        key=key, data=data, min_confidence=fields.get("min_confidence"), max_labels=fields.get("max_labels")
    )
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    return {"result": result, "elapsed_ms": elapsed_ms, "data": data, "key": key}


@bp.post("/api/recognize")
@ratelimits.recognition_runs
@bp.arguments(schemas.Recognize, location="multipart")
@bp.response(200, answers.Recognition, description="Rekognition DetectLabels-shaped labels, most confident first")
@bp.errors(400, 404, 413, 415, 422, 429, 503)
def recognize_api(fields: dict):
    """Detect objects; a gallery image's label names are stored with it"""
    run = _detect(fields)
    body = {
        **run["result"],
        "model": services().recognition.detector_model,
        "detector": services().recognition.detector_name,
    }
    body["elapsed_ms"] = run["elapsed_ms"]
    if run["key"] is not None:
        record = services().catalog.get_record(run["key"])
        body["source_key"] = record.key
        body["stored_labels"] = record.labels
    return body


def _page(status: int = 200, **context):
    context.setdefault("source_key", request.values.get("source_key", "").strip())
    context.setdefault("min_confidence", DEFAULT_MIN_CONFIDENCE)
    return (
        render_template(
            "recognize.html", detector=services().recognition.detector_name, max_labels=DEFAULT_MAX_LABELS, **context
        ),
        status,
    )


@bp.get("/recognize")
def recognize_page():
    return _page()


@bp.post("/recognize")
@ratelimits.recognition_runs
def recognize_submit():
    min_confidence = request.form.get("min_confidence") or DEFAULT_MIN_CONFIDENCE
    try:
        run = _detect(parser.parse(schemas.Recognize, location="multipart"))
        if run["key"] is not None:
            record = services().catalog.get_record(run["key"])
            shown = shown_picture(record)  # boxes are ratios: drawn on the rendition's own size
            src, width, height, stored = shown["url"], shown["width"], shown["height"], record.labels
        else:
            shown = services().media.describe_upload(run["data"])
            src, width, height, stored = shown.url, shown.width, shown.height, None
    except GalleryError as exc:
        return _page(exc.status, error=exc.page_message, min_confidence=min_confidence)
    return _page(
        result=run["result"],
        elapsed_ms=run["elapsed_ms"],
        image={"src": src, "width": width, "height": height},
        stored_labels=stored,
        min_confidence=min_confidence,
    )
