"""What a write does when its key is taken: replace, rename (``<name>-2.<ext>``) or fail."""

from __future__ import annotations

from .errors import InvalidParameter
from .keys import MAX_KEY_LENGTH

ON_CONFLICT = ("replace", "rename", "fail")
DEFAULT_ON_CONFLICT = "replace"  # uploads and saves, as before there was a choice


def check_on_conflict(value: str | None) -> str:
    value = value or DEFAULT_ON_CONFLICT
    if value not in ON_CONFLICT:
        raise InvalidParameter(f"on_conflict must be one of {', '.join(ON_CONFLICT)}; got {value!r}.")
    return value


def numbered_key(key: str, n: int) -> str:
    """``photos/IMG_0001.jpg`` → ``photos/IMG_0001-<n>.jpg`` (the n-th name for "keep both")."""
    folder, _, name = key.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    suffix = f"-{n}" + (f".{ext}" if ext else "")
    base = (folder + "/" if folder else "") + stem
    return base[: MAX_KEY_LENGTH - len(suffix)] + suffix
