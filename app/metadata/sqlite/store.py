"""``SqliteMetadataStore``: the concerns of the database, each its own module, composed into one store."""

from __future__ import annotations

from ..base import MetadataStore
from .albums import AlbumTables
from .bulk import BulkWrites
from .counts import Counts
from .digests import Digests
from .favourites import Favourites
from .folders import Folders
from .history import History
from .labels import Labels
from .listing import Listings
from .months import Months
from .shares import Shares
from .state import SharedState
from .trash import Trash


class SqliteMetadataStore(
    BulkWrites,
    History,
    Trash,
    Labels,
    Favourites,
    Listings,
    Months,
    AlbumTables,
    Counts,
    Digests,
    SharedState,
    Folders,
    Shares,
    MetadataStore,
):
    kind = "sqlite"

    def __init__(self, path: str):
        super().__init__(path)  # the image tables first: folders index them
        self._prepare_folders()
        self._prepare_shares()
