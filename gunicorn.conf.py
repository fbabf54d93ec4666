"""Production gunicorn settings (`gunicorn -c gunicorn.conf.py wsgi:app`).

One worker process with threads by default, so the in-process cache is shared by every
request; with GALLERY_CACHE=memcached, raise GALLERY_WORKERS to use more cores. The variables
read here are declared with every other setting in app/config.py (and the README's table).
"""

from app.buffered_worker import BufferingThreadWorker
from app.config import load_settings

settings = load_settings()
bind = f"{settings.host}:{settings.port}"
workers = settings.workers
threads = settings.threads
# gthread, except that the main loop reads each request whole before a thread gets it, so slow
# or stalled clients hold no thread. GALLERY_READ_TIMEOUT is how long a client has to send a
# request's headers and body, plus a second per 64 KiB sent (a slow upload still finishes); then
# it gets a 408 and is closed. A body declared above the upload limit plus 1 MiB gets a 413
# before it is read.
worker_class = BufferingThreadWorker.configured(
    read_timeout=settings.read_timeout,
    max_body=settings.max_upload_bytes + 1024 * 1024,
)
timeout = 60
graceful_timeout = 20
keepalive = 5
max_requests = 0  # never recycle: the in-process cache would start cold
accesslog = "-"
# gunicorn's control socket sits at one fixed path per user, shared by every server started
# (tests and benches start their own); nothing here uses it.
control_socket_disable = True
forwarded_allow_ips = settings.forwarded_allow_ips
