"""Production gunicorn settings (`gunicorn -c gunicorn.conf.py wsgi:app`), behind nginx only.

gunicorn's gthread worker gives a thread to each connection that has sent something, and that
thread waits on the client: a slow or stalled client holds it. So, as gunicorn's deployment docs
say, gunicorn listens on loopback behind nginx (deploy/nginx.conf, deploy/gallery.service), which
reads every request whole and takes every response whole before a thread is involved.
`make run`, which faces clients itself, uses waitress instead (serve.py).

One worker process with threads by default, so the in-process cache is shared by every request;
with GALLERY_CACHE=memcached, raise GALLERY_WORKERS to use more cores. The variables read here
are declared with every other setting in app/config.py (and the README's table).
"""

from gunicorn.glogging import Logger

from app.config import load_settings
from app.core.redaction import RedactingFilter, redact


class RedactingLogger(Logger):
    """gunicorn's logger with share tokens left out: a share link's path is logged as
    /s/<redacted> in every access log field (request line, path, Referer, headers, environ), whatever
    --access-logformat says, and in the error log."""

    def setup(self, cfg):
        super().setup(cfg)
        self.error_log.addFilter(RedactingFilter())

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {name: redact(value) if isinstance(value, str) else value for name, value in atoms.items()}


settings = load_settings()
bind = f"{settings.host}:{settings.port}"
worker_class = "gthread"
workers = settings.workers
threads = settings.threads
timeout = 60
graceful_timeout = 20
keepalive = 5  # nginx's upstream keepalive reuses these connections; below its keepalive_timeout
max_requests = 0  # never recycle: the in-process cache would start cold
accesslog = "-"
logger_class = RedactingLogger  # never a share link's token in a log
# gunicorn's control socket sits at one fixed path per user, shared by every server started
# (tests and benches start their own); nothing here uses it.
control_socket_disable = True
forwarded_allow_ips = settings.forwarded_allow_ips
