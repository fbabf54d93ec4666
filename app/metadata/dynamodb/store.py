"""``DynamoMetadataStore``: the concerns of the table, each its own module, composed into one store."""

from __future__ import annotations

from ..base import MetadataStore
from .albums import AlbumItems
from .favourites import Favourites
from .history import History
from .labels import Labels
from .listing import Listings
from .provisioning import Provisioning
from .shares import ShareItems
from .state import SharedState
from .trash import Trash


class DynamoMetadataStore(
    History, Trash, Labels, Favourites, Listings, AlbumItems, SharedState, ShareItems, Provisioning, MetadataStore
):
    kind = "dynamodb"

    def provision(self, wait: bool = True) -> list[str]:
        done = super().provision(wait)
        counted = self.index_folders()
        return done + ([f"counted the folders of {counted} image(s) written before folders existed"] if counted else [])
