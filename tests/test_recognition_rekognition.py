"""The Rekognition backend against a real moto_server over HTTP: same result shape as the bundled
detector, bytes and S3Object sources, the 5 MB limit, and service failures as clear domain errors.

moto answers ``DetectLabels`` with a fixed label ("Mobile Phone"), so these tests check the shape
and the plumbing, not what is in the picture.
"""

from __future__ import annotations

import io
from pathlib import Path

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from PIL import Image

from app.config import load_settings
from app.core.errors import BackendUnavailable, BadImage, InvalidParameter, NotAnImage
from app.recognition import create_detector
from app.recognition.local import LocalDetector
from app.recognition.prepare import fit_jpeg_png
from app.recognition.rekognition import MAX_IMAGE_BYTES, RekognitionDetector
from app.storage.base import ObjectRef

pytest_plugins = ["cloud"]
pytestmark = pytest.mark.cloud

DATA = Path(__file__).parent / "data"


def shape_of(value):
    """The nested keys and value types of a result, without the values."""
    if isinstance(value, dict):
        return {k: shape_of(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape_of(value[0])] if value else []
    return type(value).__name__


def noise_png(side: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def detector(aws):
    settings = {"GALLERY_RECOGNIZER": "rekognition", "AWS_REGION": "us-east-1", "GALLERY_MAX_PIXELS": 10**8}
    return create_detector(load_settings(settings, environ={}))


def test_bytes_give_the_same_shape_as_the_local_detector(detector):
    data = (DATA / "dog.jpg").read_bytes()
    remote = detector.detect(data)
    assert isinstance(detector, RekognitionDetector)
    assert remote["Labels"], "moto returns one label"
    label = remote["Labels"][0]
    assert label["Name"] == "Mobile Phone" and 0 <= label["Confidence"] <= 100
    assert label["Parents"] == [{"Name": "Phone"}]
    local = LocalDetector().detect(data)
    object_label = next(lab for lab in local["Labels"] if lab["Instances"])
    assert shape_of(label) == shape_of(object_label)
    assert set(remote) == set(local) == {"Labels", "LabelModelVersion"}


def test_s3_object_is_passed_by_reference(detector, aws):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=aws["bucket"])
    s3.put_object(Bucket=aws["bucket"], Key="originals/dog.jpg", Body=(DATA / "dog.jpg").read_bytes())
    ref = ObjectRef(aws["bucket"], "originals/dog.jpg")
    assert detector.can_read(ref, "image/jpeg", 100_000)
    assert not detector.can_read(ref, "image/webp", 100_000)
    assert not detector.can_read(ref, "image/png", 16 * 1024 * 1024)
    result = detector.detect_stored(ref)
    assert result["Labels"][0]["Instances"][0]["BoundingBox"].keys() == {"Width", "Height", "Left", "Top"}


def test_min_confidence_and_max_labels_apply_to_service_answers(detector):
    data = (DATA / "dog.jpg").read_bytes()
    assert detector.detect(data, min_confidence=99.99)["Labels"] == []  # moto's label is at 99.94
    with pytest.raises(InvalidParameter):
        detector.detect(data, max_labels=0)


def test_large_or_foreign_images_are_reencoded_within_5_mb(detector):
    big = noise_png(1800)  # ~9.7 MB of incompressible PNG
    assert len(big) > MAX_IMAGE_BYTES
    fitted = fit_jpeg_png(big, MAX_IMAGE_BYTES, 10**8)
    assert len(fitted) <= MAX_IMAGE_BYTES and fitted[:3] == b"\xff\xd8\xff"
    assert detector.detect(big)["Labels"]
    webp = io.BytesIO()
    Image.open(DATA / "dog.jpg").save(webp, "WEBP")
    assert fit_jpeg_png(webp.getvalue(), MAX_IMAGE_BYTES, 10**8)[:3] == b"\xff\xd8\xff"
    small_jpeg = (DATA / "dog.jpg").read_bytes()
    assert fit_jpeg_png(small_jpeg, MAX_IMAGE_BYTES, 10**8) is small_jpeg  # sent as it is


def test_not_an_image_is_refused_before_calling_the_service(detector):
    with pytest.raises(NotAnImage):
        detector.detect(b"hello")


def test_unreachable_service_is_a_503(aws):
    from cloud import free_port

    client = boto3.client(
        "rekognition",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        config=Config(connect_timeout=1, retries={"max_attempts": 1}),
    )
    with pytest.raises(BackendUnavailable, match="cannot be reached"):
        RekognitionDetector(client=client).detect((DATA / "dog.jpg").read_bytes())


# moto cannot be told to fail, so the service's error answers come from botocore's own Stubber.
@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("InvalidImageFormatException", BadImage),
        ("ImageTooLargeException", BadImage),
        ("InvalidS3ObjectException", BadImage),
        ("ThrottlingException", BackendUnavailable),
        ("AccessDeniedException", BackendUnavailable),
    ],
)
def test_service_errors_become_domain_errors(aws, code, error):
    client = boto3.client("rekognition", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("detect_labels", service_error_code=code, service_message="the service said no")
        with pytest.raises(error) as raised:
            RekognitionDetector(client=client).detect((DATA / "dog.jpg").read_bytes())
    assert raised.value.status in (422, 503)
    assert code in raised.value.message or "the service said no" in raised.value.message


def test_api_with_rekognition_and_s3_storage_end_to_end(aws, tmp_path):
    """GALLERY_RECOGNIZER=rekognition behind the real API: same JSON as the local detector; a
    gallery image stored in S3 is sent by reference and its labels are stored and filterable."""
    from conftest import Api

    from app import create_app

    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=aws["bucket"])
    app = create_app(
        {
            "GALLERY_DATA_DIR": str(tmp_path / "data"),
            "GALLERY_STORAGE": "s3",
            "GALLERY_S3_BUCKET": aws["bucket"],
            "GALLERY_S3_PREFIX": "gallery/",
            "GALLERY_RECOGNIZER": "rekognition",
            "GALLERY_LABEL_ON_UPLOAD": False,
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )
    client = app.test_client()
    api = Api(client)
    detector = app.extensions["services"].recognition.detector
    assert isinstance(detector, RekognitionDetector)
    sent = []
    detector.client.meta.events.register(
        "provide-client-params.rekognition.DetectLabels", lambda params, **_: sent.append(params)
    )

    upload = api.post(
        "/api/recognize",
        data={"file": (io.BytesIO((DATA / "dog.jpg").read_bytes()), "dog.jpg")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 200
    body = upload.get_json()
    assert body["model"] == "rekognition" and body["detector"] == RekognitionDetector.name
    assert {"Labels", "LabelModelVersion", "model", "detector", "elapsed_ms"} <= body.keys()
    local = LocalDetector().detect((DATA / "dog.jpg").read_bytes())
    assert shape_of(body["Labels"][0]) == shape_of(next(lab for lab in local["Labels"] if lab["Instances"]))
    assert "Bytes" in sent[-1]["Image"]

    assert api.upload("pets/dog.jpg", (DATA / "dog.jpg").read_bytes(), "dog.jpg").status_code == 201
    stored = api.post("/api/recognize", data={"source_key": "pets/dog.jpg"}).get_json()
    version = client.get("/api/images/pets/dog.jpg").get_json()["version"]
    assert sent[-1]["Image"] == {
        "S3Object": {"Bucket": aws["bucket"], "Name": f"gallery/originals/pets/dog.jpg/{version}"}
    }
    assert stored["stored_labels"] == ["mobile phone"]  # moto answers one label
    items = client.get("/api/images?label=mobile phone").get_json()["items"]
    assert [i["key"] for i in items] == ["pets/dog.jpg"]
