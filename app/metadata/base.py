"""Key→record protocol and the record itself."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field


@dataclass
class ImageRecord:
    key: str
    content_type: str
    bytes: int
    width: int
    height: int
    sha256: str
    created_at: float  # Unix time, seconds, of the first upload under this key
    updated_at: float  # of the latest upload; listings are newest first by this
    version: str = ""  # unique per upload: blob names and cache keys include it, so bytes never go stale
    thumb_content_type: str = "image/webp"
    thumb_width: int = 0
    thumb_height: int = 0
    labels: list[str] = field(default_factory=list)  # lower-case label names, detector output
    provenance: dict | None = None  # how a processed image was made: source_key, source_sha256, ops

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ImageRecord:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


class MetadataStore(ABC):
    """What the gallery asks of a key→record store. Backends implement the abstract methods;
    the others have a harmless default, so nothing asks a store what it can do."""

    kind = ""  # the GALLERY_METADATA name

    @abstractmethod
    def put(self, record: ImageRecord) -> ImageRecord | None:
        """Insert or replace; return the record it replaced, if any."""

    @abstractmethod
    def get(self, key: str) -> ImageRecord | None: ...

    @abstractmethod
    def delete(self, key: str) -> ImageRecord | None:
        """Remove and return the record, or None when absent."""

    @abstractmethod
    def list(
        self, prefix: str = "", label: str = "", limit: int = 48, cursor: str | None = None
    ) -> tuple[list[ImageRecord], str | None]:
        """Newest first (by ``updated_at``, then key). The cursor is opaque to callers."""

    @abstractmethod
    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        """Keys starting with ``prefix``, in key order."""

    @abstractmethod
    def set_labels(self, key: str, labels: list[str], version: str | None = None) -> None:
        """Replace the labels; with ``version``, only while that upload is still the current one
        (detection takes a while, and labels of a replaced image would mislead)."""

    @abstractmethod
    def count(self) -> int: ...

    def all_labels(self) -> list[tuple[str, int]]:
        """Every label with the number of images carrying it, in label order ([] if not kept)."""
        return []

    def provision(self) -> list[str]:
        """Create what the store needs (``flask gallery init``), idempotently; say what was done."""
        return [f"metadata: {self.kind} (nothing to create)"]
