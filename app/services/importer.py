"""Importing a library from the server's disk (``flask --app wsgi gallery import DIR``).

Keys are the files' paths relative to DIR, folders kept (``keys.key_from_path``). A file whose
bytes are already stored, anywhere in the gallery or earlier in this import, is skipped as a
duplicate and named with the key holding them; a file whose key already holds its bytes (or a
"keep both" name of it) is already imported, so a run stopped at any point (even ``kill -9``) and
started again stores nothing twice: it only ever writes a key after checking what it holds.

The costly part, decoding and renditions, runs in ``jobs`` worker processes (a ``WorkPool`` of
the import's own size, fed by as many threads); reading, hashing, the duplicate checks and every
metadata write stay in this process, in file order, so the first copy of a photo is the one kept.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..core.errors import GalleryError, InvalidKey
from ..core.keys import key_from_path, validate_key, validate_prefix
from ..core.search import new_batch
from ..core.units import megabytes
from ..imaging import formats, images
from ..runtime.fairness import FairQueue
from ..runtime.work import WorkPool
from .imagework import ImageWork
from .library import Library

# What an import reads: the extensions of the accepted formats and their usual spellings.
# Everything else in a camera dump (videos, .THM, .xmp sidecars) is counted and passed over.
EXTENSIONS = frozenset(
    {f.extension for f in formats.TABLE}
    | {a for f in formats.TABLE for a in f.also if a.startswith(".")}
    | {".jpeg", ".jpe", ".tiff"}
)

STORED, ALREADY, DUPLICATE, FAILED = "stored", "already imported", "duplicate", "failed"


@dataclass(frozen=True)
class SourceFile:
    path: Path
    relative: str  # as found under the folder, for messages
    key: str


@dataclass(frozen=True)
class Outcome:
    file: SourceFile
    status: str  # STORED, ALREADY, DUPLICATE or FAILED
    detail: str = ""  # the key it is stored as, the key holding the same bytes, or why it failed


def scan(root: Path, prefix: str = "") -> tuple[list[SourceFile], int]:
    """The image files under ``root`` in path order, and how many other files were passed over.
    Hidden files and folders (``.thumbnails``, ``.DS_Store``) are not part of a library."""
    prefix = validate_prefix(prefix.strip("/"))
    found, other = [], 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            if os.path.splitext(name)[1].lower() not in EXTENSIONS:
                other += 1
                continue
            path = Path(folder, name)
            relative = path.relative_to(root).as_posix()
            key = key_from_path(f"{prefix}/{relative}" if prefix else relative)
            found.append(SourceFile(path, relative, key))
    return found, other


def make_importer(services, settings: Settings, jobs: int, labels: bool = True) -> Importer:
    """An importer over the app's services, with a work pool of ``jobs`` processes of its own."""
    # The import is the pool's one client: it may hold every worker (a pool's default gives a
    # client one at a time, which made --jobs 2 run one photo at a time).
    jobs = max(1, jobs)
    queue = FairQueue(
        slots=jobs, per_client=jobs, client_queue=jobs, wait=settings.work_timeout, limit=settings.work_timeout
    )
    pool = WorkPool(jobs, settings.work_timeout, megabytes(settings.work_memory_mb), queue)
    library = services.library
    labeller = library.labeller if labels else None  # None: ``gallery label --missing`` does it later
    return Importer(Library(library.images, ImageWork(settings, pool), library.retention, settings, labeller), jobs)


def _renamed(found: str, key: str) -> bool:
    """``found`` is a "keep both" name of ``key`` (``a/b-2.jpg`` of ``a/b.jpg``)."""
    stem, dot, ext = key.rpartition(".")
    if not dot or "/" in ext:
        stem, ext = key, ""
    return re.fullmatch(re.escape(stem) + r"-\d+" + (re.escape("." + ext) if ext else ""), found) is not None


class Importer:
    def __init__(self, library: Library, jobs: int):
        self.library = library
        self.jobs = max(1, jobs)
        self.metadata = library.images.metadata
        self.batch = new_batch()  # the gallery shows what this run stored with ?batch=

    def run(self, files: list[SourceFile]) -> Iterator[Outcome]:
        """Each file's outcome, as it is known (not in file order)."""
        claimed: dict[str, str] = {}  # SHA-256 → key, of the files this run has sent to be stored
        with ThreadPoolExecutor(self.jobs, thread_name_prefix="import") as threads:
            pending: set[Future] = set()
            for file in files:
                known, data = self._triage(file, claimed)
                if known is not None:
                    yield known
                    continue
                pending.add(threads.submit(self._store, file, data))
                if len(pending) >= 2 * self.jobs:  # a few files read ahead, not the whole library
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    yield from (future.result() for future in done)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in done)

    def _triage(self, file: SourceFile, claimed: dict[str, str]) -> tuple[Outcome | None, bytes]:
        """What is known of a file before decoding it: failed, already imported, a duplicate, or
        (None, its bytes) to be stored; a file to be stored claims its bytes for this run."""
        try:
            validate_key(file.key)
            with open(file.path, "rb") as f:
                data = f.read(self.library.settings.max_upload_bytes + 1)
            images.check_size(data, self.library.settings.max_upload_bytes)
            digest = hashlib.sha256(data).hexdigest()
            current = self.metadata.get(file.key)
            if current is not None and current.sha256 == digest:
                return Outcome(file, ALREADY, file.key), b""
            if digest in claimed:
                return Outcome(file, DUPLICATE, claimed[digest]), b""
            found = self.metadata.find_by_sha256(digest)
        except InvalidKey as exc:
            return Outcome(file, FAILED, f"no key can be made from its path ({exc.message})"), b""
        except GalleryError as exc:
            return Outcome(file, FAILED, exc.message), b""
        except OSError as exc:
            return Outcome(file, FAILED, f"could not be read ({exc.strerror or exc})"), b""
        if found is not None:
            if _renamed(found.key, file.key):  # stored by an earlier run under a "keep both" name
                return Outcome(file, ALREADY, found.key), b""
            return Outcome(file, DUPLICATE, found.key), b""
        claimed[digest] = file.key
        return None, data

    def _store(self, file: SourceFile, data: bytes) -> Outcome:
        """Decode and make renditions in a worker, then write (here): a key holding other bytes
        keeps them, and this photo is stored beside it (``<name>-2.<ext>``)."""
        try:
            record, _ = self.library.upload(file.key, data, on_conflict="rename", batch=self.batch)
        except GalleryError as exc:
            return Outcome(file, FAILED, exc.message)
        return Outcome(file, STORED, record.key)

    def close(self) -> None:
        self.library.work.pool.close()
