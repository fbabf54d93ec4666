"""What pages show and their scripts enforce, read from the code that enforces it: templates get
``limits``; scripts read what the templates render from it (input constraints, data- attributes)."""

from __future__ import annotations

from ..core import keys, search
from ..imaging import formats
from ..processing import params
from ..recognition import shape

COLOR_FIELD_LENGTH = 16  # room for any colour text params.parse_color reads ("transparent", "#rrggbbaa")


def page_limits() -> dict:
    """A context processor; module attributes are read per page, so a changed limit shows at once."""
    return {
        "limits": {
            "key_length": keys.MAX_KEY_LENGTH,
            "search_length": search.MAX_QUERY_LENGTH,
            "accept": formats.ACCEPT,
            "accepted": formats.ACCEPTED,
            "extensions": formats.OUTPUT_EXTENSIONS,
            "quality": params.QUALITY,
            "default_quality": params.DEFAULT_QUALITY,
            "color_length": COLOR_FIELD_LENGTH,
            "confidence": shape.MIN_CONFIDENCE_RANGE,
        }
    }
