"""Every setting the app reads, declared once: the fields of ``Settings``.

Like thumbor's ``Config.define``, each option carries its default, a description and a group,
and the README's configuration table is generated from them (``python -m app.settings_table``, ``make
docs``), so the docs cannot drift from the code. A field ``max_upload_mb`` is read from the
environment variable ``GALLERY_MAX_UPLOAD_MB``; the few that keep a conventional name say so
(``SECRET_KEY``, ``AWS_REGION``, ``HOST``, ``PORT``, ``FORWARDED_ALLOW_IPS``).

``load_settings()`` returns one frozen ``Settings``; each backend gets its own values from it
as constructor arguments, and templates see only what they display (``web.register``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from .core.units import megabytes
from .core.values import boolean, finite_number, whole_number
from .options import (
    _AwsSettings,
    _BackendsSettings,
    _CacheSettings,
    _LimitsSettings,
    _RecognitionSettings,
    _SecuritySettings,
    _ServerSettings,
    _WorkBudgetSettings,
)


@dataclass(frozen=True)
class Settings(
    _ServerSettings,
    _SecuritySettings,
    _RecognitionSettings,
    _AwsSettings,
    _CacheSettings,
    _WorkBudgetSettings,
    _LimitsSettings,
    _BackendsSettings,
):
    """Every setting, in one frozen object; the groups above are only its parts (dataclasses list
    the fields of the last base first, so the table keeps the order they are declared in)."""

    @property
    def labels_after_upload(self) -> bool:
        """Whether uploads leave labelling to the bucket's event (see ``label_async``)."""
        if self.label_async == "auto":
            return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
        if self.label_async not in ("0", "1"):
            raise SystemExit(f"GALLERY_LABEL_ASYNC={self.label_async!r} is not one of: 0, 1, auto")
        return self.label_async == "1"

    @property
    def max_upload_bytes(self) -> int:
        return megabytes(self.max_upload_mb)

    @property
    def max_body_bytes(self) -> int:
        """The largest file the app takes in a request body (above it: the direct upload to S3)."""
        limit = self.max_upload_bytes
        return min(limit, megabytes(self.max_body_mb)) if self.max_body_mb > 0 else limit

    @property
    def redirect_over_bytes(self) -> int | None:
        return megabytes(self.redirect_over_mb) if self.redirect_over_mb > 0 else None

    @property
    def quota_bytes(self) -> int | None:
        return int(self.quota_gb * 1024**3) if self.quota_gb > 0 else None

    @property
    def max_decoded_bytes(self) -> int:
        return megabytes(self.max_decoded_mb)

    @property
    def cache_capacity_bytes(self) -> int:
        return megabytes(self.cache_capacity_mb)


class StartupError(SystemExit):
    """The configuration cannot work; the message lists every problem found, each naming the
    setting that fixes it. Settings that cannot be read are the first such problems, so the error
    lives here, beside ``load_settings``, where ``gunicorn.conf.py`` meets it too."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("The gallery cannot start:\n" + "\n".join(f"- {problem}" for problem in problems))


_PARSERS: dict[str, Callable[[str], Any]] = {"str": str, "int": whole_number, "float": finite_number, "bool": boolean}
# The Python values an override may give instead of a string (a bool is no number here).
_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "float": (float, int), "bool": (bool,)}
_KINDS = {"str": "text", "int": "a whole number", "float": "a number", "bool": "a boolean"}


@dataclass(frozen=True)
class Option:
    name: str  # the environment variable
    attr: str  # the Settings field
    default: Any
    description: str
    group: str
    type: str  # the field's type name: str, int, float or bool
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    check: Callable[[str], None] | None = None

    def read(self, raw: Any) -> Any:
        """The value of ``raw`` (a string as the environment gives it, or a Python value of the
        option's type); ``ValueError`` saying what is wrong with it."""
        if isinstance(raw, str):
            value = _PARSERS[self.type](raw)
        elif isinstance(raw, _TYPES[self.type]) and not (self.type != "bool" and isinstance(raw, bool)):
            value = raw
        else:
            raise ValueError(f"{_KINDS[self.type]} is needed, not a Python {type(raw).__name__}")
        if self.choices and value not in self.choices:
            raise ValueError(f"not one of: {', '.join(self.choices)}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"below the smallest value, {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"above the largest value, {self.maximum:g}")
        if self.check:
            self.check(value)
        return value


OPTIONS: list[Option] = [
    Option(
        name=f.metadata["env"] or f"GALLERY_{f.name.upper()}",
        attr=f.name,
        default=f.default,
        description=f.metadata["description"],
        group=f.metadata["group"],
        type=f.type,
        choices=f.metadata["choices"],
        minimum=f.metadata["minimum"],
        maximum=f.metadata["maximum"],
        check=f.metadata["check"],
    )
    for f in fields(Settings)
]


def load_settings(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Every option from ``environ`` (default: the process environment; unset or empty means the
    default), then from ``overrides`` keyed by the same variable names: strings there are read like
    the environment's, other values must be of the option's type. Other keys are ignored.

    Any value that cannot be read (``GALLERY_MEMCACHED_TLS=ture``, ``GALLERY_CACHE=memcahced``, a
    malformed or out-of-range number) raises ``StartupError`` naming every such value at once."""
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    values, problems = {}, []
    for option in OPTIONS:
        if option.name in overrides:
            raw = overrides[option.name]
        else:
            raw = environ.get(option.name)
            if option.name == "AWS_REGION" and not raw:
                raw = environ.get("AWS_DEFAULT_REGION")
            if not raw:
                continue
        try:
            values[option.attr] = option.read(raw)
        except ValueError as exc:
            problems.append(f"{option.name}={raw!r} is not valid: {exc}.")
    if problems:
        raise StartupError(problems)
    return Settings(**values)
