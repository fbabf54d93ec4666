"""The Rekognition ``DetectLabels`` result shape, shared by every backend.

``build_labels`` turns raw detections into that shape; ``normalize`` trims a real Rekognition
response down to the same keys, so callers never see which backend ran.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import InvalidParameter

DEFAULT_MIN_CONFIDENCE = 50.0
DEFAULT_MAX_LABELS = 20
MAX_MAX_LABELS = 1000  # Rekognition's own upper bound
MIN_CONFIDENCE_RANGE = (0.0, 100.0)
MAX_LABELS_RANGE = (1, MAX_MAX_LABELS)


@dataclass(frozen=True)
class Detection:
    name: str
    confidence: float  # 0–100
    left: float  # ratios of the image size
    top: float
    width: float
    height: float
    category: str
    parents: tuple[str, ...] = ()  # nearest first


def check_options(min_confidence, max_labels) -> tuple[float, int]:
    """Validate and coerce ``MinConfidence`` and ``MaxLabels`` (within the ranges above)."""
    (lo, hi), (fewest, most) = MIN_CONFIDENCE_RANGE, MAX_LABELS_RANGE
    try:
        min_confidence = float(DEFAULT_MIN_CONFIDENCE if min_confidence in (None, "") else min_confidence)
    except (TypeError, ValueError):
        raise InvalidParameter(
            f"min_confidence must be a number from {lo:g} to {hi:g}, not {min_confidence!r}.",
            page=f"Set the minimum confidence to a number from {lo:g} to {hi:g} %.",
        ) from None
    if not lo <= min_confidence <= hi:
        raise InvalidParameter(
            f"min_confidence must be from {lo:g} to {hi:g}, not {min_confidence:g}.",
            page=f"Set the minimum confidence from {lo:g} to {hi:g} %; it was {min_confidence:g} %.",
        )
    try:
        max_labels = int(DEFAULT_MAX_LABELS if max_labels in (None, "") else max_labels)
    except (TypeError, ValueError):
        message = f"max_labels must be a whole number from {fewest} to {most}, not {max_labels!r}."
        raise InvalidParameter(message) from None
    if not fewest <= max_labels <= most:
        raise InvalidParameter(f"max_labels must be from {fewest} to {most}, not {max_labels}.")
    return min_confidence, max_labels


def _box(d: Detection) -> dict:
    return {"Width": round(d.width, 4), "Height": round(d.height, 4), "Left": round(d.left, 4), "Top": round(d.top, 4)}


def build_labels(detections: list[Detection], min_confidence: float, max_labels: int) -> dict:
    """Group detections by name into labels with instances, and add each object's parents as
    labels of their own (no instances, the confidence of their best child), as Rekognition does."""
    labels: dict[str, dict] = {}
    for d in sorted(detections, key=lambda d: -d.confidence):
        if d.confidence < min_confidence:
            continue
        label = labels.setdefault(
            d.name,
            {
                "Name": d.name,
                "Confidence": round(d.confidence, 3),
                "Instances": [],
                "Parents": [{"Name": p} for p in d.parents],
                "Categories": [{"Name": d.category}],
            },
        )
        label["Instances"].append({"BoundingBox": _box(d), "Confidence": round(d.confidence, 3)})
        for i, parent in enumerate(d.parents):
            if parent not in labels:
                labels[parent] = {
                    "Name": parent,
                    "Confidence": round(d.confidence, 3),
                    "Instances": [],
                    "Parents": [{"Name": p} for p in d.parents[i + 1 :]],
                    "Categories": [{"Name": d.category}],
                }
    # Objects before their parents at equal confidence, so MaxLabels never drops an object for a parent.
    ordered = sorted(labels.values(), key=lambda lab: (-lab["Confidence"], not lab["Instances"], lab["Name"]))
    return {"Labels": ordered[:max_labels]}


def normalize(response: dict, min_confidence: float, max_labels: int) -> dict:
    """Keep the shared keys of a Rekognition ``DetectLabels`` response, filtered and sorted the same way."""
    labels = []
    for raw in response.get("Labels", []):
        confidence = float(raw.get("Confidence", 0.0))
        if confidence < min_confidence:
            continue
        instances = [
            {
                "BoundingBox": {k: float(inst["BoundingBox"][k]) for k in ("Width", "Height", "Left", "Top")},
                "Confidence": float(inst.get("Confidence", confidence)),
            }
            for inst in raw.get("Instances", [])
            if "BoundingBox" in inst
        ]
        labels.append(
            {
                "Name": raw["Name"],
                "Confidence": confidence,
                "Instances": sorted(instances, key=lambda i: -i["Confidence"]),
                "Parents": [{"Name": p["Name"]} for p in raw.get("Parents", [])],
                "Categories": [{"Name": c["Name"]} for c in raw.get("Categories", [])],
            }
        )
    labels.sort(key=lambda lab: (-lab["Confidence"], not lab["Instances"], lab["Name"]))
    return {"Labels": labels[:max_labels]}


def select(result: dict, min_confidence: float, max_labels: int) -> dict:
    """The labels of a result at or above ``min_confidence``, at most ``max_labels`` of them."""
    return {**result, "Labels": [lab for lab in result["Labels"] if lab["Confidence"] >= min_confidence][:max_labels]}


def label_names(result: dict) -> list[str]:
    """Lower-case label names for the metadata store (what ``list(label=...)`` filters on)."""
    return sorted({label["Name"].lower() for label in result.get("Labels", [])})
