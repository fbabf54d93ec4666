"""Colour conversion: gray, sepia, invert, RGB swap, and HSV / L*a*b* / YCrCb shown as false colour.

How the colour modes that are not pictures are shown (``hsv``, ``lab``, ``ycrcb``): the three
components are written as the red, green and blue channels of an 8-bit image, i.e. a false-colour
picture of the components — HSV as H·255/360, S, V; L*a*b* as L·255/100, a+128, b+128; YCrCb as
Y, Cr, Cb.
"""

from __future__ import annotations

from ..operation import Operation, register
from ..params import Param

# Sepia in BGR order (rows: B', G', R'), the usual Microsoft coefficients.
SEPIA = ((0.131, 0.534, 0.272), (0.168, 0.686, 0.349), (0.189, 0.769, 0.393))
FALSE_COLOUR = {"hsv": "COLOR_BGR2HSV_FULL", "lab": "COLOR_BGR2Lab", "ycrcb": "COLOR_BGR2YCrCb"}


@register
class Color(Operation):
    name = "color"
    order = 40
    help = "Colour conversion; hsv, lab and ycrcb are shown as false colour (components as R, G, B)."
    params = (Param("mode", "choice", "gray", choices=("gray", "sepia", "invert", *FALSE_COLOUR, "rgb_swap")),)

    def needs_only_luma(self, p: dict) -> bool:
        return p["mode"] == "gray"

    def cpu_ns(self, p: dict) -> float:
        return 12 if p["mode"] in FALSE_COLOUR else 2

    def memory(self, p: dict) -> float:
        return 5

    def channels(self, channels: int, p: dict) -> int:
        if channels == 4 or p["mode"] in ("invert", "rgb_swap"):
            return channels
        return 1 if p["mode"] == "gray" else 3

    def run(self, img, p: dict):
        import cv2
        import numpy as np

        from ..pixels import join_alpha, split_alpha, to_bgr, to_depth

        mode = p["mode"]
        color, alpha = split_alpha(img)
        if mode == "gray":
            out = color if color.ndim == 2 else cv2.cvtColor(color, cv2.COLOR_BGR2GRAY)
        elif mode == "invert":
            out = cv2.bitwise_not(color)
        elif mode == "rgb_swap":
            out = color if color.ndim == 2 else cv2.cvtColor(color, cv2.COLOR_BGR2RGB)
        elif mode == "sepia":
            out = cv2.transform(to_bgr(color), np.array(SEPIA, np.float32))
        else:  # components written as R, G, B: swap the converted channels into BGR order
            converted = cv2.cvtColor(to_depth(to_bgr(color), np.uint8), getattr(cv2, FALSE_COLOUR[mode]))
            out = cv2.cvtColor(converted, cv2.COLOR_RGB2BGR)
        return join_alpha(out, alpha)
