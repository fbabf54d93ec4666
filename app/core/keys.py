"""Image key rules: 1–255 characters of ``A-Z a-z 0-9 . _ - /``, no empty, ``.`` or ``..``
segment, no leading or trailing ``/``."""

import hashlib
import os
import re
import unicodedata

from .errors import InvalidKey

MAX_KEY_LENGTH = 255
_ALLOWED = re.compile(r"[A-Za-z0-9._\-/]+")


def validate_key(key: object) -> str:
    if not isinstance(key, str) or key == "":
        raise InvalidKey(f"A key is required (1–{MAX_KEY_LENGTH} characters of A–Z, a–z, 0–9, '.', '_', '-', '/').")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"The key is {len(key)} characters long; at most {MAX_KEY_LENGTH} are allowed.")
    if not _ALLOWED.fullmatch(key):
        bad = sorted({c for c in key if not _ALLOWED.fullmatch(c)})
        shown = ", ".join(repr(c) for c in bad[:5])
        raise InvalidKey(
            f"The key contains characters that are not allowed ({shown}); use A–Z, a–z, 0–9, '.', '_', '-', '/'."
        )
    if key.startswith("/") or key.endswith("/"):
        raise InvalidKey("The key must not start or end with '/'.")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKey("The key must not contain empty, '.' or '..' path segments.")
    return key


def is_valid_key(key: object) -> bool:
    try:
        validate_key(key)
    except InvalidKey:
        return False
    return True


def validate_prefix(prefix: object) -> str:
    """A listing prefix: any run of allowed characters (may end with '/'), or empty."""
    if prefix in (None, ""):
        return ""
    if not isinstance(prefix, str) or len(prefix) > MAX_KEY_LENGTH or not _ALLOWED.fullmatch(prefix):
        raise InvalidKey(f"The prefix may only contain A–Z, a–z, 0–9, '.', '_', '-', '/' (at most {MAX_KEY_LENGTH}).")
    return prefix


def _readable(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()  # é → e
    return re.sub(r"[^A-Za-z0-9._-]+", "-", plain).strip("-.")


def key_from_path(path: str) -> str:
    """A key made from a file's relative path, folders kept (``Trip 2019/Café.jpg`` →
    ``Trip-2019/Cafe.jpg``): accents dropped, runs of other characters outside the rules become
    '-', dots and dashes at a part's ends go; a name with nothing readable left (``写真.jpg``) is
    named by a short hash of itself, so distinct names stay distinct."""
    parts = []
    for part in re.split(r"[\\/]+", path):
        if not part:
            continue
        stem, ext = os.path.splitext(part)
        name = _readable(stem) or hashlib.sha256(stem.encode()).hexdigest()[:8]
        parts.append(name + ("." + _readable(ext) if _readable(ext) else ""))
    return "/".join(parts)[:MAX_KEY_LENGTH].rstrip("/.")
