"""The Flask extensions, created once and bound to each app by ``create_app``."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
# Per client address, in memory (per worker process). The limits themselves are decorators on
# the views (web/ratelimits.py) that read the app's configured values on each request. The counters
# belong to the limiter: each init_app starts them afresh (one app per process in production).
limiter = Limiter(key_func=get_remote_address, storage_uri="memory://", headers_enabled=True, default_limits=[])
