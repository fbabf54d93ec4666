"""Processing steps as people read them on Browse: "Resize: width 800 px, fit contain"; each
operation words its own steps (``caption``)."""

from __future__ import annotations

from ..processing import caption


def describe_steps(provenance: dict | None) -> list[str]:
    ops = (provenance or {}).get("ops") or []
    return [caption(step) for step in ops if isinstance(step, dict)]
