"""OpenAPI 3.1 description of the JSON API, built on each request from what validates requests:
the key length (``keys``), the list limits (``web.api``), the operation table and output formats
(``processing.params``), the recognition bounds (``recognition.shape``), the accepted formats
(``formats``), the search limits (``search``) and the error classes (``errors``). A limit changed in code changes the document;
no number here is written by hand."""

from __future__ import annotations

from .. import errors, formats, keys, search
from ..processing import params
from ..recognition import shape

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
        "url": {"type": "string"},
        "thumb_url": {"type": "string"},
        "replaced": {"type": "boolean", "description": "Only on upload: the key existed and was replaced"},
    },
}
RECORD_REF = {"$ref": "#/components/schemas/ImageRecord"}

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


def param_schema(p: params.Param) -> dict:
    """One operation parameter, as ``Param.parse`` accepts it."""
    schema = {
        "int": {"type": "integer"},
        "float": {"type": "number"},
        "choice": {"type": "string", "enum": list(p.choices)},
        "bool": {"type": "boolean"},
        "color": {"type": "string", "description": "#rgb, #rrggbb, #rrggbbaa or transparent"},
    }[p.kind]
    if p.lo is not None:
        schema.update(minimum=p.lo, maximum=p.hi)
    if p.default is not None:
        schema["default"] = p.default
    if p.help:
        schema["description"] = p.help + (" Odd." if p.odd else "")
    return schema


def step_schema() -> dict:
    """One pipeline step: a choice of the operations of ``params.OPS``, each with its parameters."""
    return {
        "oneOf": [
            {
                "type": "object",
                "description": spec.help,
                "required": ["op"],
                "additionalProperties": False,
                "properties": {"op": {"const": spec.name}, **{p.name: param_schema(p) for p in spec.params}},
            }
            for spec in params.OPS.values()
        ]
    }


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
                    query("q", search_schema()),
                    query("batch", batch_schema()),
                    query("limit", bounded("integer", list_limit)),
                    query("cursor", {"type": "string"}),
                ],
                "responses": {
                    "200": json_response(
                        "A page of records",
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
                    "summary": "Upload an image under a key (replaces an existing key)",
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
                                        "batch": batch_schema(),
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": json_response("Stored under a new key", RECORD_REF),
                        "200": json_response("Replaced the image of an existing key", RECORD_REF),
                        **error_responses(400, 413, 415, 422, 503),
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
                    "summary": "Delete an image",
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
    }
    return {
        "post": write(
            {
                "summary": f"Run a pipeline of up to {params.MAX_STEPS} steps on an upload or a gallery image; "
                "preview or save it",
                "description": "One decode, the steps in order, one encode. Results are cached by (source sha256, "
                "normalised steps, format, quality): a repeat answers with X-Cache: hit.",
                "requestBody": {
                    "content": {media: {"schema": {"type": "object", "properties": fields}} for media in FORM_MEDIA}
                },
                "responses": {
                    "200": {
                        "description": "The processed image (without save_as), or the replaced record (with it)",
                        "headers": {
                            name: {"schema": {"type": "string"}}
                            for name in ("X-Image-Width", "X-Image-Height", "X-Processing-Ms", "X-Cache")
                        },
                        "content": {
                            mime: {"schema": {"type": "string", "format": "binary"}} for mime in params.FORMATS.values()
                        },
                    },
                    "201": json_response("Saved as a new gallery image; provenance says how it was made", RECORD_REF),
                    **error_responses(400, 404, 413, 415, 422, 503),
                },
            }
        )
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
                    **error_responses(400, 404, 413, 415, 422, 503),
                },
            }
        )
    }


def cache_paths() -> dict:
    counters = ("hits", "misses", "hit_rate", "items", "bytes", "capacity_bytes", "requests")
    stats = {"type": "object", "properties": {name: {"type": "number"} for name in counters}}
    stats["properties"]["policy"] = {"type": "string"}
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
    from . import api  # for its list limits; api imports this module, so not at the top

    return {
        "openapi": "3.1.0",
        "info": {"title": "Cloud Image Gallery API", "version": "1.0.0"},
        "paths": {
            **image_paths(api.LIST_LIMIT, api.SUGGEST_LIMIT),
            **cache_paths(),
            "/api/process": process_path(),
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
        "components": {"schemas": {"Error": ERROR, "ImageRecord": RECORD}},
    }
