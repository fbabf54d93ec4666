"""Share tokens out of logs: a share link's token opens what it shares, so a log line must never
hold one. Servers' access logs (gunicorn.conf.py) and the app's own error log pass through here."""

from __future__ import annotations

import logging
import re

# "/s/<token>" at the start of a path, after a space or quote (a request line), or after a host
# (a Referer URL); "/images/s/..." (a key in a folder named s) is left alone.
SHARE_PATH = re.compile(r"""(^|[\s"']|//[^/\s"']+)/s/[^/?#\s"']+""")
REDACTED = r"\1/s/<redacted>"


def redact(text: str) -> str:
    return SHARE_PATH.sub(REDACTED, text) if "/s/" in text else text


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites each record's message without share tokens (servers' error
    logs name the path of a request that failed)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/s/" in message:
            record.msg, record.args = redact(message), None
        return True
