"""Sharpen: an unsharp mask, per channel like Pillow's."""

from __future__ import annotations

from ..operation import Operation, View, register
from ..params import Param


@register
class Sharpen(Operation):
    name = "sharpen"
    order = 20
    help = "Unsharp mask: adds amount × (image − Gaussian blur) where the difference exceeds threshold."
    params = (
        Param("amount", "float", 1.0, 0, 10, help="Strength (1 = +100%)."),
        Param("radius", "float", 1.0, 0.1, 50, help="Gaussian sigma in pixels.", unit=" px"),
        Param("threshold", "int", 0, 0, 255, help="Smallest difference (8-bit levels) that is sharpened."),
    )

    def for_preview(self, p: dict, view: View) -> dict:
        return {**p, "radius": max(0.1, p["radius"] * view.scale)} if view.scale < 1 else p

    def cpu_ns(self, p: dict) -> float:
        return 3 + 3.2 * p["radius"]  # 16-bit kernels reach 4σ, 8-bit 3σ

    def memory(self, p: dict) -> float:
        return 6

    def run(self, img, p: dict):
        import cv2

        from ..pixels import join_alpha, level_scale, split_alpha

        color, alpha = split_alpha(img)
        blurred = cv2.GaussianBlur(color, (0, 0), p["radius"])
        sharp = cv2.addWeighted(color, 1 + p["amount"], blurred, -p["amount"], 0)
        if p["threshold"] > 0:  # per channel, like Pillow's UnsharpMask: small differences stay as they were
            keep = cv2.compare(cv2.absdiff(color, blurred), p["threshold"] * level_scale(color), cv2.CMP_LT)
            cv2.copyTo(color, keep, sharp)
        return join_alpha(sharp, alpha)
