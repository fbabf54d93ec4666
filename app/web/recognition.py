"""Image Recognition tab (placeholder until the recognition issue lands)."""

from flask import Blueprint, render_template

bp = Blueprint("recognition", __name__)


@bp.get("/recognize")
def recognize_page():
    return render_template("recognize.html")
