"""Blur: Gaussian, median, box (mean) or edge-preserving bilateral."""

from __future__ import annotations

from ...core.errors import InvalidParameter
from ..operation import Operation, View, odd_at_least, register
from ..params import Param

ODD_SIZED = ("gaussian", "median")
BILATERAL_MAX_SIZE = 25


@register
class Blur(Operation):
    name = "blur"
    order = 50
    help = "Gaussian, median, box (mean) or edge-preserving bilateral blur."
    params = (
        Param("kind", "choice", "gaussian", choices=("gaussian", "median", "box", "bilateral")),
        Param(
            "size",
            "int",
            5,
            1,
            99,
            help=f"Kernel size (odd for gaussian and median; ≤ {BILATERAL_MAX_SIZE} for bilateral).",
            unit=" px",
        ),
        Param("sigma", "float", 0, 0, 100, help="Gaussian sigma; 0 derives it from size."),
        Param("sigma_color", "float", 75, 1, 255, help="Bilateral: colour range mixed together."),
        Param("sigma_space", "float", 75, 1, 255, help="Bilateral: spatial extent."),
    )

    def check(self, p: dict, where: str) -> None:
        if p["kind"] in ODD_SIZED and p["size"] % 2 == 0:
            raise InvalidParameter(
                f"{where}: size must be an odd integer from 1 to 99 for {p['kind']}; got {p['size']}."
            )
        if p["kind"] == "bilateral" and p["size"] > BILATERAL_MAX_SIZE:
            raise InvalidParameter(
                f"{where}: size must be an integer from 1 to {BILATERAL_MAX_SIZE} for bilateral; got {p['size']}."
            )

    def for_preview(self, p: dict, view: View) -> dict:
        s = view.scale
        if s >= 1:
            return p
        size = odd_at_least(p["size"] * s, 1) if p["kind"] in ODD_SIZED else max(1, round(p["size"] * s))
        return {**p, "size": size, "sigma": p["sigma"] * s, "sigma_space": max(1.0, p["sigma_space"] * s)}

    def cpu_ns(self, p: dict) -> float:
        size = p["size"]
        return {
            "gaussian": 1.5 + 0.2 * size,
            "box": 2,
            "median": 1.5 + (0.3 * size if size > 5 else 0),
            "bilateral": 2 + 0.45 * size**2,
        }[p["kind"]]

    def memory(self, p: dict) -> float:
        return {"bilateral": 6.5, "median": 2.1}.get(p["kind"], 1.2)

    def run(self, img, p: dict):
        import cv2
        import numpy as np

        from ..pixels import join_alpha, split_alpha, to_depth

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
        return join_alpha(out, alpha)
