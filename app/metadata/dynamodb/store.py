"""``DynamoMetadataStore``: the concerns of the table, each its own module, composed into one store."""

from __future__ import annotations

from ..base import MetadataStore
from .albums import AlbumItems
from .favourites import Favourites
from .history import History
from .labels import Labels
from .listing import Listings
from .provisioning import Provisioning
from .state import SharedState
from .trash import Trash


class DynamoMetadataStore(
    History, Trash, Labels, Favourites, Listings, AlbumItems, SharedState, Provisioning, MetadataStore
):
    kind = "dynamodb"
