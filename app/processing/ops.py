"""The operations as pure functions ``ndarray -> ndarray`` (OpenCV layout: gray, BGR or
BGRA, 8 or 16 bits), applied through :func:`apply` with normalised parameters."""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..core.errors import InvalidParameter
from .cost import costs
from .params import normalize_step, parse_color

INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST,
    "linear": cv2.INTER_LINEAR,
    "area": cv2.INTER_AREA,
    "cubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
}
THRESHOLDS = {
    "binary": cv2.THRESH_BINARY,
    "binary_inv": cv2.THRESH_BINARY_INV,
    "trunc": cv2.THRESH_TRUNC,
    "tozero": cv2.THRESH_TOZERO,
    "tozero_inv": cv2.THRESH_TOZERO_INV,
}


def split_alpha(img: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    if img.ndim == 3 and img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR), img[:, :, 3]
    return img, None


def _join_alpha(color: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    if alpha is None:
        return color
    if color.dtype != alpha.dtype:
        alpha = to_depth(alpha, color.dtype)
    if color.ndim == 2:
        return cv2.merge([color, color, color, alpha])
    return cv2.merge([*cv2.split(color), alpha])


def to_depth(img: np.ndarray, dtype) -> np.ndarray:
    if img.dtype == dtype:
        return img
    if dtype == np.uint8:
        return cv2.convertScaleAbs(img, alpha=1 / 257)
    return img.astype(np.uint16) * 257


def _to_bgr(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img


def _gray8(img: np.ndarray) -> np.ndarray:
    color, _ = split_alpha(img)
    gray = color if color.ndim == 2 else cv2.cvtColor(color, cv2.COLOR_BGR2GRAY)
    return to_depth(gray, np.uint8)


def _scale(img: np.ndarray) -> int:
    return 257 if img.dtype == np.uint16 else 1


def resize_target(width: int, height: int, p: dict) -> tuple[int, int, int, int]:
    """``(scaled_w, scaled_h, out_w, out_h)`` for a ``width×height`` input; cover crops scaled → out."""
    if p["scale"] is not None:
        w, h = max(1, round(width * p["scale"])), max(1, round(height * p["scale"]))
        return w, h, w, h
    tw, th = p["width"], p["height"]
    if tw is None:
        w = max(1, round(width * th / height))
        return w, th, w, th
    if th is None:
        h = max(1, round(height * tw / width))
        return tw, h, tw, h
    if p["fit"] == "fill":
        return tw, th, tw, th
    pick = min if p["fit"] == "contain" else max
    s = pick(tw / width, th / height)
    w, h = max(1, round(width * s)), max(1, round(height * s))
    if p["fit"] == "cover":
        w, h = max(w, tw), max(h, th)
        return w, h, tw, th
    return w, h, w, h


def resize_to(img: np.ndarray, scaled: tuple[int, int], out: tuple[int, int], interpolation: str) -> np.ndarray:
    h, w = img.shape[:2]
    sw, sh = scaled
    if (sw, sh) != (w, h):
        if interpolation == "auto":
            if sw <= w and sh <= h:
                flag = cv2.INTER_AREA
            elif sw >= w and sh >= h:
                flag = cv2.INTER_CUBIC
            else:
                flag = cv2.INTER_LINEAR
        else:
            flag = INTERPOLATIONS[interpolation]
        img = cv2.resize(img, (sw, sh), interpolation=flag)
    ow, oh = out
    if (ow, oh) != (sw, sh):  # cover: crop the centre
        x, y = (sw - ow) // 2, (sh - oh) // 2
        img = img[y : y + oh, x : x + ow].copy()
    return img


@costs(ns=lambda p: {"nearest": 1, "linear": 2, "area": 2, "lanczos": 9}.get(p["interpolation"], 4), memory=1.2)
def _resize(img: np.ndarray, p: dict) -> np.ndarray:
    h, w = img.shape[:2]
    sw, sh, ow, oh = resize_target(w, h, p)
    return resize_to(img, (sw, sh), (ow, oh), p["interpolation"])


@costs(ns=lambda p: 3 + 3.2 * p["radius"], memory=6)  # 16-bit kernels reach 4σ, 8-bit 3σ
def _sharpen(img: np.ndarray, p: dict) -> np.ndarray:
    color, alpha = split_alpha(img)
    blurred = cv2.GaussianBlur(color, (0, 0), p["radius"])
    sharp = cv2.addWeighted(color, 1 + p["amount"], blurred, -p["amount"], 0)
    if p["threshold"] > 0:  # per channel, like Pillow's UnsharpMask: small differences stay as they were
        keep = cv2.compare(cv2.absdiff(color, blurred), p["threshold"] * _scale(color), cv2.CMP_LT)
        cv2.copyTo(color, keep, sharp)
    return _join_alpha(sharp, alpha)


@costs(
    ns=lambda p: {"adaptive_gaussian": 2 + 0.12 * p["block_size"], "adaptive_mean": 2}.get(p["method"], 1),
    memory=2.5,
    channels=lambda c, p: 4 if c == 4 else 1,
)
def _threshold(img: np.ndarray, p: dict) -> np.ndarray:
    gray = _gray8(img)
    method = p["method"]
    if method == "otsu":
        _, out = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    elif method.startswith("adaptive_"):
        kind = cv2.ADAPTIVE_THRESH_MEAN_C if method == "adaptive_mean" else cv2.ADAPTIVE_THRESH_GAUSSIAN_C
        out = cv2.adaptiveThreshold(gray, 255, kind, cv2.THRESH_BINARY, p["block_size"], p["c"])
    else:
        _, out = cv2.threshold(gray, p["value"], 255, THRESHOLDS[method])
    _, alpha = split_alpha(img)
    return _join_alpha(out, alpha)


# Sepia in BGR order (rows: B', G', R'), the usual Microsoft coefficients.
_SEPIA = np.array([[0.131, 0.534, 0.272], [0.168, 0.686, 0.349], [0.189, 0.769, 0.393]], np.float32)
_FALSE_COLOUR = {"hsv": cv2.COLOR_BGR2HSV_FULL, "lab": cv2.COLOR_BGR2Lab, "ycrcb": cv2.COLOR_BGR2YCrCb}


@costs(
    ns=lambda p: 12 if p["mode"] in _FALSE_COLOUR else 2,
    memory=5,
    channels=lambda c, p: c if c == 4 or p["mode"] in ("invert", "rgb_swap") else 1 if p["mode"] == "gray" else 3,
)
def _color(img: np.ndarray, p: dict) -> np.ndarray:
    mode = p["mode"]
    color, alpha = split_alpha(img)
    if mode == "gray":
        out = color if color.ndim == 2 else cv2.cvtColor(color, cv2.COLOR_BGR2GRAY)
    elif mode == "invert":
        out = cv2.bitwise_not(color)
    elif mode == "rgb_swap":
        out = color if color.ndim == 2 else cv2.cvtColor(color, cv2.COLOR_BGR2RGB)
    elif mode == "sepia":
        out = cv2.transform(_to_bgr(color), _SEPIA)
    else:  # components written as R, G, B: swap the converted channels into BGR order
        converted = cv2.cvtColor(to_depth(_to_bgr(color), np.uint8), _FALSE_COLOUR[mode])
        out = cv2.cvtColor(converted, cv2.COLOR_RGB2BGR)
    return _join_alpha(out, alpha)


@costs(
    ns=lambda p: {
        "gaussian": 1.5 + 0.2 * p["size"],
        "box": 2,
        "median": 1.5 + (0.3 * p["size"] if p["size"] > 5 else 0),
        "bilateral": 2 + 0.45 * p["size"] ** 2,
    }[p["kind"]],
    memory=lambda p: {"bilateral": 6.5, "median": 2.1}.get(p["kind"], 1.2),
)
def _blur(img: np.ndarray, p: dict) -> np.ndarray:
    kind, size = p["kind"], p["size"]
    if kind == "gaussian":
        return cv2.GaussianBlur(img, (size, size), p["sigma"])
    if kind == "box":
        return cv2.blur(img, (size, size))
    if kind == "median":
        if size > 5 and img.dtype != np.uint8:  # OpenCV's large-kernel median is 8-bit only
            img = to_depth(img, np.uint8)
        return cv2.medianBlur(img, size)
    color, alpha = split_alpha(img)
    if color.dtype == np.uint16:
        f = cv2.bilateralFilter(color.astype(np.float32), size, p["sigma_color"] * 257, p["sigma_space"])
        out = np.clip(f + 0.5, 0, 65535).astype(np.uint16)
    else:
        out = cv2.bilateralFilter(color, size, p["sigma_color"], p["sigma_space"])
    return _join_alpha(out, alpha)


_ROTATIONS = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_CLOCKWISE}
_FLIPS = {"h": 1, "v": 0, "both": -1}


def rotated_size(width: int, height: int, p: dict) -> tuple[int, int]:
    if not p["expand"]:
        return width, height
    angle = p["angle"] % 360
    if angle % 90 == 0:
        return (height, width) if angle % 180 else (width, height)
    c, s = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    return max(1, math.ceil(width * c + height * s - 1e-6)), max(1, math.ceil(width * s + height * c - 1e-6))


def _fill_value(img: np.ndarray, rgba: tuple[int, int, int, int]) -> tuple:
    r, g, b, a = (v * _scale(img) for v in rgba)
    if img.ndim == 2:
        return (round(0.299 * r + 0.587 * g + 0.114 * b),)
    return (b, g, r, a) if img.shape[2] == 4 else (b, g, r)


@costs(
    ns=lambda p: 1 if p["angle"] % 90 == 0 else 3,
    memory=1.6,
    channels=lambda c, p: 4 if parse_color(p["background"])[3] < 255 else c,
)
def _rotate(img: np.ndarray, p: dict) -> np.ndarray:
    rgba = parse_color(p["background"])
    h, w = img.shape[:2]
    out_w, out_h = rotated_size(w, h, p)
    angle = p["angle"] % 360
    if angle % 90 == 0:
        quarter = int(angle // 90)
        out = cv2.rotate(img, _ROTATIONS[quarter]) if quarter else img
        if out.shape[:2] != (out_h, out_w):  # 90° without expand: centre it on the original canvas
            if rgba[3] < 255 and not (img.ndim == 3 and img.shape[2] == 4):
                out = cv2.cvtColor(_to_bgr(out), cv2.COLOR_BGR2BGRA)
            canvas = np.empty((out_h, out_w, *out.shape[2:]), out.dtype)
            fill = _fill_value(canvas, rgba)
            canvas[:] = fill if canvas.ndim == 3 else fill[0]
            rh, rw = out.shape[:2]
            sy, sx, dy, dx = (
                max(0, (rh - out_h) // 2),
                max(0, (rw - out_w) // 2),
                max(0, (out_h - rh) // 2),
                max(0, (out_w - rw) // 2),
            )
            ch, cw = min(rh, out_h), min(rw, out_w)
            canvas[dy : dy + ch, dx : dx + cw] = out[sy : sy + ch, sx : sx + cw]
            out = canvas
    else:
        if rgba[3] < 255 and not (img.ndim == 3 and img.shape[2] == 4):  # transparent corners need alpha
            img = cv2.cvtColor(_to_bgr(img), cv2.COLOR_BGR2BGRA)
        matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)
        matrix[0, 2] += (out_w - w) / 2
        matrix[1, 2] += (out_h - h) / 2
        out = cv2.warpAffine(
            img,
            matrix,
            (out_w, out_h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=_fill_value(img, rgba),
        )
    if p["flip"] != "none":
        out = cv2.flip(out, _FLIPS[p["flip"]])
    return out


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


@costs(ns=0.5, memory=1)  # a copy of the box (the larger image is the input)
def _crop(img: np.ndarray, p: dict) -> np.ndarray:
    h, w = img.shape[:2]
    x, y, cw, ch = crop_box(w, h, p)
    return img[y : y + ch, x : x + cw].copy()


_AXES = {"horizontal": 1, "vertical": 0, "both": -1}


@costs(ns=0.6, memory=1)  # one pass writing a mirrored copy
def _flip(img: np.ndarray, p: dict) -> np.ndarray:
    return cv2.flip(img, _AXES[p["axis"]])


RUN = {
    "resize": _resize,
    "sharpen": _sharpen,
    "threshold": _threshold,
    "color": _color,
    "blur": _blur,
    "rotate": _rotate,
    "crop": _crop,
    "flip": _flip,
}


def apply(img: np.ndarray, step: dict) -> np.ndarray:
    """Apply one step (validated here, so direct callers get the same checks as the pipeline)."""
    p = normalize_step(step)
    return RUN[p["op"]](img, p)


def resize(img, **params):
    return apply(img, {"op": "resize", **params})


def sharpen(img, **params):
    return apply(img, {"op": "sharpen", **params})


def threshold(img, **params):
    return apply(img, {"op": "threshold", **params})


def color(img, **params):
    return apply(img, {"op": "color", **params})


def blur(img, **params):
    return apply(img, {"op": "blur", **params})


def rotate(img, **params):
    return apply(img, {"op": "rotate", **params})


def crop(img, **params):
    return apply(img, {"op": "crop", **params})


def flip(img, **params):
    return apply(img, {"op": "flip", **params})
