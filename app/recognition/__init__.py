"""Object detectors: ``local`` (bundled SSD MobileNet via OpenCV DNN, default) and ``rekognition``;
the protocol is ``base.Detector``.

Both return Rekognition ``DetectLabels``-shaped results (see ``shape.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

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


def detector_factory(settings: Settings) -> Callable[[], Detector]:
    """``create_detector`` for later: the gallery makes the detector on first use, so a process that
    only serves pages never imports it. The setting is checked now."""
    if settings.recognizer not in ("local", "rekognition"):
        create_detector(settings)  # says what is wrong
    return functools.partial(create_detector, settings)
