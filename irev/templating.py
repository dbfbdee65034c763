"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from irev import dates


def htmx_filename(static_folder: str) -> str:
    """Return the installed htmx file name under static/vendor (installed by `make`)."""
    found = sorted(Path(static_folder, "vendor").glob("htmx-*.min.js"))
    return found[-1].name if found else "htmx.min.js"


def init_app(app: Flask) -> None:
    """Register the French date filters and the site-wide template globals."""
    app.jinja_env.filters.update(
        long_date=dates.long_date,
        short_date=dates.short_date,
        hour=dates.hour,
        date_time=dates.date_time,
        iso_local=dates.iso_local,
    )
    app.jinja_env.globals.update(
        meeting_when=dates.meeting_when,
        htmx_file=htmx_filename(app.static_folder or "static"),
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def _demo_banner() -> dict[str, bool]:
        from sqlalchemy.exc import SQLAlchemyError

        from irev.extensions import db
        from irev.services import cache
        from irev.services.programmes import is_demo_site

        try:
            # Read again only after a commit or IREV_CACHE_SECONDS (irev.services.cache).
            return {"demo_banner": cache.remember("demo_banner", is_demo_site)}
        except SQLAlchemyError:
            # The error page must still render when the database is down.
            db.session.rollback()
            return {"demo_banner": False}
