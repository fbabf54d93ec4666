"""Key→record protocol and the records it keeps.

Besides the *current* record of every key, a store keeps the versions that uploads and restores
replaced (its *history*) and the images that were deleted (the *trash*), each until an expiry
time the service chooses. A version's bytes stay under its own blob names, so keeping it is
metadata only.

A history follows a *lineage*: the id shared by an image and every version that replaced
another under it. Deleting an image keeps its lineage in the trash; restoring it brings the
history back with it, whatever key it is restored under.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..core.errors import BackendUnavailable, GalleryError
from .defaults import BulkAndHistoryDefaults

SORTS = ("uploaded", "taken")  # listing orders: newest upload first, or latest taken first
UNDATED = "undated"  # the month of photos without a date taken (see ``ImageRecord.taken_month``)
# The "taken" order's sort value of an undated photo is its upload time plus this: below any date
# (the year 1 is -6.2e10 s), so undated photos come after every dated one, newest upload first.
UNDATED_SHIFT = -1e12
UNDATED_CEILING = UNDATED_SHIFT / 2  # sort values below this are undated ones
EARLIEST_TAKEN = datetime(1, 1, 1, tzinfo=UTC).timestamp()  # the lowest date: a range starts here at most
ALBUM_SORTS = ("taken", "uploaded", "manual")  # an album's orders: the listing's, or the owner's


class Conflict(GalleryError):
    """The key is taken and the caller asked not to replace it."""

    status = 409
    code = "conflict"


class OutcomeUnknown(BackendUnavailable):
    """The metadata backend stopped answering mid-write: the change may or may not be saved (look again before retrying)."""


@dataclass
class ImageRecord:
    key: str
    content_type: str
    bytes: int
    width: int
    height: int
    sha256: str
    created_at: float  # Unix time, seconds, of the first upload under this key
    updated_at: float  # of this version's upload; listings are newest first by this
    version: str = ""  # unique per upload: blob names and cache keys include it, so bytes never go stale
    thumb_content_type: str = "image/webp"
    thumb_width: int = 0
    thumb_height: int = 0
    labels: list[str] = field(default_factory=list)  # lower-case label names, detector output
    provenance: dict | None = None  # how a processed image was made: source_key, source_version, ops
    lineage: str = ""  # shared by an image and its history; set by the store when empty
    blob_key: str = ""  # the key its blobs were stored under, when restored under another one
    labelled: bool = False  # object detection has run on this version (even if it found nothing)
    batch: str = ""  # the upload batch it came in (see app.core.search); the gallery can show one batch
    # Renditions beside the thumbnail, made at upload (``gallery renditions`` for older images):
    # all or none, so an empty display_content_type means neither exists yet.
    thumb2x_width: int = 0
    thumb2x_height: int = 0
    display_content_type: str = ""
    display_width: int = 0
    display_height: int = 0
    color: str = ""  # dominant colour "#rrggbb" for placeholders; "" when not known
    taken_at: str | None = None  # from EXIF, ISO 8601: camera local time, with its offset when known
    exif: dict = field(default_factory=dict)  # camera facts under exif.FIELDS names; never GPS
    favourite: bool = False  # the owner's heart; a new version under the key keeps it (``put``)

    @property
    def has_renditions(self) -> bool:
        return bool(self.display_content_type)

    def taken(self) -> datetime | None:
        """``taken_at`` as a datetime (naive when the camera wrote no offset), or None."""
        try:
            return datetime.fromisoformat(self.taken_at) if self.taken_at else None
        except (TypeError, ValueError):
            return None

    def taken_time(self) -> float:
        """The sort value of the "taken" order: when the photo was taken (a time without offset read
        as UTC, so cameras' wall clocks sort as written); an undated photo sorts after every dated
        one (its upload time plus ``UNDATED_SHIFT``), so it sits under "Date unknown" at the end."""
        moment = self.taken()
        if moment is None:
            return self.updated_at + UNDATED_SHIFT
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()

    def taken_month(self) -> str:
        """The month it is counted and headed under: "2023-07" by the camera's date, or UNDATED."""
        return month_of(self.taken_at)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ImageRecord:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


def month_of(taken_at: str | None) -> str:
    """``ImageRecord.taken_month`` of a ``taken_at`` value (SQLite's month counters call it too)."""
    try:
        moment = datetime.fromisoformat(taken_at) if taken_at else None
    except (TypeError, ValueError):
        moment = None
    return f"{moment.year:04d}-{moment.month:02d}" if moment else UNDATED


FIXED = frozenset({"key", "version", "labels", "lineage", "blob_key"})  # what ``amend`` never changes


def amended(record: ImageRecord, changes: dict) -> ImageRecord:
    """``record`` with ``changes`` applied (``MetadataStore.amend``)."""
    wrong = set(changes) - (set(ImageRecord.__dataclass_fields__) - FIXED)
    if wrong:
        raise ValueError(f"amend cannot change {sorted(wrong)}")
    return ImageRecord.from_dict({**record.to_dict(), **changes})


def moved(record: ImageRecord, key: str) -> ImageRecord:
    """``record`` made current under ``key`` (a restore under another name): its blobs stay where
    they were written, so it remembers that key as ``blob_key``."""
    if record.key != key:
        record.blob_key = record.blob_key or record.key
        record.key = key
    return record


@dataclass
class Album:
    """A named set of photos. A plain album keeps its members' keys (in the owner's order); a
    *smart* album keeps a ``query`` (the gallery's filters) and is whatever that finds at read
    time. Members are keys, not versions: a replaced photo stays in, a trashed one drops out of
    the grid until it is restored, because reads join members with the current images."""

    id: str
    name: str
    description: str = ""
    query: dict | None = None  # filters of a smart album (see services.albums.QUERY_FIELDS)
    cover: str = ""  # a member's key; "" lets the page choose the first photo
    sort: str = "taken"  # one of ALBUM_SORTS
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def smart(self) -> bool:
        return self.query is not None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Album:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


def album_name_key(name: str) -> str:
    """What makes two album names the same name: case and surrounding spaces do not count."""
    return " ".join(name.split()).casefold()


@dataclass
class Retired:
    """A version that is no longer current: replaced (in the history) or deleted (in the trash)."""

    record: ImageRecord
    retired_at: float  # when it was replaced or deleted
    expires_at: float  # when purge may remove it for good


# Folders are the key prefixes ending in "/" ("trips/2024/"; "" is the whole library). Each store
# counts the photos under every folder as it writes, so a folder page never counts rows. Folders
# nested deeper than this are not kept (their photos stay reachable by the prefix filter): each
# level is one more counter in the write that adds or removes a photo.
MAX_FOLDER_DEPTH = 24


def folder_of(key: str) -> str:
    """The folder a key sits in directly: ``"a/b/"`` for ``"a/b/c.jpg"``, ``""`` at the top."""
    return key[: key.rfind("/") + 1]


def ancestors(key: str) -> list[str]:
    """The folders a key is under, outermost first, at most MAX_FOLDER_DEPTH of them."""
    parts = key.split("/")[:-1][:MAX_FOLDER_DEPTH]
    return ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def parent_of(folder: str) -> str:
    """The folder holding ``folder`` (``"a/"`` for ``"a/b/"``, ``""`` for ``"a/"``)."""
    return folder_of(folder.rstrip("/"))


@dataclass
class Folder:
    path: str  # "trips/2024/": ends with "/"
    count: int  # current photos under it, its sub-folders' included
    cover: str = ""  # a photo recently added under it ("" or gone since: the service finds another)

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]


SHARE_KINDS = ("key", "prefix", "album")  # what a share link opens: a photo, a folder, an album


@dataclass
class Share:
    """A share link. The store keeps the SHA-256 of its token, never the token (a leaked database
    opens nothing); ``id`` is the first half of that digest, so a link is found by one read."""

    id: str
    token_sha256: str
    kind: str  # one of SHARE_KINDS
    target: str  # the key, the folder ("trips/") or the album id
    created_at: float
    expires_at: float | None = None
    password_hash: str = ""  # werkzeug's generate_password_hash; "" for none
    allow_download: bool = False  # originals; otherwise display renditions only
    views: int = 0
    last_used: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Share:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


class MetadataStore(BulkAndHistoryDefaults, ABC):
    """What the gallery asks of a key→record store. Backends implement the abstract methods;
    the others have a harmless default, so nothing asks a store what it can do.

    Positions (``after``, and the second item ``list``/``trash`` return) are JSON-able values the
    store reads back; the service signs them into opaque cursors."""

    kind = ""  # the GALLERY_METADATA name

    @abstractmethod
    def put(
        self, record: ImageRecord, *, if_absent: bool = False, keep_until: float | None = None
    ) -> ImageRecord | None:
        """Make ``record`` current; return the record it replaced, if any. With ``keep_until`` the
        replaced one joins the history until then; without, it is gone and its blobs may go.
        With ``if_absent`` raise ``Conflict`` (and change nothing) when the key is taken."""

    @abstractmethod
    def get(self, key: str) -> ImageRecord | None: ...

    @abstractmethod
    def get_version(self, key: str, version: str) -> ImageRecord | None:
        """That version of ``key``: current, in its history or in the trash."""

    @abstractmethod
    def versions(self, key: str) -> list[Retired]:
        """The history of the current image under ``key``, most recently replaced first."""

    @abstractmethod
    def restore_version(
        self, key: str, version: str, *, keep_until: float | None = None
    ) -> tuple[ImageRecord, ImageRecord]:
        """Make a version from the history current again; the current one joins the history (or is
        dropped without ``keep_until``). Returns ``(restored, replaced)``; ``NotFound`` if unknown."""

    @abstractmethod
    def delete(self, key: str, *, trash_until: float | None = None) -> tuple[ImageRecord | None, list[ImageRecord]]:
        """Remove the current image; with ``trash_until`` it moves to the trash (its history stays
        with it). Returns ``(deleted or None, records dropped for good whose blobs may go)``."""

    @abstractmethod
    def trash(self, limit: int = 48, after: Any = None) -> tuple[list[Retired], Any]:
        """Deleted images, most recently deleted first, and the position of the next page."""

    @abstractmethod
    def restore_trashed(
        self, key: str, version: str, *, target: str, replace_until: float | None = None
    ) -> tuple[ImageRecord, ImageRecord | None]:
        """Bring a deleted image back as current under ``target``. If ``target`` is taken, raise
        ``Conflict`` unless ``replace_until`` is given: then the current image moves to the trash in
        its place until then, so nothing is lost. Returns ``(restored, moved to the trash or None)``;
        ``NotFound`` when the trash holds no such image."""

    @abstractmethod
    def purge(self, now: float, *, trash: bool = False, limit: int = 500) -> list[ImageRecord]:
        """Remove for good up to ``limit`` retired records whose expiry is past (with ``trash``: every
        trashed image and its history, whatever the expiry) and return them so their blobs can go."""

    @abstractmethod
    def usage(self) -> dict[str, int]:
        """Bytes and counts held: ``current_bytes``, ``history_bytes``, ``trash_bytes``, ``images``,
        ``history``, ``trashed``."""

    @abstractmethod
    def list(
        self,
        prefix: str = "",
        label: str = "",
        limit: int = 48,
        after: Any = None,
        sort: str = "uploaded",
        words: Sequence[str] = (),
        *,
        favourite: bool = False,
        camera: str = "",
        taken_from: float | None = None,
        taken_to: float | None = None,
    ) -> tuple[list[ImageRecord], Any]:
        """Newest first, and the position of the next page or None. ``sort`` "uploaded" orders by
        ``updated_at``, "taken" by ``taken_time()`` (undated photos last); then by key, descending. With ``words`` (from
        ``search.query_words``), only images with a word starting with each of them (see
        ``search.record_words``), found through an index, never a scan. With ``favourite`` only
        favourites; with ``camera`` only photos whose EXIF model is that (any case); with
        ``taken_from``/``taken_to`` only those whose ``taken_time()`` is in ``[from, to)``."""

    @abstractmethod
    def months(self) -> list[tuple[str, int]]:
        """How many current images each month holds ("2023-07", as ``ImageRecord.taken_month``),
        newest first, then UNDATED; months without images left out. Kept by the writes themselves
        (counters changed in the same transaction), so reading it costs the same at any size."""

    @abstractmethod
    def taken_position(self, before: float) -> Any:
        """A listing position (``after`` for ``list(sort="taken")``) from which the "taken" order
        goes on with the images whose ``taken_time()`` is below ``before`` (a month jump)."""

    @abstractmethod
    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        """Keys starting with ``prefix``, in key order."""

    @abstractmethod
    def set_labels(self, key: str, labels: list[str], version: str | None = None) -> None:
        """Replace the labels and mark the image ``labelled``; with ``version``, only while that
        upload is still the current one (detection takes a while, and labels of a replaced image
        would mislead)."""

    @abstractmethod
    def amend(self, key: str, version: str, changes: dict) -> bool:
        """Set fields of the current record (not its key, version or labels) while ``version`` is
        still the current upload; False when it is not (replaced or deleted meanwhile)."""

    @abstractmethod
    def count(self) -> int: ...

    @abstractmethod
    def find_by_sha256(self, sha256: str) -> ImageRecord | None:
        """A current image whose original has this SHA-256 (hex), the first by key, or None: one
        indexed read, so every upload and import can ask it. Duplicates are found by content."""

    def mend_jam(self, key: str) -> bool:
        """Remove a retired copy of ``key``'s current version (left by a write applied twice; it
        makes every later replacement fail); True when there was one. A store whose writes are
        never applied twice has none."""
        return False

    # A few named values the app shares across processes and containers (the session epoch,
    # claims on staged uploads), kept beside the records.
    @abstractmethod
    def get_state(self, name: str) -> str | None:
        """The value stored under ``name`` (read consistently), or None."""

    @abstractmethod
    def put_state(self, name: str, value: str, *, if_absent: bool = False) -> bool:
        """Store ``value`` under ``name``. With ``if_absent`` only when nothing is stored there yet,
        atomically, so that of several callers exactly one gets True (a claim)."""

    @abstractmethod
    def delete_state(self, name: str) -> None:
        """Remove ``name``; absent is not an error."""

    @abstractmethod
    def unlabelled(self, limit: int = 100, after: Any = None) -> tuple[list[str], Any]:
        """Keys of current images that detection has not labelled yet (``labelled`` false), in a
        stable order, and the position of the next page or None; found through an index."""

    @abstractmethod
    def unlabelled_count(self) -> int:
        """How many current images are not labelled yet (cheap: a counter or an index count)."""

    @abstractmethod
    def set_favourite(self, key: str, favourite: bool) -> ImageRecord | None:
        """Set or clear the current image's heart; its record (None if there is no such image)."""

    # Albums (see ``Album``). Names are unique by ``album_name_key``: ``Conflict`` otherwise.
    @abstractmethod
    def create_album(self, album: Album) -> None:
        """Store a new album; ``Conflict`` (nothing stored) when its name is taken."""

    @abstractmethod
    def get_album(self, album_id: str) -> Album | None: ...

    @abstractmethod
    def albums(self) -> list[Album]:
        """Every album, plain and smart, in name order."""

    @abstractmethod
    def update_album(self, album: Album) -> None:
        """Store the album's new fields; ``NotFound`` if it is gone, ``Conflict`` if its new name is
        another album's (then nothing changes)."""

    @abstractmethod
    def delete_album(self, album_id: str) -> bool:
        """Remove the album and its membership (never a photo); False when there was none."""

    @abstractmethod
    def add_to_album(self, album_id: str, keys: Sequence[str]) -> int:
        """Append the keys not yet members, in the order given; how many were added."""

    @abstractmethod
    def remove_from_album(self, album_id: str, keys: Sequence[str]) -> int:
        """Drop those members; how many were members."""

    @abstractmethod
    def album_keys(self, album_id: str) -> list[str]:
        """Every member key in the owner's order, current or not (trashed members stay members)."""

    @abstractmethod
    def reorder_album(self, album_id: str, keys: Sequence[str]) -> None:
        """Put these members first, in this order; the others keep their order after them."""

    @abstractmethod
    def album_images(
        self, album_id: str, limit: int = 48, after: Any = None, sort: str = "taken"
    ) -> tuple[list[ImageRecord], Any]:
        """The album's members that are current images, in ``sort`` (one of ``ALBUM_SORTS``: the
        listing orders, or "manual" for the owner's), and the position of the next page."""

    @abstractmethod
    def album_count(self, album_id: str) -> int:
        """How many members are current images."""

    # Folders (see MAX_FOLDER_DEPTH): counted by the same transaction that adds or removes a photo.
    @abstractmethod
    def folders(self, parent: str = "", limit: int = 100, after: Any = None) -> tuple[list[Folder], Any]:
        """The folders directly inside ``parent`` ("" or a path ending in "/") holding at least one
        photo, in path order, and the position of the next page or None."""

    @abstractmethod
    def get_folder(self, path: str) -> Folder | None:
        """One folder ("a/b/") with its count; None when it holds no photo."""

    @abstractmethod
    def folder_images(self, folder: str, limit: int = 48, after: Any = None) -> tuple[list[ImageRecord], Any]:
        """The photos directly in ``folder`` (not in its sub-folders), latest taken first (then by
        key, descending; ``ImageRecord.taken_time``), found through an index."""

    # Share links (``Share``): read consistently, so a revoked link is refused by every process at once.
    @abstractmethod
    def put_share(self, share: Share) -> None:
        """Store a new share link."""

    @abstractmethod
    def get_share(self, share_id: str) -> Share | None: ...

    @abstractmethod
    def shares(self) -> list[Share]:
        """Every share link, newest first."""

    @abstractmethod
    def delete_share(self, share_id: str) -> bool:
        """Remove a link for good; False when there was none."""

    @abstractmethod
    def share_used(self, share_id: str, now: float) -> None:
        """Count one view of the link and remember when (nothing if it is gone meanwhile)."""

    def check(self) -> str:
        """Health: "ok", or a short reason (no names, it is public), answered quickly (see app.runtime.health)."""
        return "ok"

    def all_labels(self) -> list[tuple[str, int]]:
        """Every label with the number of images carrying it, in label order ([] if not kept)."""
        return []

    def provision(self) -> list[str]:
        """Create what the store needs (``flask gallery init``), idempotently; say what was done."""
        return [f"metadata: {self.kind} (nothing to create)"]
