"""Sizes. MB means 1024 × 1024 bytes everywhere: in the ``*_MB`` settings, in limits and in messages."""

from __future__ import annotations

MB = 1024 * 1024


def megabytes(value: float) -> int:
    """Bytes in ``value`` MB (a ``*_MB`` setting)."""
    return int(value * MB)


def format_mb(nbytes: float) -> str:
    """A size for people: ``25 MB``, ``26.2 MB``, ``0.05 MB`` (one decimal from 1 MB up, two below)."""
    value = nbytes / MB
    text = f"{value:.1f}" if value >= 1 else f"{value:.2f}"
    return text.rstrip("0").rstrip(".") + " MB"
