"""AWS Rekognition ``DetectLabels`` backend, returning the same shape as the bundled detector.

Images go as bytes (JPEG/PNG of at most 5 MB; others are re-encoded or downscaled first) or, when
the image already lives in S3, as an ``S3Object`` reference so the bytes never pass through us.
boto3 honours ``AWS_ENDPOINT_URL`` (moto_server in tests), so no endpoint is named here.
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError

from ..core.errors import BackendUnavailable, BadImage
from ..imaging import formats, images
from ..runtime.aws import make_client
from ..storage.base import ObjectRef
from .base import Detector
from .bundled import local_model_present
from .prepare import fit_jpeg_png
from .shape import check_options, normalize

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 5 * 1024 * 1024  # DetectLabels limit for inline bytes
MAX_S3_OBJECT_BYTES = 15 * 1024 * 1024  # and for an S3 object
S3_FORMATS = formats.REKOGNITION_MIME_TYPES

# Service errors that say "too many requests now": the answer is "busy", not "broken".
THROTTLED = {"ThrottlingException", "ProvisionedThroughputExceededException", "LimitExceededException"}
RETRY_AFTER = 60  # seconds, in the 503's Retry-After header

# Service errors that say the image itself is unusable (the client's fault: 422).
_IMAGE_ERRORS = {
    "InvalidImageFormatException": f"Rekognition cannot read this image format (it accepts {formats.REKOGNITION_READS}).",
    "ImageTooLargeException": "The image is too large for Rekognition.",
    "InvalidParameterException": "Rekognition rejected the request parameters or the image",
    "InvalidS3ObjectException": "Rekognition cannot read the stored image from S3",
}


def unavailable(why: str, throttled: bool = False) -> BackendUnavailable:
    """The 503 for a throttled, refusing or unreachable service, saying what is true where the app
    runs: the local model is suggested only where it is installed (not in the Lambda package)."""
    state = "busy" if throttled else "unavailable"
    message = f"Image recognition is {state}: Rekognition {why}. Try again in a minute."
    if local_model_present():
        message += " GALLERY_RECOGNIZER=local would use the model installed here instead."
    error = BackendUnavailable(message)
    error.retry_after = RETRY_AFTER
    return error


def fit_for_rekognition(image_bytes: bytes, max_pixels: int, max_decoded: int = images.DEFAULT_MAX_DECODED) -> bytes:
    """The bytes sent: the original when Rekognition reads it, else a re-encode (the local work)."""
    return fit_jpeg_png(image_bytes, MAX_IMAGE_BYTES, max_pixels, max_decoded=max_decoded)


class RekognitionDetector(Detector):
    name = "AWS Rekognition DetectLabels"
    model = "rekognition"
    prepare = staticmethod(fit_for_rekognition)

    def __init__(
        self,
        region: str = "us-east-1",
        max_pixels: int = 50_000_000,
        client=None,
        max_decoded: int = images.DEFAULT_MAX_DECODED,
    ):
        self.max_pixels = max_pixels
        self.max_decoded = max_decoded
        self.client = client or make_client(region, "rekognition")

    def detect(self, image_bytes: bytes, min_confidence: float = 50.0, max_labels: int = 20) -> dict:
        check_options(min_confidence, max_labels)
        data = fit_for_rekognition(image_bytes, self.max_pixels, self.max_decoded)
        return self.detect_prepared(data, min_confidence, max_labels)

    def detect_prepared(self, data: bytes, min_confidence: float = 50.0, max_labels: int = 20) -> dict:
        min_confidence, max_labels = check_options(min_confidence, max_labels)
        return self._detect({"Bytes": data}, min_confidence, max_labels)

    def can_read(self, ref: ObjectRef, content_type: str, size: int) -> bool:
        """An S3 object can be handed over as an ``S3Object`` as it is (JPEG or PNG, at most 15 MB)."""
        return content_type in S3_FORMATS and size <= MAX_S3_OBJECT_BYTES

    def detect_stored(self, ref: ObjectRef, min_confidence: float = 50.0, max_labels: int = 20) -> dict:
        min_confidence, max_labels = check_options(min_confidence, max_labels)
        return self._detect({"S3Object": {"Bucket": ref.bucket, "Name": ref.key}}, min_confidence, max_labels)

    def _detect(self, image: dict, min_confidence: float, max_labels: int) -> dict:
        try:
            response = self.client.detect_labels(Image=image, MaxLabels=max_labels, MinConfidence=min_confidence)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = error.get("Code", ""), error.get("Message", "")
            log.warning("Rekognition DetectLabels failed: %s %s", code, message)
            if code in _IMAGE_ERRORS:
                detail = f": {message}" if message else "."
                raise BadImage(_IMAGE_ERRORS[code].rstrip(".") + detail) from None
            throttled = code in THROTTLED
            why = f"is throttling requests ({code})" if throttled else f"refused the request ({code or 'error'})"
            raise unavailable(why, throttled) from None
        except BotoCoreError as exc:
            log.warning("Rekognition unreachable: %s", exc)
            raise unavailable(f"cannot be reached ({type(exc).__name__})") from None
        # The service already filters, but apply the same rules so both backends answer alike.
        result = normalize(response, min_confidence, max_labels)
        result["LabelModelVersion"] = response.get("LabelModelVersion", "")
        return result
