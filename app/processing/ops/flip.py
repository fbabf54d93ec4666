"""Flip: mirror left to right, top to bottom or both."""

from __future__ import annotations

from ..operation import Operation, register
from ..params import Param

AXES = {"horizontal": 1, "vertical": 0, "both": -1}  # cv2.flip's flipCode


@register
class Flip(Operation):
    name = "flip"
    order = 80
    help = "Mirror the image left to right (horizontal), top to bottom (vertical) or both."
    params = (Param("axis", "choice", "horizontal", choices=tuple(AXES)),)

    def reorients(self, p: dict) -> bool:
        return True

    def cpu_ns(self, p: dict) -> float:
        return 0.6  # one pass writing a mirrored copy

    def memory(self, p: dict) -> float:
        return 1

    def run(self, img, p: dict):
        import cv2

        return cv2.flip(img, AXES[p["axis"]])
