"""What the gallery asks of an object detector. Answers have Rekognition's ``DetectLabels`` shape
(see ``shape.py``), whichever backend ran.

Backends implement ``detect``; reading a stored object by reference (``can_read`` and
``detect_stored``) is a capability whose default answer is "not supported".
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from ..storage.base import ObjectRef


class Detector(ABC):
    name = ""  # shown on the Recognition tab and in API answers
    model = ""

    @abstractmethod
    def detect(self, image_bytes: bytes, min_confidence: float = 50.0, max_labels: int = 20) -> dict: ...

    def can_read(self, ref: ObjectRef, content_type: str, size: int) -> bool:
        """Whether ``detect_stored`` can read this stored object itself, so its bytes never pass through us."""
        return False

    def detect_stored(self, ref: ObjectRef, min_confidence: float = 50.0, max_labels: int = 20) -> dict:
        """Detect objects in a stored object; only called when ``can_read`` said yes."""
        raise NotImplementedError(f"{type(self).__name__} cannot read stored objects")
