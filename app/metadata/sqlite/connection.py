"""The database connection: one per thread (WAL mode), and serialised write transactions."""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager

from ..base import month_of

# 16 KiB pages, not SQLite's 4 KiB: the write-ahead log takes two system calls per page, which
# were a tenth of a bulk write's CPU; a page of the gallery reads the same rows either way.
PAGE_BYTES = 16384
MONTH_OF = "taken_month"  # base.month_of, callable from SQL on every connection (months' triggers)


class Connection:
    """What every part of the store stands on; each concern is a subclass of this."""

    def __init__(self, path: str):
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._local = threading.local()

    def _connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            db.execute(f"PRAGMA page_size={PAGE_BYTES}")  # a new database's; an existing one keeps its own
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA recursive_triggers=ON")  # INSERT OR REPLACE's deletes keep the counters too
            db.create_function(MONTH_OF, 1, month_of, deterministic=True)
            self._local.db = db
        return db

    @contextmanager
    def _write(self):
        """One serialised read-modify-write transaction."""
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def check(self) -> str:
        """Health: 'ok' when the database answers a one-row read (WAL: never blocked by a writer)."""
        try:
            self._connect().execute("SELECT 1 FROM images LIMIT 1").fetchall()
            return "ok"
        except sqlite3.Error as exc:
            return f"failed ({type(exc).__name__})"
