"""Meetings as the public sees them: which ones are shown, and the state of their seats."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from irev.dates import short_date
from irev.extensions import db
from irev.models import Meeting, MeetingStatus, Programme, Registration, RegistrationState, utcnow
from irev.services.programmes import current_first

#: Statuses a visitor may see; drafts stay private.
PUBLIC_STATUSES = (MeetingStatus.PUBLISHED, MeetingStatus.CANCELLED)


class PublicState(enum.StrEnum):
    """Where a meeting stands for someone who would like to attend."""

    OPEN = "open"
    FULL = "full"  # registration open, every seat taken: new people join the waiting list
    NOT_YET_OPEN = "not_yet_open"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    PAST = "past"


#: Short French label per state, shown in the badge.
STATE_LABELS: dict[PublicState, str] = {
    PublicState.OPEN: "Inscriptions ouvertes",
    PublicState.FULL: "Complet : liste d'attente",
    PublicState.NOT_YET_OPEN: "Inscriptions bientôt ouvertes",
    PublicState.CLOSED: "Inscriptions closes",
    PublicState.CANCELLED: "Séance annulée",
    PublicState.PAST: "Séance passée",
}

#: States in which the seat count may still move, so the page keeps it fresh.
LIVE_STATES = frozenset({PublicState.OPEN, PublicState.FULL, PublicState.NOT_YET_OPEN})


@dataclass(frozen=True)
class SeatStatus:
    """The seats of one meeting and what a visitor can do about them, ready to display."""

    state: PublicState
    capacity: int
    seats_left: int
    waiting: int
    opens_at: datetime | None
    closes_at: datetime | None
    #: False while a started meeting is still running.
    ended: bool = False

    @property
    def label(self) -> str:
        """Return the French badge text."""
        if self.state is PublicState.PAST and not self.ended:
            return "Séance en cours"
        return STATE_LABELS[self.state]

    @property
    def can_register(self) -> bool:
        """Return True when the registration form accepts this meeting (seat or waiting list)."""
        return self.state in (PublicState.OPEN, PublicState.FULL)

    @property
    def is_live(self) -> bool:
        """Return True when the count may still change and is worth polling."""
        return self.state in LIVE_STATES

    @property
    def token(self) -> str:
        """Return a short fingerprint of what is shown, to tell whether it changed."""
        return f"{self.state.value}:{self.seats_left}"

    @property
    def sentence(self) -> str:
        """Return a French sentence on the seats left and what to expect ("" when it is over)."""
        if self.state in (PublicState.CANCELLED, PublicState.PAST):
            return ""  # the badge says it all
        if self.state is PublicState.FULL:
            return (
                f"{seats_phrase(0, self.capacity)}. Vous pouvez vous inscrire sur la liste "
                "d'attente : vous recevrez un courriel si une place se libère."
            )
        seats = seats_phrase(self.seats_left, self.capacity)
        if self.state is PublicState.NOT_YET_OPEN and self.opens_at:
            return f"{seats}. Les inscriptions ouvriront le {short_date(self.opens_at)}."
        if self.state is PublicState.CLOSED:
            return f"{seats}. Les inscriptions sont closes."
        return f"{seats}."


def seats_phrase(seats_left: int, capacity: int) -> str:
    """Return "12 places restantes sur 100", with the right French singular or plural."""
    if seats_left == 0:
        return f"Aucune place restante sur {capacity}"
    if seats_left == 1:
        return f"1 place restante sur {capacity}"
    return f"{seats_left} places restantes sur {capacity}"


def public_state(meeting: Meeting, now: datetime | None = None) -> PublicState:
    """Return the state of a meeting as the public sees it."""
    now = now or utcnow()
    if meeting.is_cancelled:
        return PublicState.CANCELLED
    if meeting.is_past(now):
        return PublicState.PAST
    if meeting.registration_opens_at and now < meeting.registration_opens_at:
        return PublicState.NOT_YET_OPEN
    if not meeting.registration_open(now):
        return PublicState.CLOSED
    return PublicState.FULL if meeting.seats_left == 0 else PublicState.OPEN


def seat_status(
    meeting: Meeting, now: datetime | None = None, *, waiting: int | None = None
) -> SeatStatus:
    """Return the seats, waiting list and state of a meeting, from the database as it is now.

    waiting: the length of its waiting list when the caller already counted it (waiting_counts).
    """
    now = now or utcnow()
    state = public_state(meeting, now)
    if state is not PublicState.FULL:
        waiting = 0
    elif waiting is None:
        waiting = waiting_count(meeting)
    return SeatStatus(
        state=state,
        capacity=meeting.capacity,
        seats_left=meeting.seats_left,
        waiting=waiting,
        opens_at=meeting.registration_opens_at,
        closes_at=meeting.registration_closes_at,
        ended=meeting.ends_at <= now,
    )


def waiting_count(meeting: Meeting) -> int:
    """Return how many people are on the meeting's waiting list."""
    return db.session.scalar(
        db.select(db.func.count(Registration.id)).where(
            Registration.meeting_id == meeting.id,
            Registration.state == RegistrationState.WAITING,
        )
    )


def waiting_counts(meetings: list[Meeting]) -> dict[int, int]:
    """Return the waiting-list length of each meeting (0 included), in one statement.

    One statement whatever the meetings: the cost of a page never depends on how many of its
    meetings are full (only those show their waiting list).
    """
    ids = [meeting.id for meeting in meetings]
    counts = dict.fromkeys(ids, 0)
    if ids:
        rows = db.session.execute(
            db.select(Registration.meeting_id, db.func.count(Registration.id))
            .where(
                Registration.meeting_id.in_(ids),
                Registration.state == RegistrationState.WAITING,
            )
            .group_by(Registration.meeting_id)
        )
        counts.update({meeting_id: count for meeting_id, count in rows})
    return counts


def find_public_meeting(slug: str) -> Meeting | None:
    """Return the published or cancelled meeting with this slug, of a published programme."""
    return db.session.scalar(
        db.select(Meeting)
        .join(Meeting.programme)
        .where(
            Meeting.slug == slug,
            Meeting.status.in_(PUBLIC_STATUSES),
            Programme.published.is_(True),
        )
    )


class MeetingNotFound(LookupError):
    """No public meeting has this slug (unknown, draft, or of an unpublished programme)."""


def get_public_meeting(slug: str) -> Meeting:
    """Return the public meeting with this slug, or raise MeetingNotFound (the site says 404)."""
    meeting = find_public_meeting(slug)
    if meeting is None:
        raise MeetingNotFound(slug)
    return meeting


def public_meetings(programme: Programme) -> list[Meeting]:
    """Return the programme's published and cancelled meetings, in date order."""
    return list(
        db.session.scalars(
            db.select(Meeting)
            .where(Meeting.programme_id == programme.id, Meeting.status.in_(PUBLIC_STATUSES))
            .order_by(Meeting.starts_at, Meeting.id)
        )
    )


def calendar_modified(programme: Programme, meeting: Meeting | None = None) -> datetime:
    """Return when a calendar feed last changed: its meeting, or any meeting of the programme.

    The whole programme counts (not only the meetings the feed shows): a meeting taken off
    the feed changes it too. The programme itself counts for what its text adds.
    """
    if meeting is not None:
        moments = [meeting.updated_at, programme.updated_at]
    else:
        latest = db.session.scalar(
            db.select(db.func.max(Meeting.updated_at)).where(Meeting.programme_id == programme.id)
        )
        moments = [latest, programme.updated_at]
    return max(moment for moment in moments if moment is not None)


def form_meetings(slugs: Sequence[str] | None = None) -> list[tuple[Meeting, bool]]:
    """Return every published cycle's public meetings, date order, each with "is current".

    One statement: the registration form offers them all (an archived cycle's coming meeting
    stays open to registration, as its page says), and « toute la saison » takes only the
    current cycle's. slugs: only those (a submitted form needs the meetings it names).
    """
    statement = _form_statement()
    if slugs is not None:
        if not slugs:
            return []
        statement = statement.where(Meeting.slug.in_(sorted(set(slugs))))
    return [(meeting, bool(current)) for meeting, current in db.session.execute(statement)]


@cache
def _form_statement():
    """Build the statement of form_meetings() once (it has no parameter)."""
    current = (
        db.select(Programme.id)
        .where(Programme.published.is_(True))
        .order_by(*current_first())
        .limit(1)
        .scalar_subquery()
    )
    published = db.select(Programme.id).where(Programme.published.is_(True))
    return (
        db.select(Meeting, (Meeting.programme_id == current).label("is_current"))
        .where(Meeting.programme_id.in_(published), Meeting.status.in_(PUBLIC_STATUSES))
        .order_by(Meeting.starts_at, Meeting.id)
    )


def upcoming_meetings(programme: Programme, now: datetime | None = None) -> list[Meeting]:
    """Return the public meetings not yet started, soonest first."""
    now = now or utcnow()
    return [m for m in public_meetings(programme) if not m.is_past(now)]


def is_running(meeting: Meeting, now: datetime | None = None) -> bool:
    """Return True while a published meeting is taking place (started, not ended)."""
    now = now or utcnow()
    return meeting.is_published and meeting.starts_at <= now < meeting.ends_at


def running_meetings(programme: Programme, now: datetime | None = None) -> list[Meeting]:
    """Return the public meetings taking place right now, in date order."""
    now = now or utcnow()
    return [m for m in public_meetings(programme) if is_running(m, now)]


def past_meetings(programme: Programme, now: datetime | None = None) -> list[Meeting]:
    """Return the public meetings that have started and are not running, most recent first."""
    now = now or utcnow()
    return [
        m for m in reversed(public_meetings(programme)) if m.is_past(now) and not is_running(m, now)
    ]


def speaker_text(speaker: dict[str, str]) -> str:
    """Return "Christophe Noyé (géographe, Cf. Géo)" for a speaker entry of a meeting."""
    role = speaker.get("role") or ""
    # "Géographe" reads "géographe" after a name; acronyms ("DGS") keep their capitals.
    role = role[:1].lower() + role[1:] if role[1:2].islower() else role
    details = ", ".join(part for part in (role, speaker.get("organisation") or "") if part)
    name = speaker.get("name") or ""
    return f"{name} ({details})" if details else name
