"""Tasks for tests/test_work.py: module-level functions a worker process can import by name."""

from __future__ import annotations

import os
import time

_kept = []


def pid() -> int:
    return os.getpid()


def spin(seconds: float) -> int:
    """Burn CPU for ``seconds`` of this process's CPU time."""
    started = time.process_time()
    while time.process_time() - started < seconds:
        pass
    return os.getpid()


def keep(megabytes: int) -> int:
    """Allocate and keep ``megabytes`` (a leak), touching every page."""
    _kept.append(bytearray(b"\1") * (megabytes * 1024 * 1024))
    return os.getpid()


def allocate(megabytes: int) -> int:
    """Allocate ``megabytes`` and let them go."""
    block = bytearray(b"\1") * (megabytes * 1024 * 1024)
    del block
    return os.getpid()


def crash() -> None:
    os._exit(3)


def fail(message: str) -> None:
    raise ValueError(message)
