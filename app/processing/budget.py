"""The work budget of a processing request, estimated from the header and the steps before any
pixel is decoded: CPU seconds (decode, every step, encode) and peak working memory.

Each step's cost is declared by its operation (``cpu_ns``, ``memory``, ``channels`` in ``ops/``);
the image's size and bytes per pixel are followed through the plan, so a blur after a resize is
priced at the resized size and a rotation at the canvas it grows to. The numbers were measured
with OpenCV 4.13 on one x86-64 core at 12 MP in 8 and 16 bits, gray, BGR and BGRA, and rounded
up (bench/budget.py prints estimates beside measured runs). A request over the budget is refused with a 422 that names the costliest part
and how far to resize first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..core.errors import OverBudget
from ..core.units import format_mb
from .operation import Size
from .pipeline import Job
from .steps import OPS

# CPU nanoseconds per byte of the image encoded (OpenCV: PNG at compression 3, WebP at its default
# method; rounded up from 12 MP photos with and without alpha).
ENCODE_NS = {"jpeg": 1.5, "webp": 25.0, "png": 45.0}
DECODE_MEMORY = 2.5  # the decoded image and a converted or upright copy of it
ENCODE_MEMORY = 1.5  # the encoder's buffers and its output
FLATTEN_MEMORY = 10.0  # JPEG of an image with alpha: flattened onto white in float32


@dataclass(frozen=True)
class Estimate:
    seconds: float  # CPU
    peak_bytes: int  # working memory, the source bytes included
    costliest: str  # the part that costs the most CPU: "decoding", "step 2 (sharpen)", "encoding as PNG"


def estimate(job: Job, data_bytes: int) -> Estimate:
    layout = job.source.layout
    sample = layout.sample_bytes
    channels = 1 if job.plan.luma_only else layout.channels
    shrink = job.plan.reduce  # a JPEG decoded at 1/reduce stays that small until the step that rescales it

    def nbytes(size: Size) -> int:
        return -(-size[0] // shrink) * -(-size[1] // shrink) * channels * sample

    parts = {"decoding": layout.decode_seconds()}
    current = nbytes(job.plan.sizes[0])
    peak = current * DECODE_MEMORY
    for i, (p, sizing) in enumerate(zip(job.steps, job.plan.sizings, strict=True)):
        operation = OPS[p["op"]]
        channels = operation.channels(channels, p)
        if i == job.plan.rescaled_at:
            shrink = 1
        largest = max(current, nbytes(sizing.largest))
        parts[f"step {i + 1} ({p['op']})"] = operation.cpu_ns(p) * largest / 1e9
        peak = max(peak, current + operation.memory(p) * largest)
        current = nbytes(sizing.output)
    parts[f"encoding as {job.fmt.upper()}"] = ENCODE_NS[job.fmt] * current / 1e9
    flatten = job.fmt == "jpeg" and channels == 4
    peak = max(peak, current * (1 + (FLATTEN_MEMORY if flatten else ENCODE_MEMORY)))
    costliest = max(parts, key=parts.get)
    return Estimate(sum(parts.values()), int(peak + 2 * data_bytes), costliest)


def check(job: Job, data_bytes: int, max_seconds: float, max_bytes: int) -> Estimate:
    """The estimate, or an ``OverBudget`` that says how far to resize first."""
    found = estimate(job, data_bytes)
    over = max(found.seconds / max_seconds, found.peak_bytes / max_bytes)
    if over <= 1:
        return found
    costs = []
    if found.seconds > max_seconds:
        costs.append(f"about {found.seconds:.1f} CPU seconds (the limit is {max_seconds:g})")
    if found.peak_bytes > max_bytes:
        costs.append(f"about {format_mb(found.peak_bytes)} of memory (the limit is {format_mb(max_bytes)})")
    # Every part's cost grows with the pixel count, so the width shrinks with the square root.
    width = job.source.width
    suggested = max(100, int(width / math.sqrt(over) * 0.9) // 100 * 100)
    hint = " or choose JPEG or WebP output" if found.costliest == "encoding as PNG" else " or lighter steps"
    raise OverBudget(
        f"This request would cost {' and '.join(costs)} on a {width}×{job.source.height} image; "
        f"{found.costliest} costs the most. Resize it first: start with a resize step to {suggested} px wide "
        f"or less{hint}."
    )
