"""Crop: keep a box of the image the step receives."""

from __future__ import annotations

from ...core.errors import InvalidParameter
from ..operation import Operation, Size, Sizing, View, register
from ..params import MAX_SIDE, Param


def crop_box(width: int, height: int, p: dict, where: str = "crop") -> tuple[int, int, int, int]:
    """``(x, y, w, h)`` of a crop on a ``width×height`` image; a box reaching past an edge is refused."""
    x, y = p["x"], p["y"]
    w = width - x if p["width"] is None else p["width"]
    h = height - y if p["height"] is None else p["height"]
    if x >= width or y >= height or w < 1 or h < 1 or x + w > width or y + h > height:
        raise InvalidParameter(
            f"{where}: the box x={x}, y={y}, width={w}, height={h} does not fit inside the "
            f"{width}×{height} image (x + width ≤ {width}, y + height ≤ {height})."
        )
    return x, y, w, h


@register
class Crop(Operation):
    name = "crop"
    order = 70
    help = "Keep a box of the image it receives (the source's pixels when it comes first)."
    params = (
        Param("x", "int", 0, 0, MAX_SIDE - 1, help="Left edge of the box in pixels.", unit=" px"),
        Param("y", "int", 0, 0, MAX_SIDE - 1, help="Top edge of the box in pixels.", unit=" px"),
        Param("width", "int", None, 1, MAX_SIDE, help="Width of the box; empty: to the right edge.", unit=" px"),
        Param("height", "int", None, 1, MAX_SIDE, help="Height of the box; empty: to the bottom edge.", unit=" px"),
    )

    def size(self, size: Size, p: dict, where: str) -> Sizing:
        _, _, w, h = crop_box(*size, p, where)
        return Sizing((w, h))

    def for_preview(self, p: dict, view: View) -> dict:
        """The same part of the shown image."""
        (real_w, real_h), (shown_w, shown_h) = view.real, view.shown
        sx, sy = shown_w / real_w, shown_h / real_h
        x, y, w, h = crop_box(real_w, real_h, p)
        left, top = min(shown_w - 1, int(x * sx)), min(shown_h - 1, int(y * sy))
        return {
            **p,
            "x": left,
            "y": top,
            "width": max(1, min(shown_w - left, round(w * sx))),
            "height": max(1, min(shown_h - top, round(h * sy))),
        }

    def cpu_ns(self, p: dict) -> float:
        return 0.5

    def memory(self, p: dict) -> float:
        return 1  # a copy of the box (the larger image is the input)

    def run(self, img, p: dict):
        h, w = img.shape[:2]
        x, y, cw, ch = crop_box(w, h, p)
        return img[y : y + ch, x : x + cw].copy()
