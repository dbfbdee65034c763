"""The registration form's page on GET: what its address asks, and its token-free kept copy.

The page is the same for every visitor who holds nothing but a CSRF token, apart from that
token: irev.kept_pages keeps it rendered and typeset once per version of what it shows (the
offer every published cycle makes, the demonstration banner, the footer's accessibility
mention) and per variant of the address, and writes each visitor's own token in. A ?seance=
that names no meeting on offer ticks nothing, so it is served the copy of the plain address
(the same bytes as today's render of it); anyone who holds more than a token (a message to
show, the address a form was sent for, staff) gets the page rendered as before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from flask import render_template, request
from werkzeug.datastructures import MultiDict

from irev import kept_pages
from irev.registration.forms import FOR_OFFICIAL, RegistrationForm
from irev.registration.helpers import form_page_version, offered_slugs

#: Longer ?seance= values are no slug: ignored rather than kept as keys of the form's parts.
SLUG_MAX = 120


@dataclass(frozen=True)
class FormQuery:
    """What the address of the form asks: a meeting to tick, the assistants' variant."""

    #: The ?seance= value ("" without one, or when it is too long to be a slug).
    seance: str = ""
    #: ?pour=elu: the assistants' link (« inscrire un autre élu »), « J’inscris un élu » chosen.
    for_official: bool = False

    @classmethod
    def from_args(cls, args: MultiDict) -> FormQuery:
        """Read the query string (any other parameter or value changes nothing on the page)."""
        wanted = args.get("seance", "")
        return cls(
            seance=wanted if len(wanted) <= SLUG_MAX else "",
            for_official=args.get("pour") == FOR_OFFICIAL,
        )

    def form(self, *, csrf: bool = True) -> RegistrationForm:
        """Build the empty form this address asks for (csrf=False: no token made for it)."""
        page_form = RegistrationForm() if csrf else RegistrationForm(meta={"csrf": False})
        if self.for_official:
            page_form.for_whom.data = FOR_OFFICIAL
        if self.seance:
            page_form.meetings.data = [self.seance]
        return page_form


def render_page(query: FormQuery, *, csrf: bool = True) -> str:
    """Render the form page for this address, as every visitor gets it."""
    return render_template(
        "registration/form.html", form=query.form(csrf=csrf), notice="", with_errors=False
    )


def form_page(query: FormQuery) -> str:
    """Return the form page: the kept copy with the visitor's token, else a normal render."""
    page = kept_pages.page(
        lambda: ("registration.form", _shown(query), bool(request.htmx), request.script_root),
        form_page_version,
        lambda: render_page(_shown(query), csrf=False),
    )
    return page if page is not None else render_page(query)


def _shown(query: FormQuery) -> FormQuery:
    """Return the variant whose copy this address gets: a ?seance= naming no meeting on offer
    ticks nothing, the plain page's bytes."""
    if query.seance and query.seance not in offered_slugs():
        return replace(query, seance="")
    return query
