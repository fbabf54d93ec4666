"""Rotate: any angle counter-clockwise (quarter turns exact), the canvas grown to fit or kept."""

from __future__ import annotations

import math

from ..operation import Operation, Size, Sizing, register
from ..params import Param, parse_color

QUARTER_TURNS = {1: "ROTATE_90_COUNTERCLOCKWISE", 2: "ROTATE_180", 3: "ROTATE_90_CLOCKWISE"}
FLIPS = {"h": 1, "v": 0, "both": -1}  # cv2.flip's flipCode


def rotated_size(width: int, height: int, p: dict) -> Size:
    """The canvas after the turn: the rotated bounds with ``expand``, else the same."""
    if not p["expand"]:
        return width, height
    angle = p["angle"] % 360
    if angle % 90 == 0:
        return (height, width) if angle % 180 else (width, height)
    c, s = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    return max(1, math.ceil(width * c + height * s - 1e-6)), max(1, math.ceil(width * s + height * c - 1e-6))


def fill_value(img, rgba: tuple[int, int, int, int]) -> tuple:
    from ..pixels import level_scale

    r, g, b, a = (v * level_scale(img) for v in rgba)
    if img.ndim == 2:
        return (round(0.299 * r + 0.587 * g + 0.114 * b),)
    return (b, g, r, a) if img.shape[2] == 4 else (b, g, r)


@register
class Rotate(Operation):
    name = "rotate"
    order = 60
    help = "Rotate counter-clockwise by any angle; multiples of 90° are exact. Flip is applied after."
    params = (
        Param("angle", "float", 90, -360, 360, help="Degrees, counter-clockwise.", unit="°"),
        Param("expand", "bool", True, help="Grow the canvas to fit (true) or keep its size and crop (false)."),
        Param("background", "color", "#000000ff", help="Fill for uncovered corners."),
        Param("flip", "choice", "none", choices=("none", *FLIPS)),
    )

    def size(self, size: Size, p: dict, where: str) -> Sizing:
        return Sizing(rotated_size(*size, p))

    def reorients(self, p: dict) -> bool:
        return p["angle"] % 90 == 0 and (p["expand"] or p["angle"] % 180 == 0)

    def cpu_ns(self, p: dict) -> float:
        return 1 if p["angle"] % 90 == 0 else 3

    def memory(self, p: dict) -> float:
        return 1.6

    def channels(self, channels: int, p: dict) -> int:
        return 4 if parse_color(p["background"])[3] < 255 else channels

    def run(self, img, p: dict):
        import cv2

        rgba = parse_color(p["background"])
        h, w = img.shape[:2]
        out_w, out_h = rotated_size(w, h, p)
        angle = p["angle"] % 360
        if angle % 90 == 0:
            quarter = int(angle // 90)
            out = cv2.rotate(img, getattr(cv2, QUARTER_TURNS[quarter])) if quarter else img
            if out.shape[:2] != (out_h, out_w):  # 90° without expand: centre it on the original canvas
                out = _centred(out, (out_w, out_h), rgba)
        else:
            out = _turned(img, angle, (out_w, out_h), rgba)
        if p["flip"] != "none":
            out = cv2.flip(out, FLIPS[p["flip"]])
        return out


def _centred(img, size: Size, rgba):
    """``img`` centred on a ``size`` canvas filled with ``rgba`` (cropped where it is larger)."""
    import numpy as np

    from ..pixels import to_bgra

    out_w, out_h = size
    if rgba[3] < 255:
        img = to_bgra(img)
    canvas = np.empty((out_h, out_w, *img.shape[2:]), img.dtype)
    fill = fill_value(canvas, rgba)
    canvas[:] = fill if canvas.ndim == 3 else fill[0]
    rh, rw = img.shape[:2]
    sy, sx = max(0, (rh - out_h) // 2), max(0, (rw - out_w) // 2)
    dy, dx = max(0, (out_h - rh) // 2), max(0, (out_w - rw) // 2)
    ch, cw = min(rh, out_h), min(rw, out_w)
    canvas[dy : dy + ch, dx : dx + cw] = img[sy : sy + ch, sx : sx + cw]
    return canvas


def _turned(img, angle: float, size: Size, rgba):
    """Any angle: an affine warp about the centre onto a ``size`` canvas, corners filled."""
    import cv2

    from ..pixels import to_bgra

    if rgba[3] < 255:  # transparent corners need alpha
        img = to_bgra(img)
    h, w = img.shape[:2]
    out_w, out_h = size
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)
    matrix[0, 2] += (out_w - w) / 2
    matrix[1, 2] += (out_h - h) / 2
    return cv2.warpAffine(
        img,
        matrix,
        (out_w, out_h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=fill_value(img, rgba),
    )
