"""Pixel helpers the operations and the codec share (OpenCV layout: gray, BGR or BGRA, 8 or 16
bits). Imported on first use, from inside the operations' ``run``, so validating steps needs no
OpenCV."""

from __future__ import annotations

import cv2
import numpy as np


def split_alpha(img: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    if img.ndim == 3 and img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR), img[:, :, 3]
    return img, None


def join_alpha(color: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
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


def to_bgr(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img


def to_bgra(img: np.ndarray) -> np.ndarray:
    """Add an opaque alpha channel unless there is one (transparent fills need it)."""
    return img if img.ndim == 3 and img.shape[2] == 4 else cv2.cvtColor(to_bgr(img), cv2.COLOR_BGR2BGRA)


def gray8(img: np.ndarray) -> np.ndarray:
    color, _ = split_alpha(img)
    gray = color if color.ndim == 2 else cv2.cvtColor(color, cv2.COLOR_BGR2GRAY)
    return to_depth(gray, np.uint8)


def level_scale(img: np.ndarray) -> int:
    """What one 8-bit level is worth at the image's depth."""
    return 257 if img.dtype == np.uint16 else 1
