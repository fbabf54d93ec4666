"""Opaque, signed listing cursors.

A store describes where the next page starts as a small JSON value; clients get it signed, so a
cursor they altered or made up is a clean 400 and never reaches a store's query.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from .errors import InvalidParameter

MAX_CURSOR_LENGTH = 4096
STALE_PAGE = "This link to a further page is broken or out of date. Start again from the first page."


class CursorCodec:
    def __init__(self, secret: str, salt: str = "gallery-cursor"):
        self._serializer = URLSafeSerializer(secret, salt=salt)

    def encode(self, listing: str, position: Any) -> str | None:
        """The cursor for ``position`` in ``listing`` (a name that binds it to one kind of list)."""
        return None if position is None else self._serializer.dumps([listing, position])

    def decode(self, listing: str, cursor: str | None) -> Any:
        if not cursor:
            return None
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise InvalidParameter("The cursor is not valid; start again from the first page.", page=STALE_PAGE)
        try:
            name, position = self._serializer.loads(cursor)
        except (BadSignature, ValueError, TypeError) as exc:
            raise InvalidParameter(
                "The cursor is not valid; start again from the first page.", page=STALE_PAGE
            ) from exc
        if name != listing:
            raise InvalidParameter(
                "The cursor belongs to another listing; start again from the first page.", page=STALE_PAGE
            )
        return position
