"""What every store offers for the bulk write and the capped, paged version history, with defaults
built on the protocol's other methods (``base.MetadataStore``), so a store without its own still
answers: the SQLite and DynamoDB stores do each one in a few reads and writes."""

from __future__ import annotations

from typing import Any


class BulkAndHistoryDefaults:
    def put_many(self, records, *, keep_until: float | None = None) -> list:
        """``put`` of many records at once (import, benchmarks), batched by the store; a key already
        taken is replaced (joining the history with ``keep_until``). Returns the replaced records
        that were not kept (their blobs may go)."""
        dropped = []
        for record in records:
            previous = self.put(record, keep_until=keep_until)
            if previous is not None and keep_until is None:
                dropped.append(previous)
        return dropped

    def history_page(self, key: str, limit: int = 48, after: Any = None) -> tuple[list, Any]:
        """One page of ``versions(key)`` and the position of the next page or None."""
        items = self.versions(key)
        start = after if isinstance(after, int) and not isinstance(after, bool) and after >= 0 else 0
        more = len(items) > start + limit
        return items[start : start + limit], (start + limit if more else None)

    def trim_history(self, key: str, keep: int) -> list:
        """Remove for good the oldest versions of ``key``'s history beyond the newest ``keep``, count
        them (``dropped_versions``) and return them so their blobs can go."""
        return []

    def dropped_versions(self, key: str) -> int:
        """How many versions of ``key``'s history ``trim_history`` removed."""
        return 0
