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
    opencv: bool = True  # processing decodes it with OpenCV (else with Pillow)
    also: tuple[str, ...] = ()  # other MIME types and extensions browsers give such files


TABLE = (
    Format("JPEG", "jpeg", "image/jpeg", ".jpg", "JPEG", output=True, rekognition=True),
    # Multi-picture JPEG from phones: served as its first (JPEG) image; sent to Rekognition re-encoded.
    Format("MPO", "jpeg", "image/jpeg", ".jpg", None),
    Format("PNG", "png", "image/png", ".png", "PNG", output=True, rekognition=True),
    Format("GIF", "gif", "image/gif", ".gif", "GIF"),
    Format("WEBP", "webp", "image/webp", ".webp", "WebP", output=True),
    Format("BMP", "bmp", "image/bmp", ".bmp", "BMP"),
    Format("TIFF", "tiff", "image/tiff", ".tif", "TIFF"),
    # iPhone photos; opened by pillow-heif (images.py registers it), which applies their rotation.
    Format("HEIF", "heic", "image/heic", ".heic", "HEIC", opencv=False, also=("image/heif", ".heic", ".heif")),
    Format("AVIF", "avif", "image/avif", ".avif", "AVIF", opencv=False, also=(".avif",)),
)

BY_PILLOW = {f.pillow: f for f in TABLE}
# The formats as users see them: one per MIME type.
LISTED = tuple(f for f in TABLE if f.label is not None)
MIME_TYPES = tuple(f.mime for f in LISTED)
# What a file field accepts and direct uploads may declare: the MIME types and their aliases.
ACCEPT = ",".join(MIME_TYPES + tuple(a for f in LISTED for a in f.also))
UPLOAD_MIME_TYPES = MIME_TYPES + tuple(a for f in LISTED for a in f.also if "/" in a)
PILLOW_DECODES = frozenset(f.name for f in TABLE if not f.opencv)  # processing's names decoded by Pillow
# Processing outputs: short name -> MIME type (jpeg, png, webp).
OUTPUTS = {f.name: f.mime for f in LISTED if f.output}
OUTPUT_EXTENSIONS = {f.name: f.extension for f in LISTED if f.output}
REKOGNITION_MIME_TYPES = tuple(f.mime for f in LISTED if f.rekognition)


def either(labels: list[str], word: str = "or") -> str:
    """``A, B or C``."""
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} {word} {labels[-1]}"


ACCEPTED = either([f.label for f in LISTED])  # "JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC or AVIF"
REKOGNITION_READS = either([f.label for f in LISTED if f.rekognition], "and")  # "JPEG and PNG"
