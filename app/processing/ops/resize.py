"""Resize: by width and/or height, or by a factor; cover crops the centre."""

from __future__ import annotations

from ...core.errors import InvalidParameter
from ..operation import Operation, Size, Sizing, View, register
from ..params import MAX_SIDE, Param

# Names as requests give them -> OpenCV's flag names (looked up when the pixels are touched).
INTERPOLATIONS = {
    "nearest": "INTER_NEAREST",
    "linear": "INTER_LINEAR",
    "area": "INTER_AREA",
    "cubic": "INTER_CUBIC",
    "lanczos": "INTER_LANCZOS4",
}
COST_NS = {"nearest": 1, "linear": 2, "area": 2, "lanczos": 9}  # auto and cubic: 4


def resize_target(width: int, height: int, p: dict) -> Sizing:
    """The size scaled to (``work``) and the output (smaller for a cover crop). With ``enlarge``
    off, an image already within the target keeps its size (a cover box shrinks to fit it)."""
    sizing = _target(width, height, p)
    scaled = sizing.work or sizing.output  # the image is scaled to this, then a cover box cropped
    if p.get("enlarge", True) or (scaled[0] <= width and scaled[1] <= height):
        return sizing
    shrink = min(width / scaled[0], height / scaled[1])
    work = (max(1, min(width, round(scaled[0] * shrink))), max(1, min(height, round(scaled[1] * shrink))))
    ow, oh = sizing.output
    output = (max(1, min(work[0], round(ow * shrink))), max(1, min(work[1], round(oh * shrink))))
    return Sizing(output, work)


def _target(width: int, height: int, p: dict) -> Sizing:
    if p["scale"] is not None:
        w, h = max(1, round(width * p["scale"])), max(1, round(height * p["scale"]))
        return Sizing((w, h), (w, h))
    tw, th = p["width"], p["height"]
    if tw is None:
        w = max(1, round(width * th / height))
        return Sizing((w, th), (w, th))
    if th is None:
        h = max(1, round(height * tw / width))
        return Sizing((tw, h), (tw, h))
    if p["fit"] == "fill":
        return Sizing((tw, th), (tw, th))
    pick = min if p["fit"] == "contain" else max
    s = pick(tw / width, th / height)
    w, h = max(1, round(width * s)), max(1, round(height * s))
    if p["fit"] == "cover":
        return Sizing((tw, th), (max(w, tw), max(h, th)))
    return Sizing((w, h), (w, h))


def resize_to(img, scaled: Size, out: Size, interpolation: str):
    import cv2

    h, w = img.shape[:2]
    sw, sh = scaled
    if (sw, sh) != (w, h):
        if interpolation != "auto":
            flag = getattr(cv2, INTERPOLATIONS[interpolation])
        elif sw <= w and sh <= h:
            flag = cv2.INTER_AREA
        elif sw >= w and sh >= h:
            flag = cv2.INTER_CUBIC
        else:
            flag = cv2.INTER_LINEAR
        img = cv2.resize(img, (sw, sh), interpolation=flag)
    ow, oh = out
    if (ow, oh) != (sw, sh):  # cover: crop the centre
        x, y = (sw - ow) // 2, (sh - oh) // 2
        img = img[y : y + oh, x : x + ow].copy()
    return img


@register
class Resize(Operation):
    name = "resize"
    order = 10
    help = "Scale by width and/or height (the other side follows the aspect ratio) or by a factor."
    params = (
        Param("width", "int", None, 1, MAX_SIDE, help="Target width in pixels.", unit=" px"),
        Param("height", "int", None, 1, MAX_SIDE, help="Target height in pixels.", unit=" px"),
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
        Param("enlarge", "bool", True, help="Off: a smaller image keeps its size (never scaled up)."),
    )

    def caption(self, p: dict) -> str:
        """Enlarging is the default, said only when it is off ("…, never enlarged")."""
        text = super().caption({k: v for k, v in p.items() if k != "enlarge"})
        return text if p.get("enlarge", True) else text + ", never enlarged"

    def check(self, p: dict, where: str) -> None:
        if p["scale"] is not None and (p["width"] is not None or p["height"] is not None):
            raise InvalidParameter(f"{where}: give either scale or width/height, not both.")
        if p["scale"] is None and p["width"] is None and p["height"] is None:
            raise InvalidParameter(
                f"{where}: width (1–{MAX_SIDE}), height (1–{MAX_SIDE}) or scale (0.01–10) is required."
            )

    def size(self, size: Size, p: dict, where: str) -> Sizing:
        return resize_target(*size, p)

    def smallest_input(self, sizing: Sizing) -> Size | None:
        return sizing.work

    def for_preview(self, p: dict, view: View) -> dict:
        """Straight to the real target when it fits the display (a thumbnail is exact, not blurred
        up), else to the display size, with the target's aspect."""
        ow, oh = resize_target(*view.real, p).output
        fit = min(1.0, view.side / max(ow, oh))
        both = p["width"] is not None and p["height"] is not None
        return {
            **p,
            "width": max(1, round(ow * fit)),
            "height": max(1, round(oh * fit)),
            "scale": None,
            "fit": "cover" if both and p["fit"] == "cover" else "fill",
        }

    def cpu_ns(self, p: dict) -> float:
        return COST_NS.get(p["interpolation"], 4)

    def memory(self, p: dict) -> float:
        return 1.2

    def run(self, img, p: dict):
        h, w = img.shape[:2]
        return self.run_planned(img, p, resize_target(w, h, p))

    def run_planned(self, img, p: dict, sizing: Sizing):
        """To the planned sizes: a JPEG decoded reduced still ends at the size planned from its header."""
        return resize_to(img, sizing.work, sizing.output, p["interpolation"])
