"""The pipeline: plan the steps from the header, decode once, apply, encode once; and the
cached form of a result."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from ..core import packing
from ..core.errors import InvalidParameter
from ..imaging import images
from .codec import Source, decode, encode, probe
from .operation import Size, Sizing, pixels
from .params import DEFAULT_MAX_PIXELS, FORMATS, normalize_output
from .steps import OPS, normalize_ops


@dataclass
class Plan:
    sizes: list[Size]  # source size, then the size after each step
    reduce: int  # JPEG DCT scaling factor for the decode (1 = full size)
    luma_only: bool = False  # JPEG whose first step drops colour: decode just the Y plane
    sizings: list[Sizing] = field(default_factory=list)  # what each step does to the size
    rescaled_at: int | None = None  # the step that brings a reduced decode to its planned size


def plan(source: Source, steps: list[dict], max_pixels: int = DEFAULT_MAX_PIXELS) -> Plan:
    """Every intermediate size (checked against the pixel limit) and how far the decode may shrink."""
    sizes, sizings = [(source.width, source.height)], []
    for i, p in enumerate(steps):
        where = f"Step {i + 1} ({p['op']})"
        sizing = OPS[p["op"]].size(sizes[-1], p, where)
        big = pixels(sizing.largest)
        if big > max_pixels:
            raise InvalidParameter(
                f"{where}: the result would have {big:,} pixels; at most {max_pixels:,} are allowed."
            )
        sizings.append(sizing)
        sizes.append(sizing.output)
    reduce, luma_only, rescaled_at = 1, False, None
    # Exact quarter turns and flips commute with scaling and with dropping colour, so they may
    # come before the step that lets the decoder do less.
    first = next((i for i, p in enumerate(steps) if not OPS[p["op"]].reorients(p)), None)
    if source.format == "jpeg" and first is not None:
        operation, p = OPS[steps[first]["op"]], steps[first]
        luma_only = operation.needs_only_luma(p)
        target = operation.smallest_input(sizings[first])
        if target is not None:
            rescaled_at = first
            (cw, ch), (sw, sh) = sizes[first], target
            reduce = next((f for f in (8, 4, 2) if -(-cw // f) >= sw and -(-ch // f) >= sh), 1)
    return Plan(sizes, reduce, luma_only, sizings, rescaled_at)


@dataclass
class Result:
    data: bytes
    format: str
    content_type: str
    quality: int | None
    width: int
    height: int
    source: Source
    steps: list[dict]
    reduce: int
    luma_only: bool
    timings: dict[str, float]  # milliseconds: decode, ops, encode, total


@dataclass
class Job:
    """A validated pipeline for one source, planned from its header: what ``execute`` runs (and what
    a worker process receives)."""

    steps: list[dict]
    fmt: str
    quality: int | None
    source: Source
    plan: Plan


def prepare(
    data: bytes,
    ops: Any,
    fmt: Any = None,
    quality: Any = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_decoded: int = images.DEFAULT_MAX_DECODED,
) -> Job:
    """Validate everything and plan the work from the header; no pixel is decoded."""
    steps = normalize_ops(ops)
    normalize_output(fmt, quality)  # reject a bad format/quality before reading the image
    source = probe(data, max_pixels, max_decoded)
    fmt, quality = normalize_output(fmt, quality, source.format, source.alpha)
    return Job(steps, fmt, quality, source, plan(source, steps, max_pixels))


def execute(data: bytes, job: Job) -> Result:
    """Decode once, apply the steps in order, encode once."""
    t0 = time.perf_counter()
    img = decode(data, job.source, job.plan.reduce, job.plan.luma_only)
    t2 = time.perf_counter()
    for p, sizing in zip(job.steps, job.plan.sizings, strict=True):
        img = OPS[p["op"]].run_planned(img, p, sizing)
    t3 = time.perf_counter()
    encoded = encode(img, job.fmt, job.quality)
    t4 = time.perf_counter()
    timings = {
        "decode": (t2 - t0) * 1000,
        "ops": (t3 - t2) * 1000,
        "encode": (t4 - t3) * 1000,
        "total": (t4 - t0) * 1000,
    }
    h, w = img.shape[:2]
    return Result(
        encoded,
        job.fmt,
        FORMATS[job.fmt],
        job.quality,
        w,
        h,
        job.source,
        job.steps,
        job.plan.reduce,
        job.plan.luma_only,
        timings,
    )


def run(
    data: bytes,
    ops: Any,
    fmt: Any = None,
    quality: Any = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_decoded: int = images.DEFAULT_MAX_DECODED,
) -> Result:
    """Validate everything, then decode once, apply the steps in order, encode once."""
    return execute(data, prepare(data, ops, fmt, quality, max_pixels, max_decoded))


@dataclass
class Rendered:
    """A pipeline result as the web layer and the cache see it."""

    data: bytes
    content_type: str
    format: str
    width: int
    height: int
    timings: dict[str, float]
    reduce: int = 1
    cached: bool = False

    @classmethod
    def of(cls, result: Result) -> Rendered:
        return cls(
            result.data, result.content_type, result.format, result.width, result.height, result.timings, result.reduce
        )

    def pack(self) -> bytes:
        return packing.pack(
            [self.content_type, self.format, self.width, self.height, self.timings, self.reduce], self.data
        )

    @classmethod
    def unpack(cls, raw: bytes) -> Rendered:
        (content_type, fmt, width, height, timings, reduce), data = packing.unpack(raw)
        return cls(data, content_type, fmt, width, height, timings, reduce, cached=True)


def result_cache_key(source_sha256: str, steps: list[dict], fmt: str | None, quality: int | None) -> str:
    """One key per (source, normalised steps, output): equal requests share one cache entry."""
    spec = json.dumps([source_sha256, steps, fmt, quality], sort_keys=True, separators=(",", ":"))
    return "processed:" + hashlib.sha256(spec.encode()).hexdigest()
