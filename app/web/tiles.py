"""How the gallery draws its tiles before any script runs: each tile's shape and placeholder
colour, and each photo's alt text.

The page's Content-Security-Policy allows no ``style`` attribute, so the per-tile numbers go into
one ``<style>`` block that the response's policy allows by its hash: the justified rows are laid
out from the stored aspect ratios on the first paint, in each photo's own colour, and nothing
moves when the pictures or the scripts arrive.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field

from markupsafe import Markup

from ..core.timeline import MONTHS, day_of
from ..metadata.base import ImageRecord
from .common import CONTENT_SECURITY_POLICY

# A panorama or a tall strip still gets a usable tile: its photo is cropped to this range.
MIN_RATIO, MAX_RATIO = 0.4, 3.0
COLOR = re.compile(r"#[0-9a-fA-F]{6}")
STYLE_SRC = "style-src 'self'"


def tile_ratio(record: ImageRecord) -> float:
    """Width over height of the tile, from the thumbnail's stored size (upright)."""
    if record.thumb_width <= 0 or record.thumb_height <= 0:
        return 1.0
    return min(max(record.thumb_width / record.thumb_height, MIN_RATIO), MAX_RATIO)


@dataclass
class TileStyles:
    """The ``<style>`` block of a page of tiles, the id each record's tile carries, and the
    Content-Security-Policy that allows exactly that block."""

    ids: dict[str, str] = field(default_factory=dict)
    css: Markup = Markup("")

    @property
    def policy(self) -> str:
        digest = base64.b64encode(hashlib.sha256(str(self.css).encode()).digest()).decode()
        return CONTENT_SECURITY_POLICY.replace(STYLE_SRC, f"{STYLE_SRC} 'sha256-{digest}'", 1)


def tile_styles(records: list[ImageRecord]) -> TileStyles:
    styles = TileStyles()
    rules = []
    for n, record in enumerate(records, 1):
        styles.ids[record.key] = f"tile-{n}"
        colour = f";--color:{record.color}" if COLOR.fullmatch(record.color or "") else ""
        rules.append(f"#tile-{n}{{--ratio:{tile_ratio(record):.4f}{colour}}}")
    # Only numbers and checked colours: nothing from a user reaches the block.
    styles.css = Markup("".join(rules))
    return styles


def alt_text(record: ImageRecord) -> str:
    """What a photo shows and when: "Cat, dog, 14 July 2024" from its labels and the day it was
    taken (else uploaded); "Photo, …" before detection has named anything. Never the file name,
    which a screen reader already reads beside it where it is shown."""
    day = day_of(record, "taken")
    what = ", ".join(record.labels[:3]) or "photo"
    return f"{what[0].upper()}{what[1:]}, {day.day} {MONTHS[day.month - 1]} {day.year}"
