"""What each JSON endpoint accepts: one marshmallow schema per request, which validates it and,
through flask-smorest, is its part of the OpenAPI document (``apidoc``).

Limits are read from the code that enforces them, when a request comes and when an app's
document is built: key length (``core.keys``), search length (``core.search``), the operation
table and output formats (``processing.params``), recognition bounds (``recognition.shape``),
conflict choices (``conflicts.ON_CONFLICT``) and the limits below.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from ..core import conflicts, search
from ..imaging import formats
from ..metadata.base import ALBUM_SORTS, SORTS
from ..processing import params
from ..processing.schema import step_schema
from ..recognition import shape
from ..services import albums, catalog, shares
from ..services.uploads import UPLOAD_ID
from .fields import AtMost, Between, ImageFile, Key, OneOf, Steps

LIST_LIMIT = (1, 500)  # records per /api/images or /api/trash page
LIST_PAGE = 48  # ...when the request does not say
SUGGEST_LIMIT = (1, 100)  # keys per /api/keys answer
SUGGEST_PAGE = 10
MAX_SELECTION = 1000  # keys per zip or trash request
RESTORE_ON_CONFLICT = "fail"  # a restore replaces nothing unless asked to


class Request(Schema):
    """Unknown fields are ignored (as before there were schemas); an empty form field is absent,
    except a required key, which the key rules refuse in their own words."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def blank_is_absent(self, data, **kwargs):
        def kept(name, value) -> bool:
            field = self.fields.get(name)
            return value not in ("", None) or (isinstance(field, Key) and field.required)

        return {name: value for name, value in data.items() if kept(name, value)}


# -- shared fields ---------------------------------------------------------------------------
def on_conflict(default: str | None, lead: str = "When the key is taken: ") -> fields.String:
    return fields.String(
        validate=OneOf(lambda: conflicts.ON_CONFLICT),
        metadata={
            "description": lead + "replace it (the old image joins its version history), rename (store under "
            "<name>-2.<ext>, -3...) or fail (409, nothing changes).",
            "doc": lambda: {"default": default or conflicts.DEFAULT_ON_CONFLICT},
        },
    )


ON_DUPLICATE = ("keep", "skip")


def on_duplicate() -> fields.String:
    return fields.String(
        validate=OneOf(lambda: ON_DUPLICATE),
        load_default=ON_DUPLICATE[0],
        metadata={
            "description": "When the gallery already holds these exact bytes (same SHA-256, under any key): keep "
            "(store them again) or skip (store nothing; 200 with the image already stored and duplicate_of, its key)",
            "doc": lambda: {"default": ON_DUPLICATE[0]},
        },
    )


def batch() -> fields.String:
    return fields.String(
        validate=validate.Regexp(f"^{search.BATCH.pattern}$", error="must be 16 lower-case letters and digits."),
        metadata={"description": "An upload batch id chosen by the client; the gallery lists a batch with ?batch="},
    )


def limit(bounds, default) -> fields.Integer:
    return fields.Integer(
        validate=Between(bounds), load_default=default, metadata={"doc": lambda: {"default": default()}}
    )


def image_file(required: bool = False, also: str = "") -> ImageFile:
    return ImageFile(
        required=required,
        error_messages={"required": "is required: attach the image as the multipart field 'file'."},
        metadata={"doc": lambda: {"description": f"A {formats.ACCEPTED} image{also}"}},
    )


def search_words() -> dict:
    return {
        "description": "Words, each matching the start of a word of the key (split at / . _ - and at camel-case "
        "and digit boundaries), a label or the camera model, case-insensitively; every word must match. "
        f"Words shorter than {search.MIN_WORD} characters are ignored; at most {search.MAX_QUERY_WORDS} count."
    }


def taken_date(end: bool) -> fields.String:
    side = "on or before (a bare date: that whole day)" if end else "on or after"
    return fields.String(
        metadata={
            "description": f"Photos taken {side} this ISO 8601 date or time (a photo without a date taken "
            "is in no range)"
        }
    )


# -- images ----------------------------------------------------------------------------------
class ListQuery(Request):
    prefix = Key(prefix=True, load_default="")
    label = fields.String(load_default="")
    sort = fields.String(
        validate=OneOf(lambda: SORTS),
        metadata={
            "description": "uploaded: by upload time; taken: by date taken, photos without one last",
            "doc": lambda: {"default": SORTS[0]},
        },
    )
    q = fields.String(load_default="", validate=AtMost(lambda: search.MAX_QUERY_LENGTH), metadata={"doc": search_words})
    batch = batch()
    favourite = fields.Boolean(load_default=False, metadata={"description": "1: only favourites"})
    camera = fields.String(
        validate=AtMost(lambda: catalog.MAX_CAMERA),
        metadata={"description": "Only photos of this camera model (EXIF), any case"},
    )
    taken_from = taken_date(end=False)
    taken_to = taken_date(end=True)
    album = fields.String(
        validate=AtMost(lambda: albums.ALBUM_ID_LENGTH),
        metadata={"description": "The photos of this album (its order; other filters are ignored)"},
    )
    limit = limit(lambda: LIST_LIMIT, lambda: LIST_PAGE)
    cursor = fields.String()


class SuggestQuery(Request):
    prefix = Key(prefix=True, load_default="")
    limit = limit(lambda: SUGGEST_LIMIT, lambda: SUGGEST_PAGE)


class Upload(Request):
    file = image_file(required=True)
    key = Key(required=True)
    on_conflict = on_conflict(None)
    on_duplicate = on_duplicate()
    batch = batch()


class FreeKeyQuery(Request):
    key = Key(required=True)


# -- history and selection -------------------------------------------------------------------
class TrashQuery(Request):
    limit = limit(lambda: LIST_LIMIT, lambda: LIST_PAGE)
    cursor = fields.String()


class VersionsQuery(TrashQuery):
    """One page of an image's versions (the same limit and cursor as the trash)."""


class Selection(Request):
    keys = fields.List(
        Key(),
        required=True,
        validate=[validate.Length(min=1, error="must name at least one image."), AtMost(lambda: MAX_SELECTION, "keys")],
        error_messages={"required": "is required: select at least one image first."},
        metadata={"description": "At least one key; missing keys are skipped"},
    )


class TrashRestore(Request):
    key = Key(required=True)
    version = fields.String(required=True)
    on_conflict = on_conflict(RESTORE_ON_CONFLICT, "When the key is in use again: ")


# -- albums ----------------------------------------------------------------------------------
class AlbumFilter(Schema):
    """A smart album's filters: those of GET /api/images. Unknown names are refused."""

    class Meta:
        unknown = RAISE

    q = fields.String(validate=AtMost(lambda: search.MAX_QUERY_LENGTH), metadata={"doc": search_words})
    label = fields.String(validate=AtMost(lambda: catalog.MAX_LABEL))
    prefix = Key(prefix=True)
    camera = fields.String(validate=AtMost(lambda: catalog.MAX_CAMERA))
    taken_from = taken_date(end=False)
    taken_to = taken_date(end=True)
    favourite = fields.Boolean()


def album_name(required: bool) -> fields.String:
    return fields.String(
        required=required, validate=AtMost(lambda: albums.MAX_NAME), metadata={"description": "Unique, any case"}
    )


def album_description() -> fields.String:
    return fields.String(validate=AtMost(lambda: albums.MAX_DESCRIPTION))


class AlbumCreate(Request):
    name = album_name(required=True)
    description = album_description()
    query = fields.Nested(AlbumFilter, metadata={"description": "With it, a smart album: what these filters find"})


class AlbumChange(Schema):
    """What a PATCH changes; an empty description or cover clears it."""

    class Meta:
        unknown = EXCLUDE

    name = album_name(required=False)
    description = album_description()
    query = fields.Nested(AlbumFilter, metadata={"description": "Smart albums only: the new filters"})
    cover = fields.String(metadata={"description": "A member's key; empty: the first photo"})
    sort = fields.String(
        validate=OneOf(lambda: ALBUM_SORTS),
        metadata={"description": "taken, uploaded (newest first) or manual (the owner's order; plain albums)"},
    )


class AlbumKeys(Request):
    keys = fields.List(
        Key(),
        required=True,
        validate=[
            validate.Length(min=1, error="must name at least one image."),
            AtMost(lambda: albums.MAX_KEYS, "keys"),
        ],
        error_messages={"required": "is required: select at least one image first."},
        metadata={"description": "Keys of current images; adding refuses the request if one is missing"},
    )


class AlbumPageQuery(Request):
    sort = fields.String(validate=OneOf(lambda: ALBUM_SORTS))
    limit = limit(lambda: LIST_LIMIT, lambda: LIST_PAGE)
    cursor = fields.String()


# -- direct uploads --------------------------------------------------------------------------
class DirectUploadStart(Request):
    key = Key(metadata={"description": "Where commit stores it; without a key the file is only staged"})
    # Checked by the upload service: an unsupported type is a 415, as for any upload.
    content_type = fields.String(required=True, metadata={"doc": lambda: {"enum": list(formats.MIME_TYPES)}})
    bytes = fields.Integer(required=True, strict=True, metadata={"description": "The file's size"})


class DirectUploadCommit(Request):
    key = Key(required=True)
    on_conflict = on_conflict(None)
    batch = batch()


# -- processing and recognition --------------------------------------------------------------
def staged_id() -> fields.String:
    return fields.String(
        validate=validate.Regexp(f"^{UPLOAD_ID.pattern}$", error="must be the upload_id POST /api/uploads answered."),
        metadata={
            "description": "Instead of file, for files larger than a request may carry: the upload_id of a "
            "file sent to S3 through POST /api/uploads (without a key)"
        },
    )


class Source(Request):
    file = image_file(also=" (or source_key)")
    source_key = Key(strip=True, metadata={"description": "Key of a gallery image (or file)"})
    staged_id = staged_id()


class Process(Source):
    ops = Steps(
        metadata={
            "doc": lambda: {
                "type": "string",
                "description": f"The steps, at most {params.MAX_STEPS}: a JSON list in a form field, "
                "the list itself in a JSON body",
                "contentMediaType": "application/json",
                "contentSchema": {"type": "array", "maxItems": params.MAX_STEPS, "items": step_schema()},
            }
        }
    )
    # The pipeline checks the format (it also takes jpg, keep...); the document lists the formats.
    format = fields.String(
        metadata={"doc": lambda: {"enum": list(params.FORMATS), "description": "Default: the source's"}}
    )
    quality = fields.Integer(validate=Between(lambda: (params.QUALITY.lo, params.QUALITY.hi)))
    save_as = Key(metadata={"description": "Store the result under this key"})
    on_conflict = on_conflict(None, "With save_as: when that key is taken, ")
    preview = fields.Boolean(
        load_default=False,
        metadata={
            "doc": lambda: {
                "description": "Preview at display size: the steps run on a rendition of the source of at most "
                f"{params.PREVIEW_SIDE} px (made once, cached); X-Full-Width/-Height say the size a save would "
                "have. Not with save_as"
            }
        },
    )
    source_sha256 = fields.String(
        validate=validate.Regexp(r"^[0-9a-f]{64}$", error="must be the X-Source-Sha256 of an earlier preview."),
        metadata={
            "description": "With preview, instead of file: the X-Source-Sha256 of an earlier preview of an upload "
            "(404 once it is no longer held: send the file again)"
        },
    )


class Recognize(Source):
    min_confidence = fields.Float(
        validate=Between(lambda: shape.MIN_CONFIDENCE_RANGE),
        metadata={
            "doc": lambda: {"default": shape.DEFAULT_MIN_CONFIDENCE},
            "page": lambda: "Set the minimum confidence from {:g} to {:g} %.".format(*shape.MIN_CONFIDENCE_RANGE),
        },
    )
    max_labels = fields.Integer(
        validate=Between(lambda: shape.MAX_LABELS_RANGE),
        metadata={
            "doc": lambda: {"default": shape.DEFAULT_MAX_LABELS},
            "page": lambda: "Show from {} to {} labels.".format(*shape.MAX_LABELS_RANGE),
        },
    )


class MediaQuery(Request):
    version = fields.String(
        metadata={
            "description": "A version from /api/images/{key}/versions or /api/trash "
            "(cached for a year: it never changes)"
        }
    )
    v = fields.String(metadata={"description": "The current version, for a cacheable URL"})
    download = fields.String(metadata={"description": "Any value: as an attachment"})


# -- share links -----------------------------------------------------------------------------
class ShareCreate(Request):
    """Exactly one of ``album``, ``key`` or ``prefix``: what the link opens."""

    album = fields.String(
        validate=AtMost(lambda: shares.MAX_ALBUM_ID), metadata={"description": "An album's (or smart album's) id"}
    )
    key = Key(strip=True, metadata={"description": "One photo"})
    prefix = Key(prefix=True, strip=True, metadata={"description": "A folder and everything under it, e.g. trips/"})
    expires_in = fields.Integer(
        strict=False,
        validate=Between(lambda: shares.EXPIRES_IN),
        metadata={"description": "Seconds until the link stops working; without it the link lasts until revoked"},
    )
    password = fields.String(
        validate=AtMost(lambda: shares.MAX_PASSWORD), metadata={"description": "Asked before anything is shown"}
    )
    allow_download = fields.Boolean(
        load_default=False, metadata={"description": "Let visitors download originals (display renditions only, else)"}
    )

    @validates_schema
    def one_target(self, data, **kwargs):
        given = [name for name in ("album", "key", "prefix") if data.get(name)]
        if len(given) != 1:
            raise ValidationError("Give exactly one of album, key or prefix: what the link shares.")


class FolderQuery(Request):
    limit = limit(lambda: LIST_LIMIT, lambda: LIST_PAGE)
    cursor = fields.String(metadata={"description": "The next page of photos (next_cursor)"})
    after = fields.String(metadata={"description": "The next page of sub-folders (more_folders)"})
