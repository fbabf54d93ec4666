"""Steps as requests send them: validated against the registered operations before any pixel is
touched, applied one at a time, and captioned for pages."""

from __future__ import annotations

import json
from typing import Any

from ..core.errors import InvalidParameter
from . import params
from .operation import plain_caption
from .ops import OPS  # every operation, registered as the package is imported


def normalize_step(step: Any, index: int = 0) -> dict:
    """Validate one step and return it with every parameter filled in, in a fixed order."""
    if not isinstance(step, dict):
        raise InvalidParameter(f"Step {index + 1} must be an object like {{'op': 'resize', 'width': 800}}.")
    name = step.get("op")
    operation = OPS.get(name) if isinstance(name, str) else None
    if operation is None:
        raise InvalidParameter(f"Step {index + 1}: op must be one of {', '.join(OPS)}; got {name!r}.")
    return operation.normalize(step, f"Step {index + 1} ({name})")


def normalize_ops(steps: Any) -> list[dict]:
    """Validate a whole pipeline (a list, or its JSON text) before any pixel is touched."""
    if isinstance(steps, (str, bytes)):
        try:
            steps = json.loads(steps or "[]")
        except RecursionError:  # "[[[[…" nested beyond Python's stack
            raise InvalidParameter("ops must be a JSON list of steps, not nested lists.") from None
        except ValueError as exc:
            raise InvalidParameter(f"ops must be a JSON list of steps: {exc}") from None
    if steps is None:
        steps = []
    if not isinstance(steps, list):
        raise InvalidParameter("ops must be a list of steps, e.g. [{'op': 'resize', 'width': 800}].")
    if len(steps) > params.MAX_STEPS:  # read per call: the limit is one setting, wherever it is changed
        raise InvalidParameter(f"ops may have at most {params.MAX_STEPS} steps; got {len(steps)}.")
    return [normalize_step(step, i) for i, step in enumerate(steps)]


def apply(img, step: dict):
    """Apply one step (validated here, so direct callers get the same checks as the pipeline)."""
    p = normalize_step(step)
    return OPS[p["op"]].run(img, p)


def caption(step: dict) -> str:
    """A stored step as pages show it; a step of an operation no longer offered still reads plainly."""
    name = step.get("op")
    operation = OPS.get(name) if isinstance(name, str) else None
    return operation.caption(step) if operation is not None else plain_caption(step, {})
