"""When Rekognition throttles or is down, the 503 says so in words true where the app runs: "busy,
try again in a minute" (with Retry-After), and the local model is suggested only where it is
installed (never in the Lambda package, which has no model)."""

from __future__ import annotations

import io
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from conftest import Api, make_app

from app.core.errors import BackendUnavailable
from app.recognition import bundled, rekognition
from app.recognition.rekognition import RekognitionDetector

DOG = (Path(__file__).parent / "data" / "dog.jpg").read_bytes()
LOCAL_HINT = "GALLERY_RECOGNIZER=local"


@pytest.fixture
def throttling(monkeypatch):
    """A Rekognition client whose every DetectLabels answers ThrottlingException."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    client = boto3.client("rekognition", region_name="us-east-1")
    with Stubber(client) as stub:
        for _ in range(3):
            stub.add_client_error("detect_labels", service_error_code="ThrottlingException", http_status_code=400)
        yield client


@pytest.mark.parametrize("model_here", [True, False], ids=["local model installed", "Lambda package"])
def test_a_throttled_recognition_says_busy_and_names_the_local_model_only_where_it_is(
    throttling, monkeypatch, model_here
):
    monkeypatch.setattr(rekognition, "local_model_present", lambda: model_here)
    with pytest.raises(BackendUnavailable) as raised:
        RekognitionDetector(client=throttling).detect(DOG)
    message = raised.value.message
    assert message.startswith("Image recognition is busy") and "Try again in a minute." in message
    assert (LOCAL_HINT in message) is model_here
    assert raised.value.retry_after == 60


def test_the_api_answers_a_503_with_retry_after(throttling, monkeypatch, tmp_path):
    monkeypatch.setattr(rekognition, "make_client", lambda region, service: throttling)
    monkeypatch.setattr(rekognition, "local_model_present", lambda: False)  # as on Lambda
    api = Api(make_app(tmp_path, GALLERY_RECOGNIZER="rekognition").test_client())
    response = api.post(
        "/api/recognize", data={"file": (io.BytesIO(DOG), "dog.jpg")}, content_type="multipart/form-data"
    )
    assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    error = response.get_json()["error"]
    assert error["code"] == "backend_unavailable" and "busy" in error["message"] and LOCAL_HINT not in error["message"]


def test_the_local_model_is_found_without_importing_it(monkeypatch):
    bundled.local_model_present.cache_clear()
    assert bundled.local_model_present()  # requirements.txt installs it (requirements-lambda.txt does not)
    bundled.local_model_present.cache_clear()
    monkeypatch.setattr(bundled, "model_paths", lambda: (_ for _ in ()).throw(BackendUnavailable("missing")))
    assert not bundled.local_model_present()
    bundled.local_model_present.cache_clear()
