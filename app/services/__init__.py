"""Use-case services: each does one job over the ports it is given (see ``Services``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Services:
    """What views and commands call, one service per use case."""

    library: Any
    history: Any
    catalog: Any
    media: Any
    processing: Any
    recognition: Any
    uploads: Any
    admin: Any
