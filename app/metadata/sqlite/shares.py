"""Share links: one row each, found by id (the first half of the token's SHA-256)."""

from __future__ import annotations

from ..base import Share
from .connection import Connection

SHARES_SCHEMA = """
CREATE TABLE IF NOT EXISTS shares (
    id TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL,
    password_hash TEXT NOT NULL,
    allow_download INTEGER NOT NULL,
    views INTEGER NOT NULL DEFAULT 0,
    last_used REAL
)
"""
COLUMNS = tuple(Share.__dataclass_fields__)


class Shares(Connection):
    def _prepare_shares(self) -> None:
        self._connect().execute(SHARES_SCHEMA)

    @staticmethod
    def _share(row) -> Share:
        share = Share(*row)
        share.allow_download = bool(share.allow_download)
        return share

    def put_share(self, share: Share) -> None:
        values = share.to_dict()
        self._connect().execute(
            f"INSERT INTO shares ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            [values[name] for name in COLUMNS],
        )

    def get_share(self, share_id: str) -> Share | None:
        row = self._connect().execute(f"SELECT {', '.join(COLUMNS)} FROM shares WHERE id = ?", (share_id,)).fetchone()
        return self._share(row) if row else None

    def shares(self) -> list[Share]:
        rows = self._connect().execute(f"SELECT {', '.join(COLUMNS)} FROM shares ORDER BY created_at DESC, id")
        return [self._share(row) for row in rows]

    def delete_share(self, share_id: str) -> bool:
        return self._connect().execute("DELETE FROM shares WHERE id = ?", (share_id,)).rowcount == 1

    def share_used(self, share_id: str, now: float) -> None:
        self._connect().execute("UPDATE shares SET views = views + 1, last_used = ? WHERE id = ?", (now, share_id))
