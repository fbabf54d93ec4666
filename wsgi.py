"""WSGI entry point for gunicorn (`wsgi:app`) and Zappa (`wsgi.app`)."""

from app import create_app

app = create_app()
