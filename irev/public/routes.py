"""Routes of the public pages."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import text

from irev.extensions import db
from irev.public import bp
from irev.services.programmes import get_current_programme


@bp.get("/")
def index():
    """Show the programme: upcoming meetings, planned topics, past meetings, contact."""
    programme = get_current_programme()
    return render_template("public/index.html", programme=programme)


@bp.get("/healthz")
def healthz():
    """Answer 200 when the database answers, 503 otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        return {"status": "indisponible"}, 503
    return {"status": "ok"}, 200
