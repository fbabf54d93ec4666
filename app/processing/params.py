"""Parameters of the operations: one table (``OPS``) of bounded parameters, and the
normalisation that validates a list of steps before any pixel is touched."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from ..core.errors import InvalidParameter
from ..imaging import formats

PREVIEW_SIDE = 1600  # longest side of the rendition live previews run on
MAX_STEPS = 10
MAX_SIDE = 16384
DEFAULT_MAX_PIXELS = 50_000_000


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


NAMED_COLORS = {"transparent": "#00000000", "black": "#000000", "white": "#ffffff"}


def parse_color(text: str) -> tuple[int, int, int, int] | None:
    """``#rgb``, ``#rrggbb``, ``#rrggbbaa``, ``transparent``, ``black`` or ``white`` as (r, g, b, a)."""
    text = text.strip().lower()
    text = NAMED_COLORS.get(text, text)
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


# Names only: ops.py maps them to OpenCV's flags, so validating a request needs no OpenCV.
INTERPOLATIONS = ("nearest", "linear", "area", "cubic", "lanczos")
THRESHOLDS = ("binary", "binary_inv", "trunc", "tozero", "tozero_inv")

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
                    choices=("auto", *INTERPOLATIONS),
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
                    "method", "choice", "binary", choices=(*THRESHOLDS, "otsu", "adaptive_mean", "adaptive_gaussian")
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
        OpSpec(
            "crop",
            "Keep a box of the image it receives (the source's pixels when it comes first).",
            (
                Param("x", "int", 0, 0, MAX_SIDE - 1, help="Left edge of the box in pixels."),
                Param("y", "int", 0, 0, MAX_SIDE - 1, help="Top edge of the box in pixels."),
                Param("width", "int", None, 1, MAX_SIDE, help="Width of the box; empty: to the right edge."),
                Param("height", "int", None, 1, MAX_SIDE, help="Height of the box; empty: to the bottom edge."),
            ),
        ),
        OpSpec(
            "flip",
            "Mirror the image left to right (horizontal), top to bottom (vertical) or both.",
            (Param("axis", "choice", "horizontal", choices=("horizontal", "vertical", "both")),),
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


FORMATS = formats.OUTPUTS  # jpeg, png, webp -> MIME type
DEFAULT_QUALITY = {"jpeg": 85, "webp": 80}
QUALITY = Param("quality", "int", None, 1, 100)


def normalize_output(fmt: Any, quality: Any, source_format: str | None = None) -> tuple[str | None, int | None]:
    """``(format, quality)``; format None means 'as the source' (resolved once the source is known)."""
    fmt = None if fmt is None else str(fmt).strip().lower()
    fmt = {"jpg": "jpeg", "": None, "source": None, "keep": None}.get(fmt, fmt)
    if fmt is not None and fmt not in FORMATS:
        raise InvalidParameter(
            f"format must be one of {', '.join(FORMATS)} (or empty to keep the source's); got {fmt!r}."
        )
    quality = QUALITY.parse(quality, "Output")
    if fmt is None and source_format is not None:
        fmt = source_format if source_format in FORMATS else "png"
    if fmt == "png":
        quality = None
    elif fmt is not None and quality is None:
        quality = DEFAULT_QUALITY[fmt]
    return fmt, quality
