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

A preview never works on more than the display size, whatever the source: a step that would
grow the shown image past ``PREVIEW_SIDE`` (a rotation with ``expand``) gets the image brought
down first so that its result fits, and the steps after it scale with the smaller image.
:func:`plan_preview` plans that on the rendition's header, so the preview is priced
(``budget.check(plan.job, plan.data_bytes, ...)``) on the sizes its steps really produce before
:func:`execute_preview` (picklable arguments, for a worker process) touches a pixel.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from ..core import packing
from .codec import Source, probe
from .operation import Size, View
from .params import PREVIEW_SIDE, normalize_output
from .pipeline import Job, Rendered, execute, plan, run
from .steps import OPS, normalize_step

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


# A downscale the planner puts before a step that would outgrow the display (a step of its own,
# so budget and execution see it like any other).
SHRINK = {"op": "resize", "fit": "fill", "interpolation": "area"}
FIT_ATTEMPTS = 3  # rounding (a rotation's bounds round up) may need a pixel less


def preview_steps(steps: list[dict], real: Size, shown: Size, max_pixels: int) -> list[dict]:
    """``steps`` (normalised, valid for the ``real`` size) rewritten for an image of ``shown`` size,
    with a downscale before any step that would make the shown image larger than the display."""
    out = []
    for i, p in enumerate(steps):
        operation = OPS[p["op"]]
        where = f"Step {i + 1} ({p['op']})"
        q = operation.for_preview(p, View(real, shown, PREVIEW_SIDE))
        grown = max(operation.size(shown, q, where).largest)
        for _ in range(FIT_ATTEMPTS):
            if grown <= PREVIEW_SIDE:
                break
            factor = PREVIEW_SIDE / grown
            smaller = (max(1, int(shown[0] * factor)), max(1, int(shown[1] * factor)))
            if smaller == shown:
                smaller = (max(1, shown[0] - 1), max(1, shown[1] - 1))
            q_smaller = operation.for_preview(p, View(real, smaller, PREVIEW_SIDE))
            grown_smaller = max(operation.size(smaller, q_smaller, where).largest)
            if grown_smaller >= grown:  # its size does not follow its input (a resize's target): leave it
                break
            out.append(normalize_step({**SHRINK, "width": smaller[0], "height": smaller[1]}))
            shown, q, grown = smaller, q_smaller, grown_smaller
        out.append(normalize_step(q, i))
        real = operation.size(real, p, where).output
        shown = operation.size(shown, q, where).output
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


@dataclass
class PreviewPlan:
    """A preview planned from the rendition's header: what to run, priced before it runs."""

    job: Job  # the steps rewritten for the rendition, planned on its size
    full_width: int  # the size a save would have
    full_height: int
    data_bytes: int  # the rendition's, for ``budget.check``


def plan_preview(
    rendition: Rendition, steps: list[dict], fmt: str | None, quality: int | None, max_pixels: int
) -> PreviewPlan:
    """Plan on the real size (what a save would refuse is refused here), then on the rendition."""
    real = rendition.real_source()
    full = plan(real, steps, max_pixels).sizes[-1]
    shown = probe(rendition.data, max_pixels)  # keeps the source's transparency, if it had any
    fmt, quality = normalize_output(fmt, quality, real.format, shown.alpha)
    scaled = preview_steps(steps, (real.width, real.height), (shown.width, shown.height), max_pixels)
    job = Job(scaled, fmt, quality, shown, plan(shown, scaled, max_pixels))
    return PreviewPlan(job, *full, len(rendition.data))


def execute_preview(data: bytes, planned: PreviewPlan) -> PreviewResult:
    """Run a planned preview on the rendition's bytes."""
    return PreviewResult(Rendered.of(execute(data, planned.job)), planned.full_width, planned.full_height)


def render_preview(
    rendition: Rendition,
    steps: list[dict],
    fmt: str | None,
    quality: int | None,
    max_pixels: int,
    max_seconds: float | None = None,
    max_bytes: int | None = None,
) -> PreviewResult:
    """Plan, price when given a budget (an ``OverBudget`` when it costs too much), run."""
    planned = plan_preview(rendition, steps, fmt, quality, max_pixels)
    if max_seconds is not None and max_bytes is not None:
        from . import budget

        budget.check(planned.job, planned.data_bytes, max_seconds, max_bytes)
    return execute_preview(rendition.data, planned)
