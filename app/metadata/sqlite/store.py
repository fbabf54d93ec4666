"""``SqliteMetadataStore``: the concerns of the database, each its own module, composed into one store."""

from __future__ import annotations

from ..base import MetadataStore
from .albums import AlbumTables
from .counts import Counts
from .digests import Digests
from .favourites import Favourites
from .history import History
from .labels import Labels
from .listing import Listings
from .state import SharedState
from .trash import Trash


class SqliteMetadataStore(
    History, Trash, Labels, Favourites, Listings, AlbumTables, Counts, Digests, SharedState, MetadataStore
):
    kind = "sqlite"
