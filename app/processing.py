"""The six image operations and the pipeline that chains them.

Images are numpy arrays in OpenCV's layout: ``H×W`` (gray), ``H×W×3`` (BGR) or ``H×W×4``
(BGRA), ``uint8`` or ``uint16``. Every operation is a pure function ``ndarray -> ndarray``
whose parameters are checked against :data:`OPS` before any pixel is touched; a bad value
raises :class:`~app.errors.InvalidParameter` naming the parameter and its range.

A pipeline (:func:`run`) validates every step, reads the header, checks the pixel limit for
the source and for every intermediate size, then decodes once, applies the steps and
encodes once. A JPEG whose first real step downscales it is decoded at 1/2, 1/4 or 1/8
(libjpeg's DCT scaling via ``IMREAD_REDUCED_*``), the largest reduction that still leaves
at least the target size, so a 12 MP photo is never fully decoded to make a small one.

How the colour modes that are not pictures are shown (``color`` with ``hsv``, ``lab``,
``ycrcb``): the three components are written as the red, green and blue channels of an
8-bit image, i.e. a false-colour picture of the components — HSV as H·255/360, S, V;
L*a*b* as L·255/100, a+128, b+128; YCrCb as Y, Cr, Cb.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image

from . import images
from .errors import BadImage, InvalidParameter

MAX_STEPS = 10
MAX_SIDE = 16384
DEFAULT_MAX_PIXELS = 50_000_000

# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Param:
    """One bounded parameter of an operation; ``parse`` turns JSON or form input into its value."""

    name: str
    kind: str  # int | float | choice | bool | color
    default: Any = None
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    odd: bool = False
    help: str = ""

    def range_text(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind == "color":
            return "a colour: #rgb, #rrggbb, #rrggbbaa or 'transparent'"
        noun = {"int": "an odd integer" if self.odd else "an integer", "float": "a number"}[self.kind]
        return f"{noun} from {_num(self.lo)} to {_num(self.hi)}"

    def parse(self, value: Any, where: str) -> Any:
        if value is None or (isinstance(value, str) and value.strip() == ""):
            return self.default
        try:
            parsed = getattr(self, "_" + self.kind)(value)
        except (TypeError, ValueError, OverflowError):
            parsed = None
        if parsed is None:
            raise InvalidParameter(f"{where}: {self.name} must be {self.range_text()}; got {value!r}.")
        return parsed

    def _int(self, value):
        if isinstance(value, bool):
            return None
        number = float(value.strip()) if isinstance(value, str) else float(value)
        if not number.is_integer() or not self.lo <= number <= self.hi or (self.odd and number % 2 == 0):
            return None
        return int(number)

    def _float(self, value):
        if isinstance(value, bool):
            return None
        number = float(value.strip()) if isinstance(value, str) else float(value)
        return number if math.isfinite(number) and self.lo <= number <= self.hi else None

    def _choice(self, value):
        text = str(value).strip().lower()
        return text if text in self.choices else None

    def _bool(self, value):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        return {
            "true": True,
            "1": True,
            "yes": True,
            "on": True,
            "false": False,
            "0": False,
            "no": False,
            "off": False,
        }.get(text)

    def _color(self, value):
        rgba = parse_color(str(value))
        return None if rgba is None else "#{:02x}{:02x}{:02x}{:02x}".format(*rgba)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def parse_color(text: str) -> tuple[int, int, int, int] | None:
    """``#rgb``, ``#rrggbb``, ``#rrggbbaa``, ``transparent``, ``black`` or ``white`` as (r, g, b, a)."""
    text = text.strip().lower()
    named = {"transparent": "#00000000", "black": "#000000", "white": "#ffffff"}
    text = named.get(text, text)
    if not text.startswith("#") or len(text) not in (4, 7, 9):
        return None
    digits = text[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    if len(digits) == 6:
        digits += "ff"
    try:
        return tuple(int(digits[i : i + 2], 16) for i in range(0, 8, 2))
    except ValueError:
        return None


@dataclass(frozen=True)
class OpSpec:
    name: str
    help: str
    params: tuple[Param, ...]

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)


_INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST,
    "linear": cv2.INTER_LINEAR,
    "area": cv2.INTER_AREA,
    "cubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
}
_THRESHOLDS = {
    "binary": cv2.THRESH_BINARY,
    "binary_inv": cv2.THRESH_BINARY_INV,
    "trunc": cv2.THRESH_TRUNC,
    "tozero": cv2.THRESH_TOZERO,
    "tozero_inv": cv2.THRESH_TOZERO_INV,
}

OPS: dict[str, OpSpec] = {
    spec.name: spec
    for spec in (
        OpSpec(
            "resize",
            "Scale by width and/or height (the other side follows the aspect ratio) or by a factor.",
            (
                Param("width", "int", None, 1, MAX_SIDE, help="Target width in pixels."),
                Param("height", "int", None, 1, MAX_SIDE, help="Target height in pixels."),
                Param("scale", "float", None, 0.01, 10, help="Factor instead of width/height."),
                Param(
                    "fit",
                    "choice",
                    "contain",
                    choices=("contain", "cover", "fill"),
                    help="With both sides: contain keeps the aspect inside the box, cover fills it and "
                    "crops the centre, fill stretches.",
                ),
                Param(
                    "interpolation",
                    "choice",
                    "auto",
                    choices=("auto", *_INTERPOLATIONS),
                    help="auto: area when shrinking, cubic when enlarging.",
                ),
            ),
        ),
        OpSpec(
            "sharpen",
            "Unsharp mask: adds amount × (image − Gaussian blur) where the difference exceeds threshold.",
            (
                Param("amount", "float", 1.0, 0, 10, help="Strength (1 = +100%)."),
                Param("radius", "float", 1.0, 0.1, 50, help="Gaussian sigma in pixels."),
                Param("threshold", "int", 0, 0, 255, help="Smallest difference (8-bit levels) that is sharpened."),
            ),
        ),
        OpSpec(
            "threshold",
            "Threshold the 8-bit luminance; the result is gray (alpha kept).",
            (
                Param(
                    "method", "choice", "binary", choices=(*_THRESHOLDS, "otsu", "adaptive_mean", "adaptive_gaussian")
                ),
                Param("value", "int", 128, 0, 255, help="Threshold level (fixed methods)."),
                Param("block_size", "int", 11, 3, 255, odd=True, help="Neighbourhood size (adaptive methods)."),
                Param("c", "float", 2, -100, 100, help="Subtracted from the local mean (adaptive methods)."),
            ),
        ),
        OpSpec(
            "color",
            "Colour conversion; hsv, lab and ycrcb are shown as false colour (components as R, G, B).",
            (Param("mode", "choice", "gray", choices=("gray", "sepia", "invert", "hsv", "lab", "ycrcb", "rgb_swap")),),
        ),
        OpSpec(
            "blur",
            "Gaussian, median, box (mean) or edge-preserving bilateral blur.",
            (
                Param("kind", "choice", "gaussian", choices=("gaussian", "median", "box", "bilateral")),
                Param("size", "int", 5, 1, 99, help="Kernel size (odd for gaussian and median; ≤ 25 for bilateral)."),
                Param("sigma", "float", 0, 0, 100, help="Gaussian sigma; 0 derives it from size."),
                Param("sigma_color", "float", 75, 1, 255, help="Bilateral: colour range mixed together."),
                Param("sigma_space", "float", 75, 1, 255, help="Bilateral: spatial extent."),
            ),
        ),
        OpSpec(
            "rotate",
            "Rotate counter-clockwise by any angle; multiples of 90° are exact. Flip is applied after.",
            (
                Param("angle", "float", 90, -360, 360, help="Degrees, counter-clockwise."),
                Param("expand", "bool", True, help="Grow the canvas to fit (true) or keep its size and crop (false)."),
                Param("background", "color", "#000000ff", help="Fill for uncovered corners."),
                Param("flip", "choice", "none", choices=("none", "h", "v", "both")),
            ),
        ),
    )
}


def normalize_step(step: Any, index: int = 0) -> dict:
    """Validate one step and return it with every parameter filled in, in a fixed order."""
    if not isinstance(step, dict):
        raise InvalidParameter(f"Step {index + 1} must be an object like {{'op': 'resize', 'width': 800}}.")
    op = step.get("op")
    spec = OPS.get(op) if isinstance(op, str) else None
    if spec is None:
        raise InvalidParameter(f"Step {index + 1}: op must be one of {', '.join(OPS)}; got {op!r}.")
    where = f"Step {index + 1} ({op})"
    known = {p.name for p in spec.params}
    unknown = sorted(set(step) - known - {"op"})
    if unknown:
        raise InvalidParameter(f"{where}: unknown parameter {unknown[0]!r}; expected {', '.join(sorted(known))}.")
    out = {"op": op}
    for param in spec.params:
        out[param.name] = param.parse(step.get(param.name), where)
    _check_combination(out, where)
    return out


def _check_combination(p: dict, where: str) -> None:
    op = p["op"]
    if op == "resize":
        if p["scale"] is not None and (p["width"] is not None or p["height"] is not None):
            raise InvalidParameter(f"{where}: give either scale or width/height, not both.")
        if p["scale"] is None and p["width"] is None and p["height"] is None:
            raise InvalidParameter(
                f"{where}: width (1–{MAX_SIDE}), height (1–{MAX_SIDE}) or scale (0.01–10) is required."
            )
    elif op == "blur":
        if p["kind"] in ("gaussian", "median") and p["size"] % 2 == 0:
            raise InvalidParameter(
                f"{where}: size must be an odd integer from 1 to 99 for {p['kind']}; got {p['size']}."
            )
        if p["kind"] == "bilateral" and p["size"] > 25:
            raise InvalidParameter(f"{where}: size must be an integer from 1 to 25 for bilateral; got {p['size']}.")


def normalize_ops(ops: Any) -> list[dict]:
    """Validate a whole pipeline (a list, or its JSON text) before any pixel is touched."""
    if isinstance(ops, (str, bytes)):
        try:
            ops = json.loads(ops or "[]")
        except RecursionError:  # "[[[[…" nested beyond Python's stack
            raise InvalidParameter("ops must be a JSON list of steps, not nested lists.") from None
        except ValueError as exc:
            raise InvalidParameter(f"ops must be a JSON list of steps: {exc}") from None
    if ops is None:
        ops = []
    if not isinstance(ops, list):
        raise InvalidParameter("ops must be a list of steps, e.g. [{'op': 'resize', 'width': 800}].")
    if len(ops) > MAX_STEPS:
        raise InvalidParameter(f"ops may have at most {MAX_STEPS} steps; got {len(ops)}.")
    return [normalize_step(step, i) for i, step in enumerate(ops)]


FORMATS = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
DEFAULT_QUALITY = {"jpeg": 85, "webp": 80}


def normalize_output(fmt: Any, quality: Any, source_format: str | None = None) -> tuple[str | None, int | None]:
    """``(format, quality)``; format None means 'as the source' (resolved once the source is known)."""
    fmt = None if fmt is None else str(fmt).strip().lower()
    fmt = {"jpg": "jpeg", "": None, "source": None, "keep": None}.get(fmt, fmt)
    if fmt is not None and fmt not in FORMATS:
        raise InvalidParameter(f"format must be one of jpeg, png, webp (or empty to keep the source's); got {fmt!r}.")
    quality = Param("quality", "int", None, 1, 100).parse(quality, "Output")
    if fmt is None and source_format is not None:
        fmt = source_format if source_format in FORMATS else "png"
    if fmt == "png":
        quality = None
    elif fmt is not None and quality is None:
        quality = DEFAULT_QUALITY[fmt]
    return fmt, quality


# --------------------------------------------------------------------------- helpers


def _split_alpha(img: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    if img.ndim == 3 and img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR), img[:, :, 3]
    return img, None


def _join_alpha(color: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    if alpha is None:
        return color
    if color.dtype != alpha.dtype:
        alpha = _to_depth(alpha, color.dtype)
    if color.ndim == 2:
        return cv2.merge([color, color, color, alpha])
    return cv2.merge([*cv2.split(color), alpha])


def _to_depth(img: np.ndarray, dtype) -> np.ndarray:
    if img.dtype == dtype:
        return img
    if dtype == np.uint8:
        return cv2.convertScaleAbs(img, alpha=1 / 257)
    return img.astype(np.uint16) * 257


def _to_bgr(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img


def _gray8(img: np.ndarray) -> np.ndarray:
    color, _ = _split_alpha(img)
    gray = color if color.ndim == 2 else cv2.cvtColor(color, cv2.COLOR_BGR2GRAY)
    return _to_depth(gray, np.uint8)


def _scale(img: np.ndarray) -> int:
    return 257 if img.dtype == np.uint16 else 1


# --------------------------------------------------------------------------- operations


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


def _resize_to(img: np.ndarray, scaled: tuple[int, int], out: tuple[int, int], interpolation: str) -> np.ndarray:
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
            flag = _INTERPOLATIONS[interpolation]
        img = cv2.resize(img, (sw, sh), interpolation=flag)
    ow, oh = out
    if (ow, oh) != (sw, sh):  # cover: crop the centre
        x, y = (sw - ow) // 2, (sh - oh) // 2
        img = img[y : y + oh, x : x + ow].copy()
    return img


def _resize(img: np.ndarray, p: dict) -> np.ndarray:
    h, w = img.shape[:2]
    sw, sh, ow, oh = resize_target(w, h, p)
    return _resize_to(img, (sw, sh), (ow, oh), p["interpolation"])


def _sharpen(img: np.ndarray, p: dict) -> np.ndarray:
    color, alpha = _split_alpha(img)
    blurred = cv2.GaussianBlur(color, (0, 0), p["radius"])
    sharp = cv2.addWeighted(color, 1 + p["amount"], blurred, -p["amount"], 0)
    if p["threshold"] > 0:  # per channel, like Pillow's UnsharpMask: small differences stay as they were
        keep = cv2.compare(cv2.absdiff(color, blurred), p["threshold"] * _scale(color), cv2.CMP_LT)
        cv2.copyTo(color, keep, sharp)
    return _join_alpha(sharp, alpha)


def _threshold(img: np.ndarray, p: dict) -> np.ndarray:
    gray = _gray8(img)
    method = p["method"]
    if method == "otsu":
        _, out = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    elif method.startswith("adaptive_"):
        kind = cv2.ADAPTIVE_THRESH_MEAN_C if method == "adaptive_mean" else cv2.ADAPTIVE_THRESH_GAUSSIAN_C
        out = cv2.adaptiveThreshold(gray, 255, kind, cv2.THRESH_BINARY, p["block_size"], p["c"])
    else:
        _, out = cv2.threshold(gray, p["value"], 255, _THRESHOLDS[method])
    _, alpha = _split_alpha(img)
    return _join_alpha(out, alpha)


# Sepia in BGR order (rows: B', G', R'), the usual Microsoft coefficients.
_SEPIA = np.array([[0.131, 0.534, 0.272], [0.168, 0.686, 0.349], [0.189, 0.769, 0.393]], np.float32)
_FALSE_COLOUR = {"hsv": cv2.COLOR_BGR2HSV_FULL, "lab": cv2.COLOR_BGR2Lab, "ycrcb": cv2.COLOR_BGR2YCrCb}


def _color(img: np.ndarray, p: dict) -> np.ndarray:
    mode = p["mode"]
    color, alpha = _split_alpha(img)
    if mode == "gray":
        out = color if color.ndim == 2 else cv2.cvtColor(color, cv2.COLOR_BGR2GRAY)
    elif mode == "invert":
        out = cv2.bitwise_not(color)
    elif mode == "rgb_swap":
        out = color if color.ndim == 2 else cv2.cvtColor(color, cv2.COLOR_BGR2RGB)
    elif mode == "sepia":
        out = cv2.transform(_to_bgr(color), _SEPIA)
    else:  # components written as R, G, B: swap the converted channels into BGR order
        converted = cv2.cvtColor(_to_depth(_to_bgr(color), np.uint8), _FALSE_COLOUR[mode])
        out = cv2.cvtColor(converted, cv2.COLOR_RGB2BGR)
    return _join_alpha(out, alpha)


def _blur(img: np.ndarray, p: dict) -> np.ndarray:
    kind, size = p["kind"], p["size"]
    if kind == "gaussian":
        return cv2.GaussianBlur(img, (size, size), p["sigma"])
    if kind == "box":
        return cv2.blur(img, (size, size))
    if kind == "median":
        if size > 5 and img.dtype != np.uint8:  # OpenCV's large-kernel median is 8-bit only
            img = _to_depth(img, np.uint8)
        return cv2.medianBlur(img, size)
    color, alpha = _split_alpha(img)
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


_RUN = {
    "resize": _resize,
    "sharpen": _sharpen,
    "threshold": _threshold,
    "color": _color,
    "blur": _blur,
    "rotate": _rotate,
}


def apply(img: np.ndarray, step: dict) -> np.ndarray:
    """Apply one step (validated here, so direct callers get the same checks as the pipeline)."""
    p = normalize_step(step)
    return _RUN[p["op"]](img, p)


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


# --------------------------------------------------------------------------- decode / encode


@dataclass
class Source:
    format: str  # jpeg, png, webp, tiff, gif, bmp, ...
    width: int  # as displayed, i.e. after EXIF orientation
    height: int
    orientation: int
    grayscale: bool


_PIL_FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "WEBP": "webp", "TIFF": "tiff", "GIF": "gif", "BMP": "bmp"}


def probe(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Source:
    """Read only the header: format, size, EXIF orientation; reject what is too large to decode."""
    with images.open_image(data, max_pixels) as im:
        fmt = _PIL_FORMATS[im.format]
        width, height = im.size
        orientation = images.header_orientation(im)
        grayscale = im.mode in ("L", "1")
    if orientation >= 5:
        width, height = height, width
    return Source(fmt, width, height, orientation, grayscale)


def orient(img: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels upright as EXIF orientation 1–8 asks (same as Pillow's exif_transpose)."""
    if orientation == 2:
        return cv2.flip(img, 1)
    if orientation == 3:
        return cv2.rotate(img, cv2.ROTATE_180)
    if orientation == 4:
        return cv2.flip(img, 0)
    if orientation == 5:
        return cv2.transpose(img)
    if orientation == 6:
        return cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE)
    if orientation == 7:
        return cv2.flip(cv2.transpose(img), -1)
    if orientation == 8:
        return cv2.rotate(img, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return img


_JPEG_FLAGS = {  # (reduce, gray) -> imdecode flag
    (1, False): cv2.IMREAD_COLOR,
    (1, True): cv2.IMREAD_GRAYSCALE,
    (2, False): cv2.IMREAD_REDUCED_COLOR_2,
    (4, False): cv2.IMREAD_REDUCED_COLOR_4,
    (8, False): cv2.IMREAD_REDUCED_COLOR_8,
    (2, True): cv2.IMREAD_REDUCED_GRAYSCALE_2,
    (4, True): cv2.IMREAD_REDUCED_GRAYSCALE_4,
    (8, True): cv2.IMREAD_REDUCED_GRAYSCALE_8,
}


def decode(data: bytes, source: Source, reduce: int = 1, luma_only: bool = False) -> np.ndarray:
    """Decode once, upright. JPEGs optionally at 1/``reduce`` size or as their luma plane only
    (the JPEG's own Y, which is what BGR→gray computes, give or take rounding). Alpha and 16
    bits are kept."""
    buf = np.frombuffer(data, np.uint8)
    if source.format == "jpeg":
        gray = source.grayscale or luma_only
        img = cv2.imdecode(buf, _JPEG_FLAGS[reduce, gray] | cv2.IMREAD_IGNORE_ORIENTATION)
    else:
        img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)  # keeps alpha and 16 bits, ignores orientation
    if img is None:
        img = _decode_with_pillow(data)
    if img.dtype not in (np.uint8, np.uint16):
        img = _normalise_depth(img)
    return orient(img, source.orientation)


def _decode_with_pillow(data: bytes) -> np.ndarray:
    """Fallback for what OpenCV cannot read (some GIF/TIFF variants): first frame only."""
    try:
        with Image.open(io.BytesIO(data), formats=images.OPENERS) as im:
            if im.mode in ("I;16", "I;16B", "I;16L"):
                return np.asarray(im.convert("I;16"), dtype=np.uint16)
            if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
                return cv2.cvtColor(np.asarray(im.convert("RGBA")), cv2.COLOR_RGBA2BGRA)
            if im.mode in ("L", "1"):
                return np.asarray(im.convert("L"))
            return cv2.cvtColor(np.asarray(im.convert("RGB")), cv2.COLOR_RGB2BGR)
    except Exception as exc:
        raise BadImage(f"The image cannot be decoded: {exc}") from None


def _normalise_depth(img: np.ndarray) -> np.ndarray:
    if img.dtype.kind == "f":  # float TIFFs hold 0..1
        return np.clip(img * 65535 + 0.5, 0, 65535).astype(np.uint16)
    info = np.iinfo(img.dtype)
    scaled = (img.astype(np.float64) - info.min) / (info.max - info.min)
    return (scaled * 65535 + 0.5).astype(np.uint16)


def _over_white(img: np.ndarray) -> np.ndarray:
    color, alpha = _split_alpha(img)
    if alpha is None:
        return img
    if alpha.min() == alpha.max() == (255 if alpha.dtype == np.uint8 else 65535):
        return color
    a = alpha.astype(np.float32) / (255 if alpha.dtype == np.uint8 else 65535)
    white = 255 if color.dtype == np.uint8 else 65535
    out = color.astype(np.float32) * a[..., None] + white * (1 - a[..., None])
    return out.round().astype(color.dtype)


def encode(img: np.ndarray, fmt: str, quality: int | None = None) -> bytes:
    """JPEG and WebP are 8-bit (JPEG flattens alpha onto white); PNG keeps 16 bits and alpha."""
    if fmt == "jpeg":
        img = _to_depth(_over_white(img), np.uint8)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality or DEFAULT_QUALITY["jpeg"]])
    elif fmt == "webp":
        ok, buf = cv2.imencode(".webp", _to_depth(img, np.uint8), [cv2.IMWRITE_WEBP_QUALITY, quality or 80])
    elif fmt == "png":
        ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    else:
        raise InvalidParameter(f"format must be one of jpeg, png, webp; got {fmt!r}.")
    if not ok:
        raise BadImage(f"The result could not be encoded as {fmt}.")
    return buf.tobytes()


# --------------------------------------------------------------------------- pipeline


@dataclass
class Plan:
    sizes: list[tuple[int, int]]  # source size, then the size after each step
    reduce: int  # JPEG DCT scaling factor for the decode (1 = full size)
    luma_only: bool = False  # JPEG whose first step drops colour: decode just the Y plane
    resize_targets: dict[int, tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=dict)


def _exact_quarter(p: dict) -> bool:
    return p["op"] == "rotate" and p["angle"] % 90 == 0 and (p["expand"] or p["angle"] % 180 == 0)


def plan(source: Source, steps: list[dict], max_pixels: int = DEFAULT_MAX_PIXELS) -> Plan:
    """Every intermediate size (checked against the pixel limit) and how far the decode may shrink."""
    w, h = source.width, source.height
    sizes, targets = [(w, h)], {}
    for i, p in enumerate(steps):
        if p["op"] == "resize":
            sw, sh, ow, oh = resize_target(w, h, p)
            targets[i] = ((sw, sh), (ow, oh))
            big = max(sw * sh, ow * oh)
            if big > max_pixels:
                raise InvalidParameter(
                    f"Step {i + 1} (resize): the result would have {big:,} pixels; at most {max_pixels:,} are allowed."
                )
            w, h = ow, oh
        elif p["op"] == "rotate":
            w, h = rotated_size(w, h, p)
            if w * h > max_pixels:
                raise InvalidParameter(
                    f"Step {i + 1} (rotate): the result would have {w * h:,} pixels; "
                    f"at most {max_pixels:,} are allowed."
                )
        sizes.append((w, h))
    reduce, luma_only = 1, False
    if source.format == "jpeg":
        # Exact quarter turns and flips commute with scaling and with dropping colour, so they
        # may come before the step that lets the decoder do less.
        first = next((i for i, p in enumerate(steps) if not _exact_quarter(p)), None)
        step = steps[first] if first is not None else {}
        luma_only = step.get("op") == "threshold" or (step.get("op") == "color" and step["mode"] == "gray")
        if step.get("op") == "resize":
            (sw, sh), _ = targets[first]
            cw, ch = sizes[first]
            for f in (8, 4, 2):
                if -(-cw // f) >= sw and -(-ch // f) >= sh:
                    reduce = f
                    break
    return Plan(sizes, reduce, luma_only, targets)


@dataclass
class Result:
    data: bytes
    format: str
    content_type: str
    quality: int | None
    width: int
    height: int
    source: Source
    steps: list[dict]
    reduce: int
    luma_only: bool
    timings: dict[str, float]  # milliseconds: decode, ops, encode, total


def run(data: bytes, ops: Any, fmt: Any = None, quality: Any = None, max_pixels: int = DEFAULT_MAX_PIXELS) -> Result:
    """Validate everything, then decode once, apply the steps in order, encode once."""
    t0 = time.perf_counter()
    steps = normalize_ops(ops)
    normalize_output(fmt, quality)  # reject a bad format/quality before reading the image
    source = probe(data, max_pixels)
    fmt, quality = normalize_output(fmt, quality, source.format)
    the_plan = plan(source, steps, max_pixels)
    img = decode(data, source, the_plan.reduce, the_plan.luma_only)
    t2 = time.perf_counter()
    for i, p in enumerate(steps):
        if p["op"] == "resize":
            scaled, out = the_plan.resize_targets[i]
            img = _resize_to(img, scaled, out, p["interpolation"])
        else:
            img = _RUN[p["op"]](img, p)
    t3 = time.perf_counter()
    encoded = encode(img, fmt, quality)
    t4 = time.perf_counter()
    timings = {
        "decode": (t2 - t0) * 1000,
        "ops": (t3 - t2) * 1000,
        "encode": (t4 - t3) * 1000,
        "total": (t4 - t0) * 1000,
    }
    h, w = img.shape[:2]
    return Result(
        encoded, fmt, FORMATS[fmt], quality, w, h, source, steps, the_plan.reduce, the_plan.luma_only, timings
    )


# --------------------------------------------------------------------------- cached results


@dataclass
class Rendered:
    """A pipeline result as the web layer and the cache see it."""

    data: bytes
    content_type: str
    format: str
    width: int
    height: int
    timings: dict[str, float]
    reduce: int = 1
    cached: bool = False

    @classmethod
    def of(cls, result: Result) -> Rendered:
        return cls(
            result.data, result.content_type, result.format, result.width, result.height, result.timings, result.reduce
        )

    def pack(self) -> bytes:
        head = json.dumps([self.content_type, self.format, self.width, self.height, self.timings, self.reduce]).encode()
        return len(head).to_bytes(4, "big") + head + self.data

    @classmethod
    def unpack(cls, raw: bytes) -> Rendered:
        size = int.from_bytes(raw[:4], "big")
        content_type, fmt, width, height, timings, reduce = json.loads(raw[4 : 4 + size])
        return cls(raw[4 + size :], content_type, fmt, width, height, timings, reduce, cached=True)


def result_cache_key(source_sha256: str, steps: list[dict], fmt: str | None, quality: int | None) -> str:
    """One key per (source, normalised steps, output): equal requests share one cache entry."""
    spec = json.dumps([source_sha256, steps, fmt, quality], sort_keys=True, separators=(",", ":"))
    return "processed:" + hashlib.sha256(spec.encode()).hexdigest()
