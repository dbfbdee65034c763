"""The staff list of registrations: what is the same for every row built once, and what the
page shows of its meeting and its rows read once per freshness window (irev.admin.kept_rows).

Fifty rows of about ten links and buttons each were most of the list page's cost, each link
built by url_for (Werkzeug's rule matching, converters, query encoding). The links of one
meeting's rows differ only by an id, so each kind is built once per page by url_for itself,
with a placeholder id, and each row puts its own id in the placeholder's place: the bytes are
url_for's (tests/test_admin_list_speed.py compares the page with the former one).

What a row may do depends on its state and on whether the meeting has started: asked of the
model (Registration.allowed_actions, the one source of the rule) once per state and page, not
once per row through each row's meeting relationship.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import abort, g, render_template, url_for
from markupsafe import Markup

from irev.admin.kept_rows import RowsPage, kept_rows
from irev.extensions import db
from irev.models import (
    Action,
    ApprovalMode,
    Meeting,
    MeetingStatus,
    Registration,
    RegistrationState,
    utcnow,
)
from irev.services import moderation
from irev.services.moderation import STATE_LABELS, MeetingCounters, RegistrationFilters

#: An id no URL of these endpoints holds otherwise (a meeting id appears in some of them).
_PLACEHOLDER = "918273645"


@dataclass(frozen=True)
class IdLink:
    """A URL built once by url_for, with a slot where each row's id goes."""

    head: str
    tail: str

    def __call__(self, object_id: int) -> str:
        return f"{self.head}{int(object_id)}{self.tail}"


def id_link(endpoint: str, id_name: str, **values) -> IdLink:
    """Build endpoint's URL once, keeping a slot for the id named id_name."""
    url = url_for(endpoint, **{id_name: int(_PLACEHOLDER)}, **values)
    head, found, tail = url.partition(_PLACEHOLDER)
    if not found or _PLACEHOLDER in tail:
        raise ValueError(f"{endpoint}: the id's place is not unique in {url}")
    return IdLink(head, tail)


@dataclass(frozen=True)
class RowLinks:
    """Every link and form action of the rows of one meeting's list."""

    person: IdLink
    approve: IdLink
    promote: IdLink
    reject: IdLink
    cancel: IdLink


def row_links(meeting_id: int) -> RowLinks:
    """Return the links of a meeting's rows; reject and cancel come back to its list."""
    back_to = url_for("admin.registrations", meeting_id=meeting_id)
    return RowLinks(
        person=id_link("admin.person", "person_id"),
        approve=id_link("admin.approve", "registration_id"),
        promote=id_link("admin.promote", "registration_id"),
        reject=id_link("admin.reject", "registration_id", retour=back_to),
        cancel=id_link("admin.cancel_seat", "registration_id", retour=back_to),
    )


def actions_by_state(
    registrations: Iterable[Registration], now: datetime | None = None
) -> dict[RegistrationState, frozenset[Action]]:
    """Return what may be done to each state of these registrations, all of one meeting."""
    now = now or utcnow()
    found: dict[RegistrationState, frozenset[Action]] = {}
    for registration in registrations:
        if registration.state not in found:
            found[registration.state] = registration.allowed_actions(now)
    return found


@dataclass(frozen=True)
class MeetingHead:
    """What the list page shows of its meeting, with its counts by state: values, no ORM row.

    Read (two statements) once per freshness window and kept: nothing in it is the visitor's.
    """

    id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    status: MeetingStatus
    approval_mode: ApprovalMode
    seats_taken: int
    capacity: int
    by_state: dict[RegistrationState, int]

    # The model's own rules, applied to these values.
    is_published = Meeting.is_published
    is_cancelled = Meeting.is_cancelled
    is_past = Meeting.is_past

    @property
    def counters(self) -> MeetingCounters:
        """Return the counters the page shows (seats from the meeting, the rest by state)."""
        return MeetingCounters(self, self.by_state)  # type: ignore[arg-type]


def meeting_head(meeting_id: int) -> MeetingHead:
    """Return the list's meeting, kept while fresh; 404 when there is no such meeting."""
    return kept_rows().get_or_render(("meeting", meeting_id), lambda: _read_head(meeting_id))


def _read_head(meeting_id: int) -> MeetingHead:
    """Read the meeting and its counts by state."""
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        abort(404)
    # Held for the request: rows rendered next find it in the session instead of reading it.
    g.irev_list_meeting = meeting
    return MeetingHead(
        id=meeting.id,
        title=meeting.title,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        status=meeting.status,
        approval_mode=meeting.approval_mode,
        seats_taken=meeting.seats_taken,
        capacity=meeting.capacity,
        by_state=moderation.meeting_counters(meeting).by_state,
    )


def rows_page(meeting: MeetingHead, filters: RegistrationFilters) -> RowsPage:
    """Return the page of rows the filters select, kept between requests (see kept_rows)."""
    now = utcnow()
    key = (meeting.id, meeting.is_past(now), filters.state, filters.department)
    key += (filters.mandate, filters.q, filters.page)
    return kept_rows().get_or_render(key, lambda: _render_rows(meeting, filters, now))


def _render_rows(meeting: MeetingHead, filters: RegistrationFilters, now: datetime) -> RowsPage:
    """Find one page of the list and render its rows (a count, the page, its positions)."""
    page = moderation.list_registrations(meeting, filters)
    html = ""
    # The rows' Registration.meeting, which allowed_actions() asks, comes from the session.
    held = db.session.get(Meeting, meeting.id)
    if page.rows and held is not None:
        html = render_template(
            "admin/_registration_rows.html",
            meeting=meeting,
            page=page,
            now=now,
            labels=STATE_LABELS,
        )
    return RowsPage(page.total, page.page, page.pages, Markup(html))


def head_html(meeting: MeetingHead, filters: RegistrationFilters) -> Markup:
    """Return the page above its results, kept while fresh and made from this meeting head."""
    key = ("head", meeting.id, filters.state, filters.department, filters.mandate, filters.q)
    kept = kept_rows().get_or_render(
        key, lambda: (meeting, _render_head(meeting, filters)), lambda kept: kept[0] is meeting
    )
    return kept[1]


def _render_head(meeting: MeetingHead, filters: RegistrationFilters) -> Markup:
    """Render the meeting, its counters, its links and the filters of the list page."""
    html = render_template(
        "admin/_registrations_head.html",
        meeting=meeting,
        counters=meeting.counters,
        filters=filters,
        labels=STATE_LABELS,
        mandates=moderation.mandate_choices(),
        departments=moderation.department_choices(),
    )
    return Markup(html)
