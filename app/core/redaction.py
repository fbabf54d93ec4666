"""Share tokens out of logs: a share link's token opens what it shares, so a log line must never
hold one. Servers' access logs (gunicorn.conf.py) and the app's own error log pass through here."""

from __future__ import annotations

import re

# "/s/<token>" at the start of a path, after a space or quote (a request line), or after a host
# (a Referer URL); "/images/s/..." (a key in a folder named s) is left alone.
SHARE_PATH = re.compile(r"""(^|[\s"']|//[^/\s"']+)/s/[^/?#\s"']+""")
REDACTED = r"\1/s/<redacted>"


def redact(text: str) -> str:
    return SHARE_PATH.sub(REDACTED, text) if "/s/" in text else text
