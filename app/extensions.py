"""The Flask extensions, created once and bound to each app by ``create_app``."""

from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
