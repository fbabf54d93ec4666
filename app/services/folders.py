"""The folder view: the key prefixes ending in "/" as folders, with breadcrumbs, sub-folders (their
counts kept by the metadata store as it writes, so nothing is counted here) with a cover, and the
photos directly in a folder."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.cursors import CursorCodec
from ..core.keys import validate_key
from ..metadata.base import Folder, ImageRecord
from .images import Images

SUBFOLDER_PAGE = 120  # sub-folders per page, each with a cover (one read each)


def folder_path(value: str | None) -> str:
    """A folder named in a URL ("trips/2024" or "trips/2024/") as stored ("trips/2024/"); "" the top.
    ``InvalidKey`` (400) when it breaks the key rules."""
    value = (value or "").strip().rstrip("/")
    return validate_key(value) + "/" if value else ""


@dataclass
class SubFolder:
    folder: Folder
    cover: ImageRecord | None  # None when it emptied meanwhile


@dataclass
class FolderView:
    path: str
    count: int  # photos under it, sub-folders included
    crumbs: list[tuple[str, str]]  # (name, path) from the top down to this folder
    subfolders: list[SubFolder] = field(default_factory=list)
    more_folders: str | None = None  # the last sub-folder shown, when more follow
    photos: list[ImageRecord] = field(default_factory=list)
    next_cursor: str | None = None


class Folders:
    def __init__(self, images: Images, cursors: CursorCodec, page_size: int):
        self.images = images
        self.metadata = images.metadata
        self.cursors = cursors
        self.page_size = page_size

    def view(
        self, path: str, cursor: str | None = None, folders_after: str | None = None, limit: int | None = None
    ) -> FolderView:
        path = folder_path(path)
        after = folder_path(folders_after) if folders_after else None
        if after is not None and not after.startswith(path):
            after = None
        folders, more = self.metadata.folders(path, SUBFOLDER_PAGE, after)
        photos, position = self.metadata.folder_images(
            path, limit or self.page_size, self.cursors.decode(f"folder:{path}", cursor)
        )
        return FolderView(
            path=path,
            count=self.count(path),
            crumbs=crumbs(path),
            subfolders=[SubFolder(f, self.cover(f)) for f in folders],
            more_folders=more,
            photos=photos,
            next_cursor=self.cursors.encode(f"folder:{path}", position),
        )

    def count(self, path: str) -> int:
        if not path:
            return self.metadata.count()
        folder = self.metadata.get_folder(path)
        return folder.count if folder else 0

    def cover(self, folder: Folder) -> ImageRecord | None:
        """The folder's cover: the photo the store noted, or (gone since) the first key under it."""
        if folder.cover:
            record = self.metadata.get(folder.cover)
            if record is not None and record.key.startswith(folder.path):
                return record
        keys = self.metadata.suggest(folder.path, 1)
        return self.metadata.get(keys[0]) if keys else None


def crumbs(path: str) -> list[tuple[str, str]]:
    parts = path.rstrip("/").split("/") if path else []
    return [(name, "/".join(parts[: i + 1]) + "/") for i, name in enumerate(parts)]
