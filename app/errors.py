"""Domain errors. The web layer maps each to an HTTP status and a JSON/HTML body."""


class GalleryError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidKey(GalleryError):
    status = 400
    code = "invalid_key"


class InvalidParameter(GalleryError):
    status = 400
    code = "invalid_parameter"


class NotFound(GalleryError):
    status = 404
    code = "not_found"


class TooLarge(GalleryError):
    status = 413
    code = "too_large"


class NotAnImage(GalleryError):
    status = 415
    code = "unsupported_media_type"


class BadImage(GalleryError):
    """Recognised as an image format but cannot be used (corrupt, too many pixels or frames)."""

    status = 422
    code = "unprocessable_image"


class BackendUnavailable(GalleryError):
    status = 503
    code = "backend_unavailable"
