"""Health checks that answer quickly even while a backend hangs.

Each backend's cheap ``check()`` runs in its own thread; the report waits at most ``timeout``
for them and calls a check that has not answered by then hung. A check still running is never
started again, and a report is reused for ``max_age`` seconds, so a flood of probes costs at
most one outstanding call per backend.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait


class HealthChecks:
    def __init__(self, checks: dict[str, Callable[[], str]], timeout: float = 0.5, max_age: float = 3.0):
        self.checks = checks
        self.timeout = timeout
        self.max_age = max_age
        self._pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="health")
        self._running: dict[str, Future] = {}
        self._lock = threading.Lock()  # probes arriving during a refresh wait for it, then share it
        self._report: dict | None = None
        self._made_at = 0.0

    def report(self) -> dict:
        """``{"status": "ok" | "degraded", "checks": {name: "ok" or why not}}``."""
        with self._lock:
            if self._report is None or time.monotonic() - self._made_at >= self.max_age:
                self._report = self._refresh()
                self._made_at = time.monotonic()
            return self._report

    def _refresh(self) -> dict:
        for name, check in self.checks.items():
            if name not in self._running or self._running[name].done():
                self._running[name] = self._pool.submit(check)
        wait(self._running.values(), timeout=self.timeout)
        results = {name: self._outcome(future) for name, future in self._running.items()}
        status = "ok" if all(result == "ok" for result in results.values()) else "degraded"
        return {"status": status, "checks": results}

    def _outcome(self, future: Future) -> str:
        if not future.done():
            return f"no answer within {self.timeout:g} s"
        exc = future.exception()
        return f"failed ({type(exc).__name__})" if exc else future.result()
