"""Finding a current image by its content: the SHA-256 of its bytes, through an index on the
record's ``sha256`` (``schema.DIGEST_INDEX``), so a duplicate check is one index probe."""

from __future__ import annotations

from ..base import ImageRecord
from .rows import Rows


class Digests(Rows):
    def find_by_sha256(self, sha256: str) -> ImageRecord | None:
        row = (
            self._connect()
            .execute(
                "SELECT record FROM images INDEXED BY images_sha256 WHERE json_extract(record, '$.sha256') = ?"
                " ORDER BY key LIMIT 1",  # the few images with the same bytes, sorted
                (sha256,),
            )
            .fetchone()
        )
        return self._row(row[0]) if row else None
