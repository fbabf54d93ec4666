"""The image operations and the pipeline that chains them.

Images are numpy arrays in OpenCV's layout: ``H×W`` (gray), ``H×W×3`` (BGR) or ``H×W×4``
(BGRA), ``uint8`` or ``uint16``. Each operation is a class in ``ops/`` (one module each; see
``operation.py`` for what it declares) registered in :data:`OPS`; its parameters are checked
before any pixel is touched, and a bad value raises :class:`~app.core.errors.InvalidParameter`
naming the parameter and its range.

A pipeline (:func:`run`) validates every step, reads the header, checks the pixel limit for
the source and for every intermediate size (:func:`prepare`), then decodes once, applies the
steps and encodes once (:func:`execute`); ``budget`` estimates what that will cost first. A JPEG
whose first real step downscales it is decoded at 1/2, 1/4 or 1/8 (libjpeg's DCT scaling via
``IMREAD_REDUCED_*``), the largest reduction that still leaves at least the target size, so a
12 MP photo is never fully decoded to make a small one.
"""

import importlib

from .params import DEFAULT_MAX_PIXELS, FORMATS, MAX_SIDE, MAX_STEPS, as_source, normalize_output, output_key
from .schema import step_schema
from .steps import OPS, apply, caption, normalize_ops, normalize_step

# The codec and the pipeline import OpenCV: loaded on first use, so pages and requests that never
# process an image start without it (on Lambda that is most of a cold start).
_LAZY = {
    **dict.fromkeys(("Source", "decode", "encode", "probe"), "codec"),
    **dict.fromkeys(
        ("Job", "Plan", "Rendered", "Result", "execute", "plan", "prepare", "result_cache_key", "run"), "pipeline"
    ),
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_MAX_PIXELS",
    "FORMATS",
    "Job",
    "MAX_SIDE",
    "MAX_STEPS",
    "OPS",
    "Plan",
    "Rendered",
    "Result",
    "Source",
    "apply",
    "as_source",
    "caption",
    "decode",
    "encode",
    "execute",
    "normalize_ops",
    "normalize_output",
    "normalize_step",
    "output_key",
    "plan",
    "prepare",
    "probe",
    "result_cache_key",
    "run",
    "step_schema",
]
