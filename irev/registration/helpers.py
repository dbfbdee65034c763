"""Template helpers of the registration pages (registered on the blueprint, usable everywhere)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app, g, render_template, request, url_for
from markupsafe import Markup

from irev import page_cache
from irev.dates import meeting_when
from irev.models import Meeting, Person, Registration, RegistrationState
from irev.registration import bp
from irev.registration.forms import mandate_label as _mandate_label
from irev.services import cache
from irev.services import registrations as service
from irev.services.meetings import SeatStatus, seat_status, waiting_counts
from irev.templating import typeset_piece
from irev.tokens import make_token

#: Key of app.extensions: the form's meeting parts, apart from the public pages' cache (a
#: stream of ?seance= values must not push the programme page out).
FORM_PARTS = "irev_form_parts"
#: Key of the WSGI environ: this request's parts (the page and its form both show them).
OFFERED_PARTS = "irev.offered_parts"
#: Key of the WSGI environ: this request's reading of cache.offered_version().
OFFERED_VERSION = "irev.offered_version"


@bp.app_template_global()
def when(meeting: Meeting) -> str:
    """Return "Mercredi 1er mars 2023, de 17 h à 19 h" with no line break inside "17 h"."""
    text = meeting_when(meeting.starts_at, meeting.ends_at)
    text = re.sub(r"(\d) h\b", "\\1\u00a0h", text)
    return text[:1].upper() + text[1:]


@bp.app_template_global()
def manage_path(person: Person) -> str:
    """Return the site-relative self-service link of a person."""
    token = make_token("manage", {"p": person.id, "v": person.link_version})
    return url_for("registration.manage", token=token)


@bp.app_template_global()
def assistant_path(assistant: Person) -> str:
    """Return the site-relative self-service link of an assistant."""
    from irev.services.assistants import assistant_token

    return url_for("registration.assistant_page", token=assistant_token(assistant))


@bp.app_template_global()
def assistants_of(official: Person) -> list:
    """Return the links of an official to the assistants who manage their registrations.

    A list of many people preloads them all first (preload_assistants): one statement.
    """
    preloaded = g.get("irev_assistants")
    if preloaded is not None and official.id in preloaded:
        return preloaded[official.id]
    from irev.services.assistants import assistants_of as links

    return links(official)


@bp.app_template_global()
def preload_assistants(people_ids: list[int]) -> str:
    """Load the assistant links of many people at once for assistants_of(); render nothing."""
    from irev.services.assistants import assistants_by_official

    found = assistants_by_official(list(people_ids))
    g.irev_assistants = {person_id: found.get(person_id, []) for person_id in people_ids}
    return ""


@bp.app_template_global()
def officials_of(assistant: Person) -> list:
    """Return the links of an assistant to the officials whose registrations they manage."""
    from irev.services.assistants import officials_of as links

    return links(assistant)


@bp.app_template_global()
def official_title(official: Person) -> str:
    """Return « Madame la Maire, Claire Dupont » (the name alone without a civilité)."""
    from irev.services.assistants import official_title as title

    return title(official)


@bp.app_template_global()
def state_sentence(registration: Registration) -> str:
    """Return where a registration stands, in French, with the waiting position if any."""
    sentence = service.STATE_SENTENCES[registration.state]
    if registration.state is RegistrationState.WAITING:
        sentence += f", en position {service.waiting_position(registration)}"
    return sentence


@bp.app_template_global()
def can_cancel(registration: Registration) -> bool:
    """Return True when the person may still cancel this registration."""
    return registration.can_cancel()


bp.add_app_template_test(can_cancel, "cancellable")


@bp.app_template_global()
def cancel_label(registration: Registration) -> str:
    """Return the words of the cancel link that fit the registration's state."""
    if registration.state is RegistrationState.WAITING:
        return "Quitter la liste d’attente"
    if registration.state is RegistrationState.SEATED:
        return "Annuler mon inscription"
    return "Retirer ma demande"


@bp.app_template_global()
def seat_statuses(meetings: list[Meeting]) -> list[tuple[Meeting, SeatStatus]]:
    """Return (meeting, seat status) pairs, for the seat poll of the form."""
    counted = g.get("irev_waiting_counts")
    if counted is None:  # not preloaded by the route: one statement for all the waiting lists
        counted = g.irev_waiting_counts = waiting_counts(meetings)
    return [(m, seat_status(m, waiting=counted.get(m.id))) for m in meetings]


@bp.app_template_global()
def mandate_label(value: str) -> str:
    """Return the French label of a stored mandate."""
    return _mandate_label(value)


@bp.app_template_global()
def join_details(registration: Registration):
    """Return how to join a meeting on the day (a seat, once the link is due), else None."""
    from irev.services.video_links import join_details as details

    return details(registration)


@bp.app_template_global()
def calendar_links(meeting: Meeting) -> dict[str, str]:
    """Return the Outlook-on-the-web and Google Calendar links of a meeting (no video link)."""
    from irev.calendars import web_calendar_links

    return web_calendar_links(meeting)


@dataclass(frozen=True)
class OfferedParts:
    """What the registration form shows of the programme, rendered and typeset once."""

    choices_html: str
    poll_html: str
    #: How long the current programme keeps the data (None without a programme).
    retention_months: int | None
    #: The slugs of the meetings on offer (a ?seance= naming none of them ticks nothing).
    slugs: frozenset[str] = frozenset()

    def choices(self) -> Markup:
        """Return the meeting checkboxes with their seats (and « Toute la saison »)."""
        return typeset_piece(self.choices_html)

    def poll(self) -> Markup:
        """Return the seat poll of the form's meetings."""
        return typeset_piece(self.poll_html)


@bp.app_template_global()
def offered_parts(form) -> OfferedParts:
    """Return the form's meeting parts: kept between GET requests while the offer holds.

    They grow with the programme (100 meetings: most of the page) yet hold nothing of the
    visitor but the meeting ticked from ?seance=, which is part of the key. Only GET uses the
    kept copy; the form's CSRF token and fields are rendered for each visitor, outside them.
    After a failed POST they are rendered from the meetings the form was validated against.
    """
    found = request.environ.get(OFFERED_PARTS)
    if found is not None:
        return found
    chosen = tuple(form.meetings.data or ())
    whole_season = bool(form.whole_season.data)
    message = form.meetings.errors[0] if form.meetings.errors else ""
    if request.method == "GET":
        found = _kept_parts(chosen, whole_season, message)
    else:
        found = _render_offered(form.offered, chosen, whole_season, message)
    request.environ[OFFERED_PARTS] = found
    return found


def offered_slugs() -> frozenset[str]:
    """Return the slugs of the meetings on offer (from the kept parts: no SQL while fresh)."""
    return _kept_parts((), False, "").slugs


def _kept_parts(chosen: tuple[str, ...], whole_season: bool, message: str) -> OfferedParts:
    """Return the parts kept for these choices, rendered again once the offer changed."""
    kept = current_app.extensions.setdefault(FORM_PARTS, page_cache.PageCache(64))
    return kept.get_or_render(
        ("registration.form", chosen, whole_season, message),
        offered_version,
        lambda: _render_offered(service.offered_current_meetings(), chosen, whole_season),
        share=False,
    )


def offered_version() -> tuple:
    """Return cache.offered_version(), read once per request and commit generation.

    The kept page and its kept parts both follow it. A commit anywhere in the instance moves
    the generation, and the version is then read again: a reading from before a commit is
    never taken for one made after it.
    """
    generation = cache.freshness().stamp()[0]
    found = request.environ.get(OFFERED_VERSION)
    if found is None or found[0] != generation:
        found = request.environ[OFFERED_VERSION] = (generation, cache.offered_version())
    return found[1]


def form_page_version() -> tuple:
    """Return the version of everything the form page shows that can change.

    The offer (every published cycle's meetings, their seats and windows, which cycle is
    current, the date), and what the layout adds: the demonstration banner and the footer's
    accessibility mention (read from the audit grid's file).
    """
    from irev.services.accessibility_audit import footer_mention
    from irev.services.programmes import is_demo_site

    return offered_version(), cache.remember("demo_banner", is_demo_site), footer_mention()


def _render_offered(
    offered: list[Meeting], chosen: tuple[str, ...], whole_season: bool, message: str = ""
) -> OfferedParts:
    """Render the meeting choices and the seat poll of the form (one statement for the lists)."""
    counted = waiting_counts(offered)
    pairs = [(m, seat_status(m, waiting=counted.get(m.id))) for m in offered]
    choices = render_template(
        "registration/_meeting_choices.html",
        offered=offered,
        statuses={m.id: s for m, s in pairs},
        chosen=chosen,
        whole_season=whole_season,
        meeting_message=message,
    )
    poll = render_template("registration/_seats_poll.html", statuses=pairs)
    programme = offered[0].programme if offered else None
    return OfferedParts(
        choices,
        poll,
        programme.retention_months if programme else None,
        frozenset(m.slug for m in offered),
    )
