"""What a photo's EXIF says about how it was taken: the date taken and a few camera facts.

Read once at upload from Pillow's ``getexif()`` (IFD0 and the Exif sub-IFD) and kept with the
record under stable names (``FIELDS``), so nothing later parses EXIF again. GPS is never read:
neither the record nor any rendition carries a location. Broken or hostile EXIF (loops, huge
counts, garbage) yields fewer facts, never an error.
"""

from __future__ import annotations

import math
import re
import struct
from datetime import datetime

from PIL import ExifTags, Image

# The names of ``record.exif``; a fact that is not known is absent (width and height always exist).
FIELDS = ("make", "model", "lens", "exposure", "aperture", "iso", "focal_length", "width", "height")
MAX_TEXT = 120  # longest text kept from a tag (a camera name, not a story)

_T = ExifTags.Base
_DATE = re.compile(r"(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"[+-]\d{2}:\d{2}")
_READ_ERRORS = (OSError, ValueError, SyntaxError, TypeError, KeyError, IndexError, struct.error, ZeroDivisionError)


def read(image: Image.Image, width: int, height: int) -> tuple[str | None, dict]:
    """``(taken_at, facts)`` of an opened (or decoded) image whose upright size is ``width``×``height``."""
    facts: dict = {"width": width, "height": height}
    try:
        ifd0 = image.getexif()
        sub = ifd0.get_ifd(ExifTags.IFD.Exif)
    except _READ_ERRORS:
        return None, facts
    taken_at = taken(sub)
    for name, tag, source in (("make", _T.Make, ifd0), ("model", _T.Model, ifd0), ("lens", _T.LensModel, sub)):
        value = _text(source.get(tag))
        if value:
            facts[name] = value
    exposure = _number(sub.get(_T.ExposureTime))
    if exposure:
        facts["exposure"] = f"{exposure:g} s" if exposure >= 1 else f"1/{round(1 / exposure)} s"
    aperture = _number(sub.get(_T.FNumber))
    if aperture:
        facts["aperture"] = f"f/{round(aperture, 1):g}"
    iso = sub.get(_T.ISOSpeedRatings)
    iso = iso[0] if isinstance(iso, tuple) and iso else iso
    if isinstance(iso, int) and 0 < iso < 10_000_000:
        facts["iso"] = iso
    focal = _number(sub.get(_T.FocalLength))
    if focal:
        facts["focal_length"] = f"{round(focal, 1):g} mm"
    return taken_at, facts


def taken(sub) -> str | None:
    """When the photo was taken, as ISO 8601: the camera's local time, with its UTC offset when the
    camera wrote one (``OffsetTimeOriginal``); None when the EXIF has no usable date."""
    for date_tag, offset_tag in (
        (_T.DateTimeOriginal, _T.OffsetTimeOriginal),
        (_T.DateTimeDigitized, _T.OffsetTimeDigitized),
    ):
        text = _text(sub.get(date_tag))
        match = _DATE.match(text or "")
        if not match:
            continue
        try:
            moment = datetime(*(int(part) for part in match.groups()))
        except ValueError:  # 0000:00:00 00:00:00 and other impossible dates
            continue
        offset = _text(sub.get(offset_tag)) or ""
        return moment.isoformat() + (offset if _OFFSET.fullmatch(offset) else "")
    return None


def summary(facts: dict) -> list[tuple[str, str]]:
    """The facts as rows a page shows: camera, lens, exposure settings."""
    rows = []
    make, model = facts.get("make", ""), facts.get("model", "")
    camera = model if make and model.lower().startswith(make.lower().split()[0]) else f"{make} {model}".strip()
    if camera:
        rows.append(("Camera", camera))
    if facts.get("lens"):
        rows.append(("Lens", facts["lens"]))
    settings = [facts.get("exposure"), facts.get("aperture"), facts.get("iso") and f"ISO {facts['iso']}"]
    settings.append(facts.get("focal_length"))
    settings = [s for s in settings if s]
    if settings:
        rows.append(("Exposure", " · ".join(settings)))
    return rows


def _text(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    # Printable text without markup: no camera names a thing with angle brackets, and a script
    # that puts these facts into a page unescaped then cannot be tricked by a crafted file.
    value = "".join(ch for ch in value if ch.isprintable() and ch not in "<>").strip()
    return value[:MAX_TEXT] or None


def _number(value) -> float | None:
    """A positive finite EXIF rational (a 0/0 one is NaN in Pillow)."""
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) and number > 0 else None
