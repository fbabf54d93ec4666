"""Image Processing tab (placeholder until the processing issue lands)."""

from flask import Blueprint, render_template

bp = Blueprint("processing", __name__)


@bp.get("/process")
def process_page():
    return render_template("process.html")
