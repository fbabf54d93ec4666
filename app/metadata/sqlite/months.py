"""Images per month taken (the timeline's scrubber), and where the "taken" order reaches a month.

``months`` holds one row per month ("2023-07", or "undated") with its number of current images.
Triggers on ``images`` keep it inside the very transaction that changes the rows, whatever code
writes them (``recursive_triggers`` makes the delete half of ``INSERT OR REPLACE`` count too),
so reading the histogram is one short index read at any library size. The month is the
camera's date from the record (``base.month_of``, which each connection registers for SQL)."""

from __future__ import annotations

from ..base import UNDATED, UNDATED_SHIFT
from .connection import MONTH_OF, Connection

MONTHS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS months (month TEXT PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID",
    f"""CREATE TRIGGER IF NOT EXISTS count_month_in AFTER INSERT ON images BEGIN
    INSERT INTO months (month, n) VALUES ({MONTH_OF}(json_extract(NEW.record, '$.taken_at')), 1)
        ON CONFLICT (month) DO UPDATE SET n = n + 1;
END""",
    f"""CREATE TRIGGER IF NOT EXISTS count_month_out AFTER DELETE ON images BEGIN
    UPDATE months SET n = n - 1 WHERE month = {MONTH_OF}(json_extract(OLD.record, '$.taken_at'));
END""",
    f"""CREATE TRIGGER IF NOT EXISTS count_month_change AFTER UPDATE OF record ON images BEGIN
    UPDATE months SET n = n - 1 WHERE month = {MONTH_OF}(json_extract(OLD.record, '$.taken_at'));
    INSERT INTO months (month, n) VALUES ({MONTH_OF}(json_extract(NEW.record, '$.taken_at')), 1)
        ON CONFLICT (month) DO UPDATE SET n = n + 1;
END""",
)


def keep_month_counts(db) -> None:
    """In the caller's write transaction: create the counters and their triggers. A database from
    before them gets them filled once, and its undated images moved to the end of the "taken"
    order (they sorted by their upload time then)."""
    existed = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'months'").fetchone()
    for statement in MONTHS_SCHEMA:
        db.execute(statement)
    if existed:
        return
    month = f"{MONTH_OF}(json_extract(record, '$.taken_at'))"
    db.execute(f"UPDATE images SET taken = updated_at + ? WHERE {month} = ?", (UNDATED_SHIFT, UNDATED))  # noqa: S608
    db.execute(f"INSERT INTO months (month, n) SELECT {month} AS m, COUNT(*) FROM images GROUP BY m")  # noqa: S608


class Months(Connection):
    def months(self) -> list[tuple[str, int]]:
        rows = self._connect().execute(
            "SELECT month, n FROM months WHERE n > 0 ORDER BY month = ?, month DESC", (UNDATED,)
        )
        return [(month, n) for month, n in rows]

    def taken_position(self, before: float) -> list:
        return [float(before), ""]  # the listing's (taken, key) position: every key sorts above ""
