"""OpenAPI 3.1 description of the JSON API, built on each request from what validates requests:
the key length (``keys``), the list limits (``web.api``), the operations' step schema
(``processing.schema``), the output formats (``processing.params``), the recognition bounds
(``recognition.shape``), the accepted formats (``formats``), the conflict choices
(``conflicts.ON_CONFLICT``), the selection limit (``web.selection``), the search limits
(``search``) and the error classes (``errors``). A limit changed in code changes the document;
no number here is written by hand."""

from __future__ import annotations

from ..cache.stats import POINTS, SPAN, STEP, WINDOW
from ..core import conflicts, errors, keys, search
from ..imaging import exif, formats, images
from ..metadata.base import SORTS
from ..processing import params
from ..processing.params import PREVIEW_SIDE
from ..processing.schema import param_schema, step_schema
from ..recognition import shape
from ..services.uploads import UPLOAD_ID

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}

RECORD = {
    "type": "object",
    "properties": {
        "key": {"type": "string"},
        "content_type": {"type": "string"},
        "bytes": {"type": "integer"},
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "sha256": {"type": "string"},
        "created_at": {"type": "number", "description": "Unix time of the first upload under this key"},
        "updated_at": {"type": "number", "description": "Unix time of the latest upload"},
        "version": {"type": "string"},
        "labels": {"type": "array", "items": {"type": "string"}},
        "labelled": {"type": "boolean", "description": "Object detection has run on this version"},
        "batch": {"type": "string", "description": "The upload batch it came in ('' if none)"},
        "provenance": {"type": ["object", "null"]},
        "url": {"type": "string", "description": "The original, as uploaded"},
        "thumb_url": {"type": "string"},
        "thumb_width": {"type": "integer"},
        "thumb_height": {"type": "integer"},
        "thumb2x_url": {"type": ["string", "null"], "description": "The thumbnail at twice the size"},
        "thumb2x_width": {"type": "integer"},
        "thumb2x_height": {"type": "integer"},
        "display_url": {
            "type": ["string", "null"],
            "description": "The display rendition (upright WebP without EXIF) pages show instead of the original; "
            "null, like thumb2x_url, for an image stored before renditions until `gallery renditions` runs",
        },
        "display_content_type": {"type": "string"},
        "display_width": {"type": "integer"},
        "display_height": {"type": "integer"},
        "color": {"type": "string", "description": "Dominant colour, #rrggbb, for placeholders (empty if unknown)"},
        "taken_at": {
            "type": ["string", "null"],
            "description": "When the photo was taken (EXIF), ISO 8601: the camera's local time, with its UTC "
            "offset when the camera wrote one",
        },
        "exif": {
            "type": "object",
            "description": "Camera facts from EXIF (never a location); a fact that is not known is absent",
            "properties": {
                name: {"type": "integer"} if name in ("iso", "width", "height") else {"type": "string"}
                for name in exif.FIELDS
            },
        },
        "replaced": {"type": "boolean", "description": "Only on upload: the key existed and was replaced"},
    },
}
RECORD_REF = {"$ref": "#/components/schemas/ImageRecord"}

VERSION = {
    "type": "object",
    "properties": {
        "version": {"type": "string"},
        "sha256": {"type": "string"},
        "bytes": {"type": "integer"},
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "content_type": {"type": "string"},
        "created_at": {"type": "number", "description": "Unix time this version was uploaded"},
        "replaced_at": {"type": ["number", "null"], "description": "Unix time it was replaced; null for the current"},
        "current": {"type": "boolean"},
        "url": {"type": "string", "description": "/images/<key>?version=<version>"},
        "thumb_url": {"type": "string"},
    },
}
TRASHED = {
    "type": "object",
    "properties": {
        "key": {"type": "string"},
        "version": {"type": "string"},
        "deleted_at": {"type": "number"},
        "expires_at": {"type": "number", "description": "Unix time it is removed for good (GALLERY_RETENTION_DAYS)"},
        "bytes": {"type": "integer"},
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "url": {"type": "string"},
        "thumb_url": {"type": "string"},
    },
}

CSRF_HEADER = {
    "name": "X-CSRFToken",
    "in": "header",
    "required": False,
    "description": "The token from the page's <meta name=csrf-token>, sent with the session cookie.",
    "schema": {"type": "string"},
}
# Not a GalleryError: Flask-WTF raises it (see web.register).
CSRF_FAILED = "csrf_failed: a write without a valid CSRF token (send X-CSRFToken) or API token."
FORM_MEDIA = ("multipart/form-data", "application/x-www-form-urlencoded", "application/json")


# -- building blocks ---------------------------------------------------------------------
def error_responses(*statuses: int) -> dict:
    """The error answers of an operation, described by the error classes that carry each status."""
    classes = _subclasses(errors.GalleryError)
    out = {}
    for status in statuses:
        causes = [f"{cls.code}: {(cls.__doc__ or '').strip()}" for cls in classes if cls.status == status]
        out[str(status)] = {
            "description": " ".join(causes),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return out


def _subclasses(cls) -> list:
    return [c for sub in cls.__subclasses__() for c in (sub, *_subclasses(sub))]


def write(operation: dict) -> dict:
    """A state-changing operation: it takes the CSRF header, and its 400 includes a failed check."""
    operation["parameters"] = [*operation.get("parameters", []), CSRF_HEADER]
    operation["responses"]["400"]["description"] += " " + CSRF_FAILED
    return operation


def json_response(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def key_schema(**extra) -> dict:
    return {"type": "string", "maxLength": keys.MAX_KEY_LENGTH, **extra}


def on_conflict_schema(default: str, lead: str = "When the key is taken: ") -> dict:
    return {
        "type": "string",
        "enum": list(conflicts.ON_CONFLICT),
        "default": default,
        "description": lead + "replace it (the old image joins its version history), rename (store under "
        "<name>-2.<ext>, -3...) or fail (409, nothing changes).",
    }


def json_body(properties: dict, required: list[str] | None = None, media=("application/json",)) -> dict:
    schema = {"type": "object", "properties": properties, **({"required": required} if required else {})}
    return {"required": True, "content": {m: {"schema": schema} for m in media}}


def search_schema() -> dict:
    return {
        "type": "string",
        "maxLength": search.MAX_QUERY_LENGTH,
        "description": (
            "Words, each matching the start of a word of the key (split at / . _ - and at camel-case and "
            "digit boundaries), a label or the camera model, case-insensitively; every word must match. "
            f"Words shorter than {search.MIN_WORD} characters are ignored; at most {search.MAX_QUERY_WORDS} count."
        ),
    }


def batch_schema() -> dict:
    return {
        "type": "string",
        "pattern": f"^{search.BATCH.pattern}$",
        "description": "An upload batch id chosen by the client; the gallery lists a batch with ?batch=",
    }


def bounded(kind: str, bounds: tuple, default=None) -> dict:
    """``{"type": kind, "minimum": lo, "maximum": hi}`` from a validator's own (lo, hi)."""
    schema = {"type": kind, "minimum": bounds[0], "maximum": bounds[1]}
    return schema if default is None else {**schema, "default": default}


def query(name: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "schema": schema}


# -- paths -------------------------------------------------------------------------------
def image_paths(list_limit: tuple, suggest_limit: tuple) -> dict:
    key_param = {"name": "key", "in": "path", "required": True, "schema": key_schema()}
    return {
        "/api/images": {
            "get": {
                "summary": "List or search images, newest first, by cursor",
                "parameters": [
                    query("prefix", key_schema()),
                    query("label", {"type": "string"}),
                    query(
                        "sort",
                        {
                            "type": "string",
                            "enum": list(SORTS),
                            "default": SORTS[0],
                            "description": "uploaded: by upload time; taken: by date taken, else upload time",
                        },
                    ),
                    query("q", search_schema()),
                    query("batch", batch_schema()),
                    query("limit", bounded("integer", list_limit)),
                    query("cursor", {"type": "string"}),
                ],
                "responses": {
                    "200": json_response(
                        "A page of records; with a prefix it may hold fewer than limit (even none) "
                        "while next_cursor goes on",
                        {
                            "type": "object",
                            "properties": {
                                "items": {"type": "array", "items": RECORD_REF},
                                "next_cursor": {"type": ["string", "null"]},
                            },
                        },
                    ),
                    **error_responses(400),
                },
            },
            "post": write(
                {
                    "summary": "Upload an image under a key; on_conflict says what happens when the key is taken",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["file", "key"],
                                    "properties": {
                                        "file": {"type": "string", "format": "binary", "description": _image_file()},
                                        "key": key_schema(),
                                        "on_conflict": on_conflict_schema(conflicts.DEFAULT_ON_CONFLICT),
                                        "batch": batch_schema(),
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": json_response("Stored under a new key (with rename: the key it got)", RECORD_REF),
                        "200": json_response("Replaced the image of an existing key", RECORD_REF),
                        **error_responses(400, 409, 413, 415, 422, 429, 503),
                    },
                }
            ),
        },
        "/api/images/{key}": {
            "get": {
                "summary": "One image's record",
                "parameters": [key_param],
                "responses": {"200": json_response("The record", RECORD_REF), **error_responses(400, 404)},
            },
            "delete": write(
                {
                    "summary": "Move an image and its earlier versions to the trash",
                    "parameters": [key_param],
                    "responses": {"204": {"description": "Deleted"}, **error_responses(400, 404)},
                }
            ),
        },
        "/api/keys": {
            "get": {
                "summary": "Keys starting with a prefix, for autocompletion",
                "parameters": [query("prefix", key_schema()), query("limit", bounded("integer", suggest_limit))],
                "responses": {
                    "200": json_response(
                        "Matching keys",
                        {"type": "object", "properties": {"keys": {"type": "array", "items": {"type": "string"}}}},
                    ),
                    **error_responses(400),
                },
            }
        },
    }


def _image_file() -> str:
    return f"A {formats.ACCEPTED} image"


def _source_fields() -> dict:
    return {
        "file": {"type": "string", "format": "binary", "description": f"{_image_file()} (or source_key)"},
        "source_key": key_schema(description="Key of a gallery image (or file)"),
        "staged_id": {
            "type": "string",
            "pattern": "^[0-9a-f]{32}$",
            "description": "Instead of file, for files larger than a request may carry: the upload_id of a file "
            "sent to S3 through POST /api/uploads (without a key)",
        },
    }


def process_path() -> dict:
    fields = {
        **_source_fields(),
        "ops": {
            "type": "string",
            "description": "JSON list of steps (a list in a JSON body)",
            "contentSchema": {"type": "array", "maxItems": params.MAX_STEPS, "items": step_schema()},
        },
        "format": {"type": "string", "enum": list(params.FORMATS), "description": "Default: the source's"},
        "quality": param_schema(params.QUALITY),
        "save_as": key_schema(description="Store the result under this key"),
        "on_conflict": on_conflict_schema(conflicts.DEFAULT_ON_CONFLICT, "With save_as: when that key is taken, "),
        "preview": {
            "type": "boolean",
            "description": "Preview at display size: the steps run on a rendition of the source of at most "
            f"{PREVIEW_SIDE} px (made once, cached); X-Full-Width/-Height say the size a save would have. "
            "Not with save_as",
        },
        "source_sha256": {
            "type": "string",
            "pattern": "^[0-9a-f]{64}$",
            "description": "With preview, instead of file: the X-Source-Sha256 of an earlier preview of an upload "
            "(404 once it is no longer held: send the file again)",
        },
    }
    return {
        "post": write(
            {
                "summary": f"Run a pipeline of up to {params.MAX_STEPS} steps on an upload or a gallery image; "
                "preview or save it",
                "description": "One decode, the steps in order, one encode. Results are cached by (source sha256, "
                "normalised steps, format, quality): a repeat answers with X-Cache: hit and is not counted "
                "against the rate limit. Previews have a rate limit of their own.",
                "requestBody": {
                    "content": {media: {"schema": {"type": "object", "properties": fields}} for media in FORM_MEDIA}
                },
                "responses": {
                    "200": {
                        "description": "The processed image (without save_as), or the replaced record (with it)",
                        "headers": {
                            name: {"schema": {"type": "string"}}
                            for name in (
                                "X-Image-Width",
                                "X-Image-Height",
                                "X-Processing-Ms",
                                "X-Cache",
                                "X-Full-Width",
                                "X-Full-Height",
                                "X-Source-Sha256",
                            )
                        },
                        "content": {
                            mime: {"schema": {"type": "string", "format": "binary"}} for mime in params.FORMATS.values()
                        },
                    },
                    "201": json_response("Saved as a new gallery image; provenance says how it was made", RECORD_REF),
                    **error_responses(400, 404, 409, 413, 415, 422, 429, 503),
                },
            }
        )
    }


def free_key_path() -> dict:
    return {
        "get": {
            "summary": "A key nobody uses: the one asked for, else the first free name-2.ext, -3...",
            "parameters": [{**query("key", key_schema()), "required": True}],
            "responses": {
                "200": json_response("The free key", {"type": "object", "properties": {"key": {"type": "string"}}}),
                **error_responses(400),
            },
        }
    }


def recognize_path() -> dict:
    lo, hi = shape.MIN_CONFIDENCE_RANGE
    box = {"type": "object", "properties": {k: {"type": "number"} for k in ("Width", "Height", "Left", "Top")}}
    names = {"type": "array", "items": {"type": "object", "properties": {"Name": {"type": "string"}}}}
    label = {
        "type": "object",
        "properties": {
            "Name": {"type": "string"},
            "Confidence": {"type": "number", "description": f"{lo:g}-{hi:g}"},
            "Instances": {
                "type": "array",
                "items": {"type": "object", "properties": {"BoundingBox": box, "Confidence": {"type": "number"}}},
            },
            "Parents": names,
            "Categories": names,
        },
    }
    fields = {
        **_source_fields(),
        "min_confidence": bounded("number", shape.MIN_CONFIDENCE_RANGE, shape.DEFAULT_MIN_CONFIDENCE),
        "max_labels": bounded("integer", shape.MAX_LABELS_RANGE, shape.DEFAULT_MAX_LABELS),
    }
    return {
        "post": write(
            {
                "summary": "Detect objects; a gallery image's label names are stored with it",
                "requestBody": {
                    "content": {"multipart/form-data": {"schema": {"type": "object", "properties": fields}}}
                },
                "responses": {
                    "200": json_response(
                        "Rekognition DetectLabels-shaped labels, most confident first",
                        {
                            "type": "object",
                            "properties": {
                                "Labels": {"type": "array", "items": label},
                                "LabelModelVersion": {"type": "string"},
                                "model": {"type": "string"},
                                "detector": {"type": "string"},
                                "elapsed_ms": {"type": "number"},
                                "source_key": {"type": "string", "description": "Only for a gallery image"},
                                "stored_labels": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    ),
                    **error_responses(400, 404, 413, 415, 422, 429, 503),
                },
            }
        )
    }


def history_paths(list_limit: tuple, max_selection: int, restore_default: str) -> dict:
    key_param = {"name": "key", "in": "path", "required": True, "schema": key_schema()}
    version_param = {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}}
    selection = json_body(
        {
            "keys": {
                "type": "array",
                "maxItems": max_selection,
                "items": key_schema(),
                "description": f"At least one key, at most {max_selection}; missing keys are skipped",
            }
        },
        ["keys"],
    )
    trash_page = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Trashed"}},
            "next_cursor": {"type": ["string", "null"]},
        },
    }
    return {
        "/api/images/{key}/versions": {
            "get": {
                "summary": "An image's versions, newest first, the current one included",
                "parameters": [key_param],
                "responses": {
                    "200": json_response(
                        "The versions",
                        {
                            "type": "object",
                            "properties": {
                                "key": {"type": "string"},
                                "items": {"type": "array", "items": {"$ref": "#/components/schemas/Version"}},
                            },
                        },
                    ),
                    **error_responses(400, 404),
                },
            }
        },
        "/api/images/{key}/versions/{version}/restore": {
            "post": write(
                {
                    "summary": "Make an earlier version current again, byte for byte; the current one joins "
                    "the history",
                    "parameters": [key_param, version_param],
                    "responses": {
                        "200": json_response("The restored record", RECORD_REF),
                        **error_responses(400, 404, 409, 503),
                    },
                }
            )
        },
        "/api/images/zip": {
            "post": write(
                {
                    "summary": "Download a selection of images as one ZIP, streamed",
                    "requestBody": selection,
                    "responses": {
                        "200": {
                            "description": "The ZIP: one member per existing key, named by its key",
                            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
                        },
                        **error_responses(400, 503),
                    },
                }
            )
        },
        "/api/images/trash": {
            "post": write(
                {
                    "summary": "Move a selection of images to the trash",
                    "requestBody": selection,
                    "responses": {
                        "200": json_response(
                            "What was moved, and the keys that did not exist",
                            {
                                "type": "object",
                                "properties": {
                                    name: {"type": "array", "items": {"type": "string"}}
                                    for name in ("trashed", "missing")
                                },
                            },
                        ),
                        **error_responses(400, 503),
                    },
                }
            )
        },
        "/api/trash": {
            "get": {
                "summary": "Deleted images, most recently deleted first, by cursor",
                "parameters": [query("limit", bounded("integer", list_limit)), query("cursor", {"type": "string"})],
                "responses": {"200": json_response("A page of the trash", trash_page), **error_responses(400)},
            },
            "delete": write(
                {
                    "summary": "Empty the trash: remove every trashed image and its versions for good",
                    "responses": {
                        "200": json_response(
                            "What was removed",
                            {
                                "type": "object",
                                "properties": {"versions": {"type": "integer"}, "bytes": {"type": "integer"}},
                            },
                        ),
                        **error_responses(400, 503),
                    },
                }
            ),
        },
        "/api/trash/restore": {
            "post": write(
                {
                    "summary": "Bring a deleted image back",
                    "requestBody": json_body(
                        {
                            "key": key_schema(),
                            "version": {"type": "string"},
                            "on_conflict": on_conflict_schema(restore_default, "When the key is in use again: "),
                        },
                        ["key", "version"],
                        ("application/json", "application/x-www-form-urlencoded"),
                    ),
                    "responses": {
                        "200": json_response(
                            "The restored record; replaced says whether it took the place of a current image",
                            RECORD_REF,
                        ),
                        **error_responses(400, 404, 409, 503),
                    },
                }
            )
        },
    }


def media_paths() -> dict:
    """The image bytes themselves (not JSON): the current version, or any version kept."""
    out = {}
    for path, what, types in (
        ("/images/{key}", "An image's original bytes, as uploaded", formats.MIME_TYPES),
        ("/thumbs/{key}", "An image's thumbnail", (images.THUMB_CONTENT_TYPE,)),
    ):
        out[path] = {
            "get": {
                "summary": what,
                "parameters": [
                    {"name": "key", "in": "path", "required": True, "schema": key_schema()},
                    query(
                        "version",
                        {
                            "type": "string",
                            "description": "A version from /api/images/{key}/versions "
                            "or /api/trash (cached for a year: it never changes)",
                        },
                    ),
                    query("v", {"type": "string", "description": "The current version, for a cacheable URL"}),
                    query("download", {"type": "string", "description": "Any value: as an attachment"}),
                ],
                "responses": {
                    "200": {
                        "description": "The bytes, with ETag",
                        "content": {mime: {"schema": {"type": "string", "format": "binary"}} for mime in types},
                    },
                    "304": {"description": "Not modified (If-None-Match)"},
                    **error_responses(400, 404, 503),
                },
            }
        }
    return out


def direct_upload_paths() -> dict:
    """Browser uploads straight to S3 (only when storage is S3; otherwise a 400 says so)."""
    return {
        "/api/uploads": {
            "post": write(
                {
                    "summary": "Start a direct upload: a presigned form for a staging object",
                    "requestBody": json_body(
                        {
                            "key": key_schema(),
                            "content_type": {"type": "string", "enum": list(formats.MIME_TYPES)},
                            "bytes": {"type": "integer", "description": "The file's size"},
                        },
                        ["key", "content_type", "bytes"],
                    ),
                    "responses": {
                        "201": json_response(
                            "Where to post the file, with which fields, and where to commit it",
                            {
                                "type": "object",
                                "properties": {
                                    "upload_id": {"type": "string"},
                                    "key": {"type": "string"},
                                    "url": {"type": "string"},
                                    "fields": {"type": "object"},
                                    "max_bytes": {"type": "integer"},
                                    "expires_in": {"type": "integer"},
                                    "commit_url": {"type": "string"},
                                },
                            },
                        ),
                        **error_responses(400, 413, 415, 503),
                    },
                }
            )
        },
        "/api/uploads/{upload_id}/commit": {
            "post": write(
                {
                    "summary": "Check the uploaded file and store it under the key, like POST /api/images",
                    "parameters": [
                        {
                            "name": "upload_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": f"^{UPLOAD_ID.pattern}$"},
                        }
                    ],
                    "requestBody": json_body(
                        {"key": key_schema(), "on_conflict": on_conflict_schema(conflicts.DEFAULT_ON_CONFLICT)},
                        ["key"],
                    ),
                    "responses": {
                        "201": json_response("Stored under a new key", RECORD_REF),
                        "200": json_response("Replaced the image of an existing key", RECORD_REF),
                        **error_responses(400, 404, 409, 413, 415, 422, 503),
                    },
                }
            )
        },
    }


def cache_paths() -> dict:
    counters = ("hits", "misses", "hit_rate", "items", "bytes", "capacity_bytes", "requests")
    stats = {"type": "object", "properties": {name: {"type": "number"} for name in counters}}
    stats["properties"]["policy"] = {"type": "string"}
    column = {"type": "array", "items": {"type": ["number", "null"]}}
    stats["properties"]["series"] = {
        "type": "object",
        "description": f"The last {SPAN // 60} minutes: {POINTS} points, one per {STEP} s from `start` (Unix time), oldest "
        f"first; rates are over the {WINDOW} s ending at each point (null: no lookup), items and bytes as "
        "last seen. With memcached: every process's and container's lookups.",
        "properties": {
            "start": {"type": "number"},
            "step_seconds": {"type": "integer"},
            "window_seconds": {"type": "integer"},
            **{name: column for name in ("hit_rate", "miss_rate", "requests_per_minute", "items", "bytes")},
        },
    }
    return {
        "/api/cache/stats": {
            "get": {"summary": "Image cache statistics", "responses": {"200": json_response("Counters", stats)}}
        },
        "/api/cache/clear": {
            "post": write(
                {
                    "summary": "Empty the image cache",
                    "responses": {"200": {"description": "Statistics after clearing"}, **error_responses(400)},
                }
            )
        },
    }


def spec() -> dict:
    # For their limits; they import this module (api) or api, so not at the top.
    from . import api, history, selection

    return {
        "openapi": "3.1.0",
        "info": {"title": "Cloud Image Gallery API", "version": "1.0.0"},
        "paths": {
            **image_paths(api.LIST_LIMIT, api.SUGGEST_LIMIT),
            **history_paths(api.LIST_LIMIT, selection.MAX_SELECTION, history.RESTORE_ON_CONFLICT),
            **media_paths(),
            **direct_upload_paths(),
            **cache_paths(),
            "/api/process": process_path(),
            "/api/free-key": free_key_path(),
            "/api/recognize": recognize_path(),
            "/healthz": {
                "get": {
                    "summary": "Liveness",
                    "responses": {
                        "200": {"description": "The app is up; status ok or degraded, and each backend's check"}
                    },
                }
            },
        },
        "components": {"schemas": {"Error": ERROR, "ImageRecord": RECORD, "Version": VERSION, "Trashed": TRASHED}},
    }
