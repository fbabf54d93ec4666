"""Object detectors: ``local`` (bundled SSD MobileNet via OpenCV DNN, default) and ``rekognition``;
the protocol is ``base.Detector``.

Both return Rekognition ``DetectLabels``-shaped results (see ``shape.py``).
"""

from __future__ import annotations

from ..config import Settings
from .base import Detector


def create_detector(settings: Settings) -> Detector:
    if settings.recognizer == "local":
        from .local import LocalDetector

        return LocalDetector(max_pixels=settings.max_pixels, max_decoded=settings.max_decoded_bytes)
    if settings.recognizer == "rekognition":
        from .rekognition import RekognitionDetector

        return RekognitionDetector(
            settings.aws_region, max_pixels=settings.max_pixels, max_decoded=settings.max_decoded_bytes
        )
    raise SystemExit(f"GALLERY_RECOGNIZER={settings.recognizer!r} is not one of: local, rekognition")
