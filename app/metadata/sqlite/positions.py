"""Listing positions (cursors) as the store writes them, checked when they come back."""

from __future__ import annotations

from ...core.errors import InvalidParameter


def _position(after, names: tuple[str, ...]) -> tuple:
    """A listing position as the store wrote it: a list of (number, str...) values."""
    if not isinstance(after, list) or len(after) != len(names):
        raise InvalidParameter("The cursor is not valid; start again from the first page.")
    number, *rest = after
    if not isinstance(number, int | float) or isinstance(number, bool) or not all(isinstance(x, str) for x in rest):
        raise InvalidParameter("The cursor is not valid; start again from the first page.")
    return (float(number), *rest)
