"""What the JSON endpoints answer: a marshmallow schema per body, which serialises it (a field not
declared here is not sent) and is its part of the OpenAPI document. Errors have one shape
everywhere: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from marshmallow import Schema, fields

from ..imaging import exif


class ErrorDetail(Schema):
    code = fields.String(required=True, metadata={"description": "Stable, for programs: e.g. invalid_key"})
    message = fields.String(required=True, metadata={"description": "For people: what is wrong and what to do"})


class Error(Schema):
    error = fields.Nested(ErrorDetail, required=True)


Exif = Schema.from_dict(
    {name: fields.Integer() if name in ("iso", "width", "height") else fields.String() for name in exif.FIELDS},
    name="Exif",
)


class ImageRecord(Schema):
    key = fields.String()
    content_type = fields.String()
    bytes = fields.Integer()
    width = fields.Integer()
    height = fields.Integer()
    sha256 = fields.String()
    created_at = fields.Float(metadata={"description": "Unix time of the first upload under this key"})
    updated_at = fields.Float(metadata={"description": "Unix time of the latest upload"})
    version = fields.String()
    labels = fields.List(fields.String())
    labelled = fields.Boolean(metadata={"description": "Object detection has run on this version"})
    batch = fields.String(metadata={"description": "The upload batch it came in ('' if none)"})
    provenance = fields.Dict(allow_none=True, metadata={"description": "How a processed image was made"})
    url = fields.String(metadata={"description": "The original, as uploaded"})
    thumb_url = fields.String(
        metadata={"description": "The thumbnail; with GALLERY_MEDIA_URL, like the other renditions, on the CDN"}
    )
    thumb_content_type = fields.String()
    thumb_width = fields.Integer()
    thumb_height = fields.Integer()
    thumb2x_url = fields.String(allow_none=True, metadata={"description": "The thumbnail at twice the size"})
    thumb2x_width = fields.Integer()
    thumb2x_height = fields.Integer()
    display_url = fields.String(
        allow_none=True,
        metadata={
            "description": "The display rendition (upright WebP without EXIF) pages show instead of the original; "
            "null, like thumb2x_url, for an image stored before renditions until `gallery renditions` runs"
        },
    )
    display_content_type = fields.String()
    display_width = fields.Integer()
    display_height = fields.Integer()
    large_url = fields.String(
        allow_none=True,
        metadata={"description": "Twice the display size, made by the app on the first request (the viewer's zoom)"},
    )
    color = fields.String(metadata={"description": "Dominant colour, #rrggbb, for placeholders (empty if unknown)"})
    taken_at = fields.String(
        allow_none=True,
        metadata={
            "description": "When the photo was taken (EXIF), ISO 8601: the camera's local time, with its UTC "
            "offset when the camera wrote one"
        },
    )
    exif = fields.Nested(
        Exif, metadata={"description": "Camera facts from EXIF (never a location); a fact not known is absent"}
    )
    favourite = fields.Boolean(metadata={"description": "The owner's heart (kept by new versions)"})
    replaced = fields.Boolean(
        metadata={"description": "Only on upload, save or restore: the key existed and was replaced"}
    )
    processing_ms = fields.Float(metadata={"description": "Only on a processing save: the time it took"})
    duplicate_of = fields.String(
        metadata={"description": "Only on an upload with on_duplicate=skip: the key already holding these bytes"}
    )


class ImagePage(Schema):
    items = fields.List(fields.Nested(ImageRecord))
    next_cursor = fields.String(
        allow_none=True,
        metadata={"description": "With a prefix a page may hold fewer than limit (even none) while this goes on"},
    )


class AlbumQuery(Schema):
    q = fields.String()
    label = fields.String()
    prefix = fields.String()
    camera = fields.String()
    taken_from = fields.String()
    taken_to = fields.String()
    favourite = fields.Boolean()


class Album(Schema):
    id = fields.String()
    name = fields.String()
    description = fields.String()
    smart = fields.Boolean(metadata={"description": "Fills itself from query (a saved search)"})
    query = fields.Nested(AlbumQuery, allow_none=True, metadata={"description": "A smart album's filters; null: plain"})
    count = fields.Integer(
        allow_none=True,
        metadata={"description": "Photos shown (current members); null for a smart album (as costly as its search)"},
    )
    cover = fields.String(metadata={"description": "The chosen cover's key ('' when the first photo is used)"})
    cover_thumb_url = fields.String(allow_none=True, metadata={"description": "Null when the album shows no photo"})
    sort = fields.String(metadata={"description": "taken, uploaded or manual"})
    created_at = fields.Float()
    updated_at = fields.Float()
    url = fields.String(metadata={"description": "The album's page"})
    images_url = fields.String(metadata={"description": "Its photos, paged: GET /api/images?album=<id>"})


class AlbumList(Schema):
    items = fields.List(fields.Nested(Album))


class AlbumMembers(Album):
    added = fields.Integer(metadata={"description": "Only on add: photos that were not members yet"})
    removed = fields.Integer(metadata={"description": "Only on remove: photos that were members"})


class KeyList(Schema):
    keys = fields.List(fields.String())


class FreeKey(Schema):
    key = fields.String()


class Version(Schema):
    version = fields.String()
    sha256 = fields.String()
    bytes = fields.Integer()
    width = fields.Integer()
    height = fields.Integer()
    content_type = fields.String()
    created_at = fields.Float(metadata={"description": "Unix time this version was uploaded"})
    replaced_at = fields.Float(allow_none=True, metadata={"description": "Unix time it was replaced; null: current"})
    current = fields.Boolean()
    url = fields.String(metadata={"description": "/images/<key>?version=<version>"})
    thumb_url = fields.String()


class Versions(Schema):
    key = fields.String()
    items = fields.List(fields.Nested(Version), metadata={"description": "The current version first (first page only)"})
    next_cursor = fields.String(
        allow_none=True, metadata={"description": "The next page's cursor; null: the last page"}
    )
    dropped = fields.Integer(
        metadata={"description": "Earlier versions removed for good by the per-key cap (GALLERY_MAX_VERSIONS_PER_KEY)"}
    )


class Trashed(Schema):
    key = fields.String()
    version = fields.String()
    deleted_at = fields.Float()
    expires_at = fields.Float(
        allow_none=True, metadata={"description": "Unix time it is removed for good (GALLERY_RETENTION_DAYS)"}
    )
    bytes = fields.Integer()
    width = fields.Integer()
    height = fields.Integer()
    url = fields.String()
    thumb_url = fields.String()


class TrashPage(Schema):
    items = fields.List(fields.Nested(Trashed))
    next_cursor = fields.String(allow_none=True)


class Emptied(Schema):
    versions = fields.Integer()
    bytes = fields.Integer()


class TrashedSelection(Schema):
    trashed = fields.List(fields.String())
    missing = fields.List(fields.String(), metadata={"description": "Keys that did not exist"})


class DirectUploadGrant(Schema):
    upload_id = fields.String()
    key = fields.String(allow_none=True)
    url = fields.String(metadata={"description": "Where to post the file"})
    fields_ = fields.Dict(
        attribute="fields", data_key="fields", metadata={"description": "The form fields to post with it"}
    )
    max_bytes = fields.Integer()
    expires_in = fields.Integer()
    commit_url = fields.String()


class BoundingBox(Schema):
    Width = fields.Float()
    Height = fields.Float()
    Left = fields.Float()
    Top = fields.Float()


class Instance(Schema):
    BoundingBox = fields.Nested(BoundingBox)
    Confidence = fields.Float()


class Named(Schema):
    Name = fields.String()


class Label(Schema):
    Name = fields.String()
    Confidence = fields.Float()
    Instances = fields.List(fields.Nested(Instance))
    Parents = fields.List(fields.Nested(Named))
    Categories = fields.List(fields.Nested(Named))


class Recognition(Schema):
    Labels = fields.List(fields.Nested(Label), metadata={"description": "Most confident first"})
    LabelModelVersion = fields.String()
    model = fields.String()
    detector = fields.String()
    elapsed_ms = fields.Float()
    source_key = fields.String(metadata={"description": "Only for a gallery image"})
    stored_labels = fields.List(fields.String(), metadata={"description": "Only for a gallery image"})


class CacheSeries(Schema):
    start = fields.Float(metadata={"description": "Unix time of the first point"})
    step_seconds = fields.Integer()
    window_seconds = fields.Integer()
    hit_rate = fields.List(fields.Float(allow_none=True))
    miss_rate = fields.List(fields.Float(allow_none=True))
    requests_per_minute = fields.List(fields.Float(allow_none=True))
    items = fields.List(fields.Float(allow_none=True))
    bytes = fields.List(fields.Float(allow_none=True))


class CacheStats(Schema):
    backend = fields.String()
    hits = fields.Integer()
    misses = fields.Integer()
    requests = fields.Integer()
    hit_rate = fields.Float()
    items = fields.Integer()
    bytes = fields.Integer()
    capacity_bytes = fields.Integer()
    evictions = fields.Integer()
    policy = fields.String()
    errors = fields.Integer(metadata={"description": "memcached: failed calls"})
    nodes_up = fields.Integer(metadata={"description": "memcached: servers answering"})
    nodes = fields.List(fields.Dict(), metadata={"description": "memcached: each server's counters"})
    series = fields.Nested(
        CacheSeries,
        metadata={
            "description": "The last 30 minutes, oldest first; rates are over the window ending at each point "
            "(null: no lookup), items and bytes as last seen. With memcached: every process's lookups."
        },
    )


class Health(Schema):
    status = fields.String(metadata={"description": "ok, or degraded when a backend check failed"})
    checks = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": "ok, or why not"})


class Share(Schema):
    id = fields.String(metadata={"description": "What DELETE /api/shares/<id> revokes"})
    kind = fields.String(metadata={"description": "key (a photo), prefix (a folder) or album"})
    target = fields.String(metadata={"description": "The key, the folder or the album id"})
    created_at = fields.Float()
    expires_at = fields.Float(allow_none=True, metadata={"description": "Unix time; null: until revoked"})
    password = fields.Boolean(metadata={"description": "Whether the link asks for a password"})
    allow_download = fields.Boolean()
    views = fields.Integer(metadata={"description": "How many times the link's page was opened"})
    last_used = fields.Float(allow_none=True, metadata={"description": "Unix time of the latest view"})


class ShareCreated(Share):
    url = fields.String(metadata={"description": "The page to send, /s/<token>: shown this once, never again"})


class ShareList(Schema):
    items = fields.List(fields.Nested(Share))


class FolderSummary(Schema):
    path = fields.String(metadata={"description": "Ends with '/': trips/2024/"})
    name = fields.String()
    count = fields.Integer(metadata={"description": "Photos under it, its sub-folders' included"})
    cover = fields.String(allow_none=True, metadata={"description": "The key of its cover photo"})


class FolderPage(Schema):
    path = fields.String(metadata={"description": "'' for the top"})
    count = fields.Integer(metadata={"description": "Photos under it, its sub-folders' included"})
    folders = fields.List(fields.Nested(FolderSummary))
    more_folders = fields.String(allow_none=True, metadata={"description": "Pass as after= for more sub-folders"})
    items = fields.List(
        fields.Nested(ImageRecord), metadata={"description": "Photos directly in it, latest taken first"}
    )
    next_cursor = fields.String(allow_none=True)
