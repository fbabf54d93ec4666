"""Bounded parameters (each operation in ``ops/`` declares its own), colours, the output format
and quality, and the limits every pipeline shares."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..core.errors import InvalidParameter
from ..imaging import formats

PREVIEW_SIDE = 1600  # longest side of the rendition live previews run on
MAX_STEPS = 10
MAX_SIDE = 16384
DEFAULT_MAX_PIXELS = 50_000_000


@dataclass(frozen=True)
class Param:
    """One bounded parameter of an operation; ``parse`` turns JSON or form input into its value."""

    name: str
    kind: str  # int | float | choice | bool | color
    default: Any = None
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    odd: bool = False
    help: str = ""
    unit: str = ""  # shown after the value in captions: " px", "°"

    def range_text(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind == "color":
            return "a colour: #rgb, #rrggbb, #rrggbbaa or 'transparent'"
        noun = {"int": "an odd integer" if self.odd else "an integer", "float": "a number"}[self.kind]
        return f"{noun} from {_num(self.lo)} to {_num(self.hi)}"

    def parse(self, value: Any, where: str) -> Any:
        if value is None or (isinstance(value, str) and value.strip() == ""):
            return self.default
        try:
            parsed = getattr(self, "_" + self.kind)(value)
        except (TypeError, ValueError, OverflowError):
            parsed = None
        if parsed is None:
            raise InvalidParameter(f"{where}: {self.name} must be {self.range_text()}; got {value!r}.")
        return parsed

    def _int(self, value):
        if isinstance(value, bool):
            return None
        number = float(value.strip()) if isinstance(value, str) else float(value)
        if not number.is_integer() or not self.lo <= number <= self.hi or (self.odd and number % 2 == 0):
            return None
        return int(number)

    def _float(self, value):
        if isinstance(value, bool):
            return None
        number = float(value.strip()) if isinstance(value, str) else float(value)
        return number if math.isfinite(number) and self.lo <= number <= self.hi else None

    def _choice(self, value):
        text = str(value).strip().lower()
        return text if text in self.choices else None

    def _bool(self, value):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        return {
            "true": True,
            "1": True,
            "yes": True,
            "on": True,
            "false": False,
            "0": False,
            "no": False,
            "off": False,
        }.get(text)

    def _color(self, value):
        rgba = parse_color(str(value))
        return None if rgba is None else "#{:02x}{:02x}{:02x}{:02x}".format(*rgba)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


NAMED_COLORS = {"transparent": "#00000000", "black": "#000000", "white": "#ffffff"}


def parse_color(text: str) -> tuple[int, int, int, int] | None:
    """``#rgb``, ``#rrggbb``, ``#rrggbbaa``, ``transparent``, ``black`` or ``white`` as (r, g, b, a)."""
    text = text.strip().lower()
    text = NAMED_COLORS.get(text, text)
    if not text.startswith("#") or len(text) not in (4, 7, 9):
        return None
    digits = text[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    if len(digits) == 6:
        digits += "ff"
    try:
        return tuple(int(digits[i : i + 2], 16) for i in range(0, 8, 2))
    except ValueError:
        return None


FORMATS = formats.OUTPUTS  # jpeg, png, webp -> MIME type
DEFAULT_QUALITY = {"jpeg": 85, "webp": 80}
QUALITY = Param("quality", "int", None, 1, 100)


# Sources no processing output encodes, and what "as the source" gives instead: a photo stays a
# photo a browser can show (HEIC, AVIF → JPEG); lossless pictures stay lossless (GIF, BMP, TIFF →
# PNG, which keeps 16 bits); anything with transparency becomes PNG, which keeps it.
LOSSY_SOURCES = frozenset({"heic", "avif"})


# File extensions that name an image format, and the format they name.
EXTENSION_FORMATS = {
    **{f.extension: f.name for f in formats.TABLE},
    **{alias: f.name for f in formats.TABLE for alias in f.also if alias.startswith(".")},
    ".jpeg": "jpeg",
    ".tiff": "tiff",
}


def as_source(source_format: str, alpha: bool = False) -> str:
    """The output format "as the source" means for a source of ``source_format``."""
    if source_format in FORMATS:
        return source_format
    return "jpeg" if source_format in LOSSY_SOURCES and not alpha else "png"


def output_key(key: str, fmt: str) -> str:
    """``key`` with an image extension that names another format than ``fmt`` changed to ``fmt``'s
    (``chelsea-edit.heic`` holding a JPEG is ``chelsea-edit.jpg``); other keys as they are."""
    stem, dot, ext = key.rpartition(".")
    named = EXTENSION_FORMATS.get("." + ext.lower()) if dot and "/" not in ext else None
    if named is None or named == fmt:
        return key
    return stem + formats.OUTPUT_EXTENSIONS[fmt]


def normalize_output(
    fmt: Any, quality: Any, source_format: str | None = None, alpha: bool = False
) -> tuple[str | None, int | None]:
    """``(format, quality)``; format None means 'as the source' (resolved once the source is known:
    see ``as_source``)."""
    fmt = None if fmt is None else str(fmt).strip().lower()
    fmt = {"jpg": "jpeg", "": None, "source": None, "keep": None}.get(fmt, fmt)
    if fmt is not None and fmt not in FORMATS:
        raise InvalidParameter(
            f"format must be one of {', '.join(FORMATS)} (or empty to keep the source's); got {fmt!r}."
        )
    quality = QUALITY.parse(quality, "Output")
    if fmt is None and source_format is not None:
        fmt = as_source(source_format, alpha)
    if fmt == "png":
        quality = None
    elif fmt is not None and quality is None:
        quality = DEFAULT_QUALITY[fmt]
    return fmt, quality
