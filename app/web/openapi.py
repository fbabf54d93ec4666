"""OpenAPI 3.1 description of the JSON API. Blueprints add their own paths to ``PATHS``."""

from __future__ import annotations

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
        "provenance": {"type": ["object", "null"]},
        "url": {"type": "string"},
        "thumb_url": {"type": "string"},
        "replaced": {"type": "boolean", "description": "Only on upload: the key existed and was replaced"},
    },
}


def error_responses(*codes: int) -> dict:
    described = {
        400: "Bad key or parameter, or missing CSRF token",
        404: "No image with this key",
        413: "File or image too large",
        415: "Not a supported image format",
        422: "Corrupt image or too many frames",
        503: "A storage backend is unavailable",
    }
    return {
        str(code): {
            "description": described[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code in codes
    }


def json_response(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


KEY_PARAM = {"name": "key", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 255}}
CSRF_HEADER = {
    "name": "X-CSRFToken",
    "in": "header",
    "required": False,
    "description": "The token from the page's <meta name=csrf-token>, sent with the session cookie.",
    "schema": {"type": "string"},
}
RECORD_REF = {"$ref": "#/components/schemas/ImageRecord"}

PATHS: dict[str, dict] = {
    "/api/images": {
        "get": {
            "summary": "List images, newest first, by cursor",
            "parameters": [
                {"name": "prefix", "in": "query", "schema": {"type": "string"}},
                {"name": "label", "in": "query", "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
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
        "post": {
            "summary": "Upload an image under a key (replaces an existing key)",
            "parameters": [CSRF_HEADER],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file", "key"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "key": {"type": "string", "maxLength": 255},
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
        },
    },
    "/api/images/{key}": {
        "get": {
            "summary": "One image's record",
            "parameters": [KEY_PARAM],
            "responses": {"200": json_response("The record", RECORD_REF), **error_responses(400, 404)},
        },
        "delete": {
            "summary": "Delete an image",
            "parameters": [KEY_PARAM, CSRF_HEADER],
            "responses": {"204": {"description": "Deleted"}, **error_responses(400, 404)},
        },
    },
    "/api/keys": {
        "get": {
            "summary": "Keys starting with a prefix, for autocompletion",
            "parameters": [
                {"name": "prefix", "in": "query", "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
            ],
            "responses": {
                "200": json_response(
                    "Matching keys",
                    {"type": "object", "properties": {"keys": {"type": "array", "items": {"type": "string"}}}},
                ),
                **error_responses(400),
            },
        }
    },
    "/api/cache/stats": {
        "get": {
            "summary": "Image cache statistics",
            "responses": {
                "200": json_response(
                    "Counters",
                    {
                        "type": "object",
                        "properties": {
                            name: {"type": "number"}
                            for name in ("hits", "misses", "hit_rate", "items", "bytes", "capacity_bytes", "requests")
                        }
                        | {"policy": {"type": "string"}},
                    },
                )
            },
        }
    },
    "/api/cache/clear": {
        "post": {
            "summary": "Empty the image cache",
            "parameters": [CSRF_HEADER],
            "responses": {"200": {"description": "Statistics after clearing"}, **error_responses(400)},
        }
    },
    "/healthz": {
        "get": {
            "summary": "Liveness",
            "responses": {"200": {"description": "The app is up; status ok or degraded, and each backend's check"}},
        }
    },
}


def spec() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Cloud Image Gallery API", "version": "1.0.0"},
        "paths": PATHS,
        "components": {"schemas": {"Error": ERROR, "ImageRecord": RECORD}},
    }
