"""Shared state: named values (the session epoch, claims on staged uploads)."""

from __future__ import annotations

from .connection import Connection


class SharedState(Connection):
    def get_state(self, name: str) -> str | None:
        row = self._connect().execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def put_state(self, name: str, value: str, *, if_absent: bool = False) -> bool:
        verb = "INSERT OR IGNORE" if if_absent else "INSERT OR REPLACE"
        cursor = self._connect().execute(f"{verb} INTO state (name, value) VALUES (?, ?)", (name, value))
        return cursor.rowcount == 1

    def delete_state(self, name: str) -> None:
        self._connect().execute("DELETE FROM state WHERE name = ?", (name,))
