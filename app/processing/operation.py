"""What an image operation is: one class per operation (in ``ops/``, one module each) declares
everything the rest of the pipeline asks of it, so the pipeline, the budget, previews, the API
schema and captions never name an operation:

- its bounded parameters (``params``) and the rules between them (``check``);
- its size plan: the output size for an input size, and any larger image made on the way;
- what lets a JPEG decode do less (a reorientation before it, a luma-only or smaller decode);
- how it is rewritten for a preview at display size;
- its cost: CPU nanoseconds per byte and peak working memory, in multiples of the larger image;
- its pixel function (numpy in, numpy out) and its caption.

``@register`` puts one instance of a class in :data:`OPS`, in ``order``.

The pixel code (OpenCV, numpy, ``pixels``) is imported inside ``run``: validating a request,
pricing it and drawing the pages must not load it (on Lambda that import is most of a cold start).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ..core.errors import InvalidParameter
from .params import Param

if TYPE_CHECKING:
    import numpy as np

Size = tuple[int, int]  # width, height


def pixels(size: Size) -> int:
    return size[0] * size[1]


@dataclass(frozen=True)
class Sizing:
    """What one step does to the image's size."""

    output: Size
    work: Size | None = None  # a larger image made on the way (resize with fit=cover: before its crop)

    @property
    def largest(self) -> Size:
        return self.work if self.work is not None and pixels(self.work) > pixels(self.output) else self.output


@dataclass(frozen=True)
class View:
    """A preview's view of one step: the image it gets at full size and as shown (display size)."""

    real: Size
    shown: Size
    side: int  # the display size: longest side of a preview

    @property
    def scale(self) -> float:
        """How much smaller distances (kernels, radii) are in the shown image; never above 1."""
        return min(1.0, self.shown[0] / self.real[0], self.shown[1] / self.real[1])


def odd_at_least(value: float, lo: int) -> int:
    """``value`` rounded to an odd integer ≥ ``lo``: a kernel size scaled for a preview."""
    n = max(lo, round(value))
    return n if n % 2 else n + 1


class Operation(ABC):
    name: ClassVar[str]
    help: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()
    order: ClassVar[int] = 100  # place in the step editor's menu and the API's list

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    # -- parameters -------------------------------------------------------------------------
    def normalize(self, step: dict, where: str) -> dict:
        """``step`` validated, with every parameter filled in, in a fixed order."""
        known = {p.name for p in self.params}
        unknown = sorted(set(step) - known - {"op"})
        if unknown:
            raise InvalidParameter(f"{where}: unknown parameter {unknown[0]!r}; expected {', '.join(sorted(known))}.")
        out = {"op": self.name}
        for param in self.params:
            out[param.name] = param.parse(step.get(param.name), where)
        self.check(out, where)
        return out

    def check(self, p: dict, where: str) -> None:
        """Rules between parameters, beyond each one's own range (none unless an operation says)."""
        return None

    # -- size plan ----------------------------------------------------------------------------
    def size(self, size: Size, p: dict, where: str) -> Sizing:
        """The step's effect on a ``size`` input; an ``InvalidParameter`` when it cannot apply to it."""
        return Sizing(size)

    def reorients(self, p: dict) -> bool:
        """An exact flip or quarter turn: commutes with scaling and with dropping colour, so a JPEG
        may still decode reduced, or luma only, for the step after it."""
        return False

    def needs_only_luma(self, p: dict) -> bool:
        """The step reads only the luminance: a JPEG may decode its Y plane alone."""
        return False

    def smallest_input(self, sizing: Sizing) -> Size | None:
        """The smallest input that makes the same output (a downscale's target): a JPEG may be
        decoded reduced down to it. ``None``: the step needs every source pixel."""
        return None

    # -- preview ------------------------------------------------------------------------------
    def for_preview(self, p: dict, view: View) -> dict:
        """The step rewritten for the shown image, so the preview looks like the full result at
        display size (distances in pixels shrink with ``view.scale``)."""
        return p

    # -- cost ---------------------------------------------------------------------------------
    @abstractmethod
    def cpu_ns(self, p: dict) -> float:
        """CPU nanoseconds per byte of the larger of the step's input and its largest image."""

    @abstractmethod
    def memory(self, p: dict) -> float:
        """Peak working memory on top of the input, in multiples of that larger image."""

    def channels(self, channels: int, p: dict) -> int:
        """Channels after the step (1 gray, 3 colour, 4 with alpha), from those before it."""
        return channels

    # -- pixels -------------------------------------------------------------------------------
    @abstractmethod
    def run(self, img: np.ndarray, p: dict) -> np.ndarray:
        """The pixel function, on normalised parameters."""

    def run_planned(self, img: np.ndarray, p: dict, sizing: Sizing) -> np.ndarray:
        """Run as the plan says; an operation whose output follows from the image needs no plan."""
        return self.run(img, p)

    def __call__(self, img: np.ndarray, **params: Any) -> np.ndarray:
        """Validate and run, for direct callers: ``OPS["blur"](img, size=7)``."""
        return self.run(img, self.normalize({"op": self.name, **params}, self.name))

    # -- caption ------------------------------------------------------------------------------
    def caption(self, p: dict) -> str:
        """The step as pages show it: "Resize: width 800 px, fit contain"."""
        return plain_caption(p, {param.name: param.unit for param in self.params})


def plain_caption(step: dict, units: dict[str, str]) -> str:
    name = str(step.get("op", "step")).replace("_", " ").capitalize()
    parts = [
        f"{param.replace('_', ' ')} {_caption_value(value)}{units.get(param, '')}"
        for param, value in step.items()
        if param != "op" and value is not None
    ]
    return f"{name}: {', '.join(parts)}" if parts else name


def _caption_value(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


OPS: dict[str, Operation] = {}


def register(cls: type[Operation]) -> type[Operation]:
    """Class decorator: the operation joins :data:`OPS`, kept in ``order``."""
    OPS[cls.name] = cls()
    ordered = sorted(OPS.values(), key=lambda op: op.order)
    OPS.clear()
    OPS.update((op.name, op) for op in ordered)
    return cls
