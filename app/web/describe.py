"""Processing steps as people read them on Browse: "Resize: width 800 px, fit contain"."""

from __future__ import annotations

UNITS = {"width": " px", "height": " px", "radius": " px", "size": " px", "angle": "°", "x": " px", "y": " px"}


def _value(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def describe_step(step: dict) -> str:
    """One normalised step (``{"op": "resize", "width": 800, ...}``) as a line of text."""
    name = str(step.get("op", "step")).replace("_", " ").capitalize()
    parts = [
        f"{param.replace('_', ' ')} {_value(value)}{UNITS.get(param, '')}"
        for param, value in step.items()
        if param != "op" and value is not None
    ]
    return f"{name}: {', '.join(parts)}" if parts else name


def describe_steps(provenance: dict | None) -> list[str]:
    ops = (provenance or {}).get("ops") or []
    return [describe_step(step) for step in ops if isinstance(step, dict)]
