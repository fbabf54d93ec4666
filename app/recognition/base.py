"""Detector protocol. Every backend returns Rekognition ``DetectLabels``-shaped results."""

from typing import Protocol


class Detector(Protocol):
    name: str  # shown on the page, e.g. "ssd_mobilenet_v2_coco (OpenCV DNN)"

    def detect(self, image_bytes: bytes, min_confidence: float = 50.0, max_labels: int = 20) -> dict:
        """Return ``{"Labels": [{"Name", "Confidence", "Instances": [{"BoundingBox": {...},
        "Confidence"}], "Parents": [{"Name"}], "Categories": [{"Name"}]}]}`` sorted by
        confidence, with ``Confidence`` in 0–100 and boxes as ratios of the image size."""
