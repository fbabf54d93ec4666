"""Marshmallow fields and validators whose limits are read from the code that owns them.

Each validator reads its bounds on every use (a request, or the building of an app's OpenAPI
document), so a limit changed in code changes both at once; apispec reads the same ``min``,
``max`` and ``choices`` attributes to write ``minimum``/``maximum``/``maxLength``/``enum``.
A field's ``metadata["doc"]`` (a callable) adds what a validator cannot say, also read when the
document is built (see ``apidoc.live_properties``).
"""

from __future__ import annotations

from collections.abc import Callable

from flask_smorest.fields import Upload
from marshmallow import ValidationError, fields, validate
from werkzeug.datastructures import FileStorage

from ..core import keys


def number(value) -> str:
    """1000 rather than 1e+03, 0.5 rather than 0.500000."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class Between(validate.Validator):
    """``lo <= value <= hi``, the bounds read from ``bounds()`` each time."""

    def __init__(self, bounds: Callable[[], tuple]):
        self.bounds = bounds

    @property
    def min(self):
        return self.bounds()[0]

    @property
    def max(self):
        return self.bounds()[1]

    def __call__(self, value):
        lo, hi = self.bounds()
        if not lo <= value <= hi:
            raise ValidationError(f"must be from {number(lo)} to {number(hi)}; got {number(value)}.")
        return value


class AtMost(validate.Validator):
    """At most ``limit()`` characters (text) or items (a list)."""

    min = None
    equal = None  # apispec tells a length (maxLength) from a range (maximum) by this attribute

    def __init__(self, limit: Callable[[], int], what: str = "characters"):
        self.limit = limit
        self.what = what

    @property
    def max(self):
        return self.limit()

    def __call__(self, value):
        if len(value) > self.limit():
            raise ValidationError(f"may have at most {self.limit()} {self.what}; got {len(value)}.")
        return value


class OneOf(validate.Validator):
    """One of ``choices()``."""

    def __init__(self, choices: Callable[[], tuple]):
        self.read = choices

    @property
    def choices(self):
        return tuple(self.read())

    def __call__(self, value):
        if value not in self.choices:
            raise ValidationError(f"must be one of {', '.join(self.choices)}; got {value!r}.")
        return value


class Key(fields.String):
    """A gallery key (or, with ``prefix=True``, the start of one), checked by the key rules
    themselves so the API and the store refuse the same keys with the same words (``invalid_key``)."""

    def __init__(self, *, prefix: bool = False, strip: bool = False, **kwargs):
        super().__init__(validate=AtMost(lambda: keys.MAX_KEY_LENGTH), **kwargs)
        self.check = keys.validate_prefix if prefix else keys.validate_key
        self.strip = strip  # a key typed into a page's field may carry stray spaces

    def _deserialize(self, value, attr, data, **kwargs):
        if self.strip and isinstance(value, str):
            value = value.strip()
        return self.check(value)  # a non-string is a bad key too


class ImageFile(Upload):
    """A multipart file part (documented as ``format: binary``); its bytes are read by the view."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise ValidationError("must be a file sent as a multipart/form-data part.")
        return value


class Steps(fields.Raw):
    """``ops``: a list of steps, or its JSON text in a form field. The operations themselves check
    each step (``processing.params``), so a step is refused with the operation's own words."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str | list):
            raise ValidationError("must be a list of steps, e.g. [{'op': 'resize', 'width': 800}].")
        return value
