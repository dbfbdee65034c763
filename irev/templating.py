"""Jinja filters and globals shared by every template."""

from __future__ import annotations

import itertools
from pathlib import Path

from flask import Flask, has_request_context, request
from jinja2 import Template
from markupsafe import Markup

from irev import dates, salutations, typography
from irev.services.reference import needs_summary
from irev.wording import plural


def htmx_filename(static_folder: str) -> str:
    """Return the installed htmx file name under static/vendor (installed by `make`)."""
    found = sorted(Path(static_folder, "vendor").glob("htmx-*.min.js"))
    return found[-1].name if found else "htmx.min.js"


#: The staff area is left as typed (its own words, « e-mail » included): only what the public
#: reads, pages and e-mails, is typeset.
STAFF_TEMPLATES = ("admin/",)


#: Key of the WSGI environ: HTML pieces already typeset, waiting for their place in the page
#: (per request, not flask.g: an app context, hence g, may outlive a request).
TYPESET = "irev.typeset_pieces"
_numbers = itertools.count()


def typeset_piece(html: str) -> Markup:
    """Return a marker that the page's render replaces with html, after the page's typography.

    For fragments kept by the page cache: they were typeset when first rendered, and reading
    them again through the typography of every page that shows them is most of their cost.
    """
    pieces = request.environ.setdefault(TYPESET, {})
    marker = f"<!--irev-piece-{next(_numbers)}-->"
    pieces[marker] = html
    return Markup(marker)


def _fill_pieces(output: str) -> str:
    """Put the typeset pieces in place of their markers."""
    pieces = request.environ.get(TYPESET) if has_request_context() else None
    if not pieces:
        return output
    for marker in [m for m in pieces if m in output]:
        output = output.replace(marker, pieces.pop(marker), 1)
    return output


class FrenchTemplate(Template):
    """A template whose rendered text gets French typography (irev.typography), once.

    Only the template a view or an e-mail renders is transformed (what it includes is part of
    its output), after rendering: the typography is never typed by hand in a template, and a
    page kept by the page cache pays for it once.
    """

    def render(self, *args, **kwargs) -> str:
        """Render, then apply the typography that fits the template's kind (HTML or text)."""
        output = super().render(*args, **kwargs)
        name = self.name or ""
        if name.startswith(STAFF_TEMPLATES):
            return _fill_pieces(output)
        if name.endswith(".html"):
            return _fill_pieces(typography.french_html(output))
        if name.endswith(".txt"):
            return typography.french(output)
        return _fill_pieces(output)


def init_app(app: Flask) -> None:
    """Register the French date filters and the site-wide template globals."""
    from irev.services.programmes import staff_title

    app.jinja_env.template_class = FrenchTemplate
    app.jinja_env.filters.update(
        staff_title=staff_title,
        long_date=dates.long_date,
        short_date=dates.short_date,
        hour=dates.hour,
        date_time=dates.date_time,
        iso_local=dates.iso_local,
        french=typography.french,
    )
    app.jinja_env.globals.update(
        meeting_when=dates.meeting_when,
        salutation_for=salutations.salutation_for,
        agree=salutations.agree,
        civilite_label=lambda value: salutations.CIVILITE_LABELS.get(value or "", ""),
        needs_summary=needs_summary,
        plural=plural,
        htmx_file=htmx_filename(app.static_folder or "static"),
    )
    from irev.services.accessibility_audit import footer_mention

    app.jinja_env.globals["accessibility_mention"] = footer_mention
    from irev import kept_pages

    kept_pages.init_app(app)  # after Flask-WTF: its csrf_token() gains the kept copies' placeholder
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
