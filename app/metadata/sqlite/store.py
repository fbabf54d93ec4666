"""``SqliteMetadataStore``: the concerns of the database, each its own module, composed into one store."""

from __future__ import annotations

from ..base import MetadataStore
from .counts import Counts
from .digests import Digests
from .history import History
from .labels import Labels
from .listing import Listings
from .months import Months
from .state import SharedState
from .trash import Trash


class SqliteMetadataStore(History, Trash, Labels, Listings, Months, Counts, Digests, SharedState, MetadataStore):
    kind = "sqlite"
