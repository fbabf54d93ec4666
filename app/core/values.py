"""Setting values read from text, each refusing what it cannot read with a ``ValueError`` that says
what is wrong (``app.config`` names the variable): booleans in their usual spellings only, whole
and finite numbers, rate limits as Flask-Limiter reads them."""

from __future__ import annotations

import math

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


def boolean(value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE | FALSE:
        return word in TRUE
    raise ValueError("not a boolean: use 1/0, true/false, yes/no or on/off")


def whole_number(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError("not a whole number") from None


def finite_number(value: str) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def rate_limit(value: str) -> None:
    """``off`` (or empty, ``none``, ``0``) or what Flask-Limiter reads: ``10/minute``, ``5 per second;100/hour``."""
    if value.strip().lower() in ("", "off", "none", "0"):
        return
    from limits import parse_many  # Flask-Limiter's own parser; imported only when a limit is set

    parse_many(value)
