"""What an operation costs, declared next to it in ``ops.py`` with ``@costs(...)``, so a new
operation states its cost where it is written; ``budget.py`` adds the costs of a pipeline up.

The numbers were measured with OpenCV 4.13 on one x86-64 core at 12 MP in 8 and 16 bits, gray,
BGR and BGRA, and rounded up (bench/budget.py prints estimates beside measured runs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Cost:
    # CPU nanoseconds per byte of the larger of the step's input and output image
    ns: Callable[[dict], float]
    # peak working memory on top of the input, in multiples of that larger image
    memory: Callable[[dict], float]
    # channels after the step (1 gray, 3 colour, 4 with alpha), from those before it
    channels: Callable[[int, dict], int]


def _constant(value: float) -> Callable[[dict], float]:
    return lambda p: value


def costs(ns, memory, channels=None):
    """Decorate an operation with its cost. ``ns`` and ``memory`` are numbers or functions of the
    step's parameters; ``channels`` a function ``(channels, params) -> channels`` (default: unchanged)."""
    cost = Cost(
        ns if callable(ns) else _constant(ns),
        memory if callable(memory) else _constant(memory),
        channels or (lambda c, p: c),
    )

    def mark(fn):
        fn.cost = cost
        return fn

    return mark
