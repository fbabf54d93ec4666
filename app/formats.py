"""The image formats the gallery accepts: one row per format Pillow identifies, read by uploads,
processing, direct uploads, Rekognition and the API description alike."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    pillow: str  # Pillow's name for it (``Image.format``)
    name: str  # the short name processing uses (``format=jpeg``)
    mime: str
    extension: str
    label: str | None  # how pages and messages name it; None for a variant of another row
    output: bool = False  # processing can encode it
    rekognition: bool = False  # Rekognition DetectLabels reads these bytes as they are


TABLE = (
    Format("JPEG", "jpeg", "image/jpeg", ".jpg", "JPEG", output=True, rekognition=True),
    # Multi-picture JPEG from phones: served as its first (JPEG) image; sent to Rekognition re-encoded.
    Format("MPO", "jpeg", "image/jpeg", ".jpg", None),
    Format("PNG", "png", "image/png", ".png", "PNG", output=True, rekognition=True),
    Format("GIF", "gif", "image/gif", ".gif", "GIF"),
    Format("WEBP", "webp", "image/webp", ".webp", "WebP", output=True),
    Format("BMP", "bmp", "image/bmp", ".bmp", "BMP"),
    Format("TIFF", "tiff", "image/tiff", ".tif", "TIFF"),
)

BY_PILLOW = {f.pillow: f for f in TABLE}
# The formats as users see them: one per MIME type.
LISTED = tuple(f for f in TABLE if f.label is not None)
MIME_TYPES = tuple(f.mime for f in LISTED)
# Processing outputs: short name -> MIME type (jpeg, png, webp).
OUTPUTS = {f.name: f.mime for f in LISTED if f.output}
OUTPUT_EXTENSIONS = {f.name: f.extension for f in LISTED if f.output}
REKOGNITION_MIME_TYPES = tuple(f.mime for f in LISTED if f.rekognition)


def either(labels: list[str], word: str = "or") -> str:
    """``A, B or C``."""
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} {word} {labels[-1]}"


ACCEPTED = either([f.label for f in LISTED])  # "JPEG, PNG, GIF, WebP, BMP or TIFF"
REKOGNITION_READS = either([f.label for f in LISTED if f.rekognition], "and")  # "JPEG and PNG"
