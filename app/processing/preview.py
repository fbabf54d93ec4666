"""Previews: the pipeline run on a display-size rendition of the source instead of the source.

The rendition is the source brought down to at most ``PREVIEW_SIDE`` pixels on its longest
side (through the pipeline itself, so it is upright), made once per source and cached by the
source's sha256. A preview then costs a decode of about 2.5 MP however large the source is.

For the preview to look like the full-size result seen at display size, the steps are
rewritten for the rendition: sizes, boxes and distances (blur kernels, sharpen radius,
adaptive block size) scale with it, and a resize goes straight to its real target when that
fits the display size, so small results (a thumbnail) are exact rather than blurred up.
Everything is planned on the source's real size first, so a preview refuses what a save
would refuse (a crop box past the edge, too many pixels) with the same message.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from ..core import packing
from .codec import Source, probe
from .ops import crop_box, resize_target
from .params import PREVIEW_SIDE, normalize_output
from .pipeline import Rendered, plan, run

RENDITION_QUALITY = 90


@dataclass
class Rendition:
    """A source as previews use it: small upright bytes, and the source's own size and format."""

    data: bytes
    width: int  # the source's, upright
    height: int
    format: str  # the source's (what "as the source" resolves to)

    def pack(self) -> bytes:
        return packing.pack([self.width, self.height, self.format], self.data)

    @classmethod
    def unpack(cls, raw: bytes) -> Rendition:
        (width, height, fmt), data = packing.unpack(raw)
        return cls(data, width, height, fmt)

    def real_source(self) -> Source:
        return Source(self.format, self.width, self.height, 1, False)


def rendition_cache_key(source_sha256: str) -> str:
    return "rendition:" + source_sha256


def preview_cache_key(source_sha256: str, steps: list[dict], fmt: str | None, quality: int | None) -> str:
    spec = json.dumps([source_sha256, steps, fmt, quality, PREVIEW_SIDE], sort_keys=True, separators=(",", ":"))
    return "preview:" + hashlib.sha256(spec.encode()).hexdigest()


def make_rendition(data: bytes, max_pixels: int) -> Rendition:
    """The source itself when it already fits, else a JPEG (PNG when the source is not a JPEG,
    to keep transparency) of at most ``PREVIEW_SIDE`` pixels on the longest side."""
    source = probe(data, max_pixels)
    if max(source.width, source.height) <= PREVIEW_SIDE:
        return Rendition(data, source.width, source.height, source.format)
    box = {"op": "resize", "width": PREVIEW_SIDE, "height": PREVIEW_SIDE, "fit": "contain"}
    fmt = "jpeg" if source.format == "jpeg" else "png"
    small = run(data, [box], fmt, RENDITION_QUALITY if fmt == "jpeg" else None, max_pixels)
    return Rendition(small.data, source.width, source.height, source.format)


def _odd(value: float, lo: int) -> int:
    n = max(lo, round(value))
    return n if n % 2 else n + 1


def _size_after(width: int, height: int, step: dict, max_pixels: int) -> tuple[int, int]:
    return plan(Source("png", width, height, 1, False), [step], max_pixels).sizes[-1]


def preview_steps(steps: list[dict], real: tuple[int, int], shown: tuple[int, int], max_pixels: int) -> list[dict]:
    """``steps`` (normalised, valid for the ``real`` size) rewritten for an image of ``shown`` size."""
    out = []
    for p in steps:
        sx, sy = shown[0] / real[0], shown[1] / real[1]
        s = min(1.0, sx, sy)
        q = dict(p)
        op = p["op"]
        if op == "resize":
            _, _, ow, oh = resize_target(*real, p)
            fit = min(1.0, PREVIEW_SIDE / max(ow, oh))
            both = p["width"] is not None and p["height"] is not None
            q.update(
                width=max(1, round(ow * fit)),
                height=max(1, round(oh * fit)),
                scale=None,
                fit="cover" if both and p["fit"] == "cover" else "fill",
            )
        elif op == "crop":
            x, y, w, h = crop_box(*real, p)
            left, top = min(shown[0] - 1, int(x * sx)), min(shown[1] - 1, int(y * sy))
            q.update(
                x=left,
                y=top,
                width=max(1, min(shown[0] - left, round(w * sx))),
                height=max(1, min(shown[1] - top, round(h * sy))),
            )
        elif s < 1 and op == "blur":
            q.update(
                size=_odd(p["size"] * s, 1) if p["kind"] in ("gaussian", "median") else max(1, round(p["size"] * s)),
                sigma=p["sigma"] * s,
                sigma_space=max(1.0, p["sigma_space"] * s),
            )
        elif s < 1 and op == "sharpen":
            q["radius"] = max(0.1, p["radius"] * s)
        elif s < 1 and op == "threshold":
            q["block_size"] = _odd(p["block_size"] * s, 3)
        out.append(q)
        real = _size_after(*real, p, max_pixels)
        shown = _size_after(*shown, q, max_pixels)
    return out


@dataclass
class PreviewResult:
    """A preview as the cache holds it: the rendered preview and the size the full result will have."""

    rendered: Rendered
    full_width: int
    full_height: int

    def pack(self) -> bytes:
        return packing.pack([self.full_width, self.full_height], self.rendered.pack())

    @classmethod
    def unpack(cls, raw: bytes) -> PreviewResult:
        (width, height), rendered = packing.unpack(raw)
        return cls(Rendered.unpack(rendered), width, height)


def render_preview(
    rendition: Rendition, steps: list[dict], fmt: str | None, quality: int | None, max_pixels: int
) -> PreviewResult:
    """Plan on the real size (what a save would refuse is refused here), then run on the rendition."""
    real = rendition.real_source()
    full = plan(real, steps, max_pixels).sizes[-1]
    fmt, quality = normalize_output(fmt, quality, real.format)
    shown = probe(rendition.data, max_pixels)
    scaled = preview_steps(steps, (real.width, real.height), (shown.width, shown.height), max_pixels)
    result = run(rendition.data, scaled, fmt, quality, max_pixels)
    return PreviewResult(Rendered.of(result), *full)
