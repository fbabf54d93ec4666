"""What the gallery asks of an object detector. Answers have Rekognition's ``DetectLabels`` shape
(see ``shape.py``), whichever backend ran.

Backends implement ``detect``; reading a stored object by reference (``can_read`` and
``detect_stored``) is a capability whose default answer is "not supported". The local work a
backend does on the image before detecting (decoding, scaling) is its ``prepare``, a plain
function, so the gallery can run it under the work budget in a worker process (``app.runtime.work``) and
hand the result to ``detect_prepared``; ``detect`` is the two in one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from ..storage.base import ObjectRef


class Detector(ABC):
    name = ""  # shown on the Recognition tab and in API answers
    model = ""

    @abstractmethod
    def detect(self, image_bytes: bytes, min_confidence: float = 50.0, max_labels: int = 20) -> dict: ...

    @staticmethod
    def prepare(image_bytes: bytes, max_pixels: int, max_decoded: int):
        """The image as ``detect_prepared`` takes it; a module-level function of picklable values."""
        return image_bytes

    def detect_prepared(self, prepared, min_confidence: float = 50.0, max_labels: int = 20) -> dict:
        return self.detect(prepared, min_confidence, max_labels)

    def can_read(self, ref: ObjectRef, content_type: str, size: int) -> bool:
        """Whether ``detect_stored`` can read this stored object itself, so its bytes never pass through us."""
        return False

    def detect_stored(self, ref: ObjectRef, min_confidence: float = 50.0, max_labels: int = 20) -> dict:
        """Detect objects in a stored object; only called when ``can_read`` said yes."""
        raise NotImplementedError(f"{type(self).__name__} cannot read stored objects")
