"""``flask --app wsgi gallery init``: create what the configured backends need, idempotently."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from .errors import GalleryError

gallery_cli = AppGroup("gallery", help="Set up and inspect the gallery's backends.")


@gallery_cli.command("init")
def init_command():
    """Create the S3 bucket and DynamoDB table if missing (local backends need nothing) and say what was done."""
    try:
        for line in current_app.extensions["gallery"].provision():
            click.echo(line)
    except GalleryError as exc:
        raise click.ClickException(exc.message) from exc


def init_app(app) -> None:
    app.cli.add_command(gallery_cli)
