"""Threshold: fixed, Otsu or adaptive, on the 8-bit luminance (alpha kept)."""

from __future__ import annotations

from ..operation import Operation, View, odd_at_least, register
from ..params import Param

# Fixed methods as requests name them -> OpenCV's flag names (looked up when the pixels are touched).
FIXED = {
    "binary": "THRESH_BINARY",
    "binary_inv": "THRESH_BINARY_INV",
    "trunc": "THRESH_TRUNC",
    "tozero": "THRESH_TOZERO",
    "tozero_inv": "THRESH_TOZERO_INV",
}
ADAPTIVE = {"adaptive_mean": "ADAPTIVE_THRESH_MEAN_C", "adaptive_gaussian": "ADAPTIVE_THRESH_GAUSSIAN_C"}


@register
class Threshold(Operation):
    name = "threshold"
    order = 30
    help = "Threshold the 8-bit luminance; the result is gray (alpha kept)."
    params = (
        Param("method", "choice", "binary", choices=(*FIXED, "otsu", *ADAPTIVE)),
        Param("value", "int", 128, 0, 255, help="Threshold level (fixed methods)."),
        Param("block_size", "int", 11, 3, 255, odd=True, help="Neighbourhood size (adaptive methods)."),
        Param("c", "float", 2, -100, 100, help="Subtracted from the local mean (adaptive methods)."),
    )

    def needs_only_luma(self, p: dict) -> bool:
        return True

    def for_preview(self, p: dict, view: View) -> dict:
        return {**p, "block_size": odd_at_least(p["block_size"] * view.scale, 3)} if view.scale < 1 else p

    def cpu_ns(self, p: dict) -> float:
        return {"adaptive_gaussian": 2 + 0.12 * p["block_size"], "adaptive_mean": 2}.get(p["method"], 1)

    def memory(self, p: dict) -> float:
        return 2.5

    def channels(self, channels: int, p: dict) -> int:
        return 4 if channels == 4 else 1

    def run(self, img, p: dict):
        import cv2

        from ..pixels import gray8, join_alpha, split_alpha

        gray = gray8(img)
        method = p["method"]
        if method == "otsu":
            _, out = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        elif method in ADAPTIVE:
            kind = getattr(cv2, ADAPTIVE[method])
            out = cv2.adaptiveThreshold(gray, 255, kind, cv2.THRESH_BINARY, p["block_size"], p["c"])
        else:
            _, out = cv2.threshold(gray, p["value"], 255, getattr(cv2, FIXED[method]))
        _, alpha = split_alpha(img)
        return join_alpha(out, alpha)
