"""The one door for costly image work: every decode of an untrusted or stored image and every
pixel operation is priced from the header first, then run in the work pool under a hard CPU,
wall and memory limit (see app.runtime.work).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import processing
from ..config import Settings
from ..core.units import megabytes
from ..imaging import images, renditions
from ..runtime.fairness import FairQueue
from ..runtime.work import WorkPool

if TYPE_CHECKING:
    from ..processing.budget import Estimate
    from ..recognition.base import Detector

DESCRIBE_SIZE = 1024  # longest side of the preview of an image that is not stored


@dataclass
class Preview:
    """What a page shows of an image that is not stored: a small upright WebP and the image's own size."""

    webp: bytes
    width: int
    height: int
    bytes: int

    @property
    def url(self) -> str:
        return images.data_url(images.THUMB_CONTENT_TYPE, self.webp)


def fair_queue(s: Settings) -> FairQueue:
    """How the workers are shared between clients (see app.runtime.fairness)."""
    return FairQueue(
        slots=max(1, s.work_processes),
        per_client=s.work_client_processes,
        client_queue=s.work_client_queue,
        queue_size=s.work_queue_size,
        wait=s.work_queue_wait,
        backoff=s.work_backoff,
        backoff_max=s.work_backoff_max,
        limit=s.work_timeout,
    )


class ImageWork:
    def __init__(self, settings: Settings, pool: WorkPool | None = None):
        self.settings = settings
        self.pool = pool or WorkPool(
            settings.work_processes, settings.work_timeout, megabytes(settings.work_memory_mb), fair_queue(settings)
        )

    def decode_cost(self, data: bytes, max_frames: int = 1000) -> tuple[float, int]:
        """Estimated CPU seconds and memory of decoding ``data`` and making renditions of it (the
        display rendition included), from its header, which is checked on the way."""
        s = self.settings
        layout = images.inspect(data, s.max_pixels, max_frames, s.max_decoded_bytes)
        return layout.decode_seconds() * 2.5, layout.decoded_bytes * 4

    def analyse(self, data: bytes) -> images.AnalysedImage:
        """Decode and check an upload completely, making its renditions on the way."""
        s = self.settings
        seconds, memory = self.decode_cost(data, s.max_frames)
        return self.pool.run(
            images.analyse,
            data,
            s.max_pixels,
            s.thumb_size,
            s.max_frames,
            s.display_size,
            s.display_format,
            s.max_decoded_bytes,
            seconds=seconds,
            memory=memory,
        )

    def describe(self, data: bytes) -> Preview:
        """An image that is not stored (an upload, an unsaved result) as a page shows it: its upright
        size and a preview of at most 1024 px, from one decode."""
        seconds, memory = self.decode_cost(data)
        s = self.settings
        webp, width, height = self.pool.run(
            images.preview, data, s.max_pixels, DESCRIBE_SIZE, s.max_decoded_bytes, seconds=seconds, memory=memory
        )
        return Preview(webp, width, height, len(data))

    def large_rendition(self, data: bytes) -> bytes:
        """The viewer's large rendition of a stored original: twice the display size, WebP."""
        seconds, memory = self.decode_cost(data)
        s = self.settings
        side = 2 * s.display_size
        return self.pool.run(
            renditions.large, data, s.max_pixels, side, s.max_decoded_bytes, seconds=seconds, memory=memory
        )

    def plan_pipeline(self, data: bytes, steps, fmt, quality) -> tuple[processing.Job, Estimate]:
        """The pipeline planned from the header and priced; an ``OverBudget`` when it costs too much."""
        s = self.settings
        job = processing.prepare(data, steps, fmt, quality, s.max_pixels, s.max_decoded_bytes)
        from ..processing import budget  # with the operations, and so OpenCV: loaded on first use

        return job, budget.check(job, len(data), s.work_budget, megabytes(s.work_memory_mb))

    def run_pipeline(self, data: bytes, job: processing.Job, cost: Estimate) -> processing.Result:
        return self.pool.run(processing.execute, data, job, seconds=cost.seconds, memory=cost.peak_bytes)

    def preview_rendition(self, data: bytes):
        """The display-size rendition live previews work on (see processing.preview), decoded in the pool."""
        from ..processing import preview as previews

        seconds, memory = self.decode_cost(data)
        return self.pool.run(previews.make_rendition, data, self.settings.max_pixels, seconds=seconds, memory=memory)

    def run_preview(self, rendition, steps, fmt, quality):
        """A live preview, planned on the size each step really produces, priced against the same
        budget as a full run (an ``OverBudget`` when it costs too much) and run in the pool."""
        from ..processing import budget
        from ..processing import preview as previews

        s = self.settings
        planned = previews.plan_preview(rendition, steps, fmt, quality, s.max_pixels)
        cost = budget.check(planned.job, planned.data_bytes, s.work_budget, megabytes(s.work_memory_mb))
        return self.pool.run(
            previews.execute_preview, rendition.data, planned, seconds=cost.seconds, memory=cost.peak_bytes
        )

    def prepare_for(self, detector: Detector, data: bytes):
        """What the detector needs of ``data`` (decoded and scaled locally, or checked bytes)."""
        seconds, memory = self.decode_cost(data)
        s = self.settings
        return self.pool.run(detector.prepare, data, s.max_pixels, s.max_decoded_bytes, seconds=seconds, memory=memory)
