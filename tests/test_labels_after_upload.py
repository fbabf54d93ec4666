"""Labels off the request path: with GALLERY_LABEL_ASYNC (the default on Lambda) an upload answers
without calling the detector, the page says "labelling…", and the bucket's event handler
(``app.events.label_uploaded``, invoked here directly with an S3 ObjectCreated event) stores the
labels; a throttled detector is retried with backoff and then left to Lambda's own retries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_image

from app import create_app, events
from app.core.blobs import ORIGINAL, blob_name
from app.core.errors import BackendUnavailable

pytest_plugins = ["cloud"]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def lambda_app(aws, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "cloud-image-gallery-dev")
    app = create_app(
        {
            "GALLERY_DATA_DIR": str(tmp_path / "data"),
            "GALLERY_STORAGE": "s3",
            "GALLERY_S3_BUCKET": aws["bucket"],
            "GALLERY_S3_PREFIX": "g/",
            "GALLERY_METADATA": "dynamodb",
            "GALLERY_DYNAMODB_TABLE": aws["table"],
            "GALLERY_CACHE": "none",
            "GALLERY_RECOGNIZER": "rekognition",
            "GALLERY_ALLOW_ANONYMOUS_WRITES": "1",
            "SECRET_KEY": "k" * 64,
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
        }
    )
    assert app.test_cli_runner().invoke(args=["gallery", "init"]).exit_code == 0
    return app


def s3_event(bucket: str, object_key: str) -> dict:
    """What S3 sends for a new object (the key URL-encoded, spaces as '+')."""
    from urllib.parse import quote_plus

    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "eventTime": "2026-01-01T00:00:00.000Z",
                "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(object_key, safe="/")}},
            }
        ]
    }


def test_upload_answers_before_labelling_and_the_event_labels_it(lambda_app, aws, monkeypatch):
    services = lambda_app.extensions["services"]
    calls = []
    detect = type(services.recognition).recognize
    monkeypatch.setattr(
        type(services.recognition), "recognize", lambda self, **kw: calls.append(kw) or detect(self, **kw)
    )
    client = lambda_app.test_client()
    answer = client.post("/api/images", data={"key": "cats/tom-cat.png", "file": (make_image_file(), "t.png")})
    assert answer.status_code == 201, answer.get_json()
    assert calls == [] and answer.get_json()["labels"] == []
    record = services.images.metadata.get("cats/tom-cat.png")
    assert not record.labelled
    assert "labelling…" in client.get("/browse", query_string={"key": "cats/tom-cat.png"}).get_data(as_text=True)

    name = "g/" + blob_name(ORIGINAL, record)
    with lambda_app.app_context():
        outcome = events.label_uploaded(s3_event(aws["bucket"], name))
    assert outcome["outcomes"] == ["labelled"] and calls == [{"key": "cats/tom-cat.png"}]
    labelled = services.images.metadata.get("cats/tom-cat.png")
    assert labelled.labelled and labelled.version == record.version
    page = client.get("/browse", query_string={"key": "cats/tom-cat.png"}).get_data(as_text=True)
    assert "labelling…" not in page
    # A repeated event (S3 delivers at least once) changes nothing.
    with lambda_app.app_context():
        assert events.label_uploaded(s3_event(aws["bucket"], name))["outcomes"] == ["already labelled"]


def make_image_file():
    import io

    return io.BytesIO(make_image(size=(96, 64)))


def test_a_throttled_detector_is_retried_then_left_to_lambda(lambda_app, monkeypatch):
    services = lambda_app.extensions["services"]
    record, _ = services.library.upload("dogs/rex.png", make_image())
    attempts = []

    def throttled(**kwargs):
        attempts.append(kwargs)
        raise BackendUnavailable("Rekognition refused the request (ThrottlingException).")

    monkeypatch.setattr(services.recognition, "recognize", throttled)
    sleeps = []
    s3_record = s3_event("b", "g/" + blob_name(ORIGINAL, record))["Records"][0]
    with pytest.raises(events.NotYet):
        events.label_one(services, s3_record, sleep=sleeps.append)
    assert len(attempts) == len(events.WAITS) + 1 and sleeps == list(events.WAITS)


def test_events_not_for_a_current_original_are_passed_over(lambda_app):
    services = lambda_app.extensions["services"]
    old, _ = services.library.upload("x.png", make_image(), on_conflict="replace")
    services.library.upload("x.png", make_image(color=(1, 2, 3)), on_conflict="replace")
    never = s3_event("b", "g/originals/y.png/0123")["Records"][0]
    assert events.label_one(services, s3_event("b", "g/thumbs/x.png/1")["Records"][0]) == "not an original"
    assert events.label_one(services, s3_event("b", "g/" + blob_name(ORIGINAL, old))["Records"][0]) == "replaced"
    assert events.label_one(services, never, sleep=lambda s: None) == "never stored"  # its event is old


def test_the_stages_route_the_bucket_event_to_the_handler():
    stages = json.loads((ROOT / "zappa_settings.json").read_text())
    for stage in ("dev", "production"):
        settings = {**stages["dev"], **stages[stage]}
        bucket = settings["environment_variables"]["GALLERY_S3_BUCKET"]
        (event,) = settings["events"]
        assert event["function"] == "app.events.label_uploaded"
        assert event["event_source"]["arn"] == f"arn:aws:s3:::{bucket}"
        assert event["event_source"]["events"] == ["s3:ObjectCreated:*"]
        assert event["event_source"]["key_filters"] == [{"type": "prefix", "value": "originals/"}]
