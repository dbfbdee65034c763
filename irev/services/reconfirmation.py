"""Seat reconfirmation: before a full meeting, seated people say « je confirme » or « je libère ».

Decisions:
- A meeting is FULL when no seat is left (seats_taken >= capacity, capacity above 0), whether
  or not someone waits at that instant: newcomers are turned away to the waiting list from
  then on, so every seat given back is worth asking for. The freed seat goes to the head of the
  waiting list at once (the one cancel path, irev.services.registration_moves), or back to the
  form when nobody waits.
- The question goes out a number of days before the start: the cycle's own
  (Programme.reconfirm_days_before), else the setting IREV_RECONFIRM_DAYS_BEFORE; 0 turns it
  off. It is due from that moment until the meeting starts, so a meeting that fills up later
  in that span is asked when it does.
- Only people seated BEFORE that moment are asked: someone who took a seat within the last
  days (or was just promoted from the waiting list) has just said they are coming.
- Exactly once per registration: the outbox key ``registration:<id>:reconfirm`` (unique in the
  database) makes a second pass, a re-run or two workers at once queue nothing more.
- Silence keeps the seat: nothing happens to anyone who does not answer.
- At sending, a question no longer useful (seat ended, meeting started or no longer published,
  already answered) is skipped, never sent.
- The e-mailed link is signed for this purpose ("reconfirm") with the person's link_version; the
  page it opens acts only on POST (irev.registration.reconfirm).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from irev.extensions import db
from irev.models import (
    Meeting,
    MeetingStatus,
    OutboundEmail,
    Programme,
    Registration,
    RegistrationState,
    utcnow,
)
from irev.services import audit
from irev.services.meetings import waiting_count
from irev.services.outbox import enqueue_many
from irev.services.registration_events import Actor
from irev.services.registration_moves import cancel_registration
from irev.wording import plural

#: The e-mail asking a seated person to confirm or free their seat.
RECONFIRM = "reconfirm_to_registrant"
#: The setting a cycle without its own value follows.
SETTING = "IREV_RECONFIRM_DAYS_BEFORE"
#: The largest number of days staff may choose (the form says so).
MAX_DAYS = 60


class ReconfirmError(ValueError):
    """A reconfirmation answer cannot be taken; the French message says why."""


def dedupe_key(registration: Registration) -> str:
    """Return the one outbox key of a registration's reconfirmation e-mail."""
    return f"registration:{registration.id}:reconfirm"


def days_before(programme: Programme | None) -> int:
    """Return how many days before a meeting of this cycle the question goes (0: never)."""
    if programme is not None and programme.reconfirm_days_before is not None:
        return max(0, programme.reconfirm_days_before)
    return max(0, int(current_app.config[SETTING]))


def reconfirm_text(programme: Programme | None) -> str:
    """Return, in French, when a cycle asks (None: what the setting says)."""
    days = days_before(programme)
    if not days:
        return "jamais"
    return f"{plural(days, 'jour', 'jours')} avant chaque séance complète"


def asking_moment(meeting: Meeting) -> datetime | None:
    """Return when the question becomes due for a meeting, or None when its cycle asks none."""
    days = days_before(meeting.programme)
    return meeting.starts_at - timedelta(days=days) if days else None


def is_full(meeting: Meeting) -> bool:
    """Return True when no seat is left (see the module's decisions)."""
    return meeting.capacity > 0 and meeting.seats_taken >= meeting.capacity


def schedule_due(now: datetime | None = None) -> int:
    """Queue the question for every seated person of a full meeting now due; return how many.

    The caller commits. Registrations that already have the message are left out by the query;
    the outbox key still guards against two passes at once.
    """
    now = now or utcnow()
    meetings = db.session.scalars(
        select(Meeting)
        .where(
            Meeting.status == MeetingStatus.PUBLISHED,
            Meeting.starts_at > now,
            Meeting.capacity > 0,
            Meeting.seats_taken >= Meeting.capacity,
        )
        .options(selectinload(Meeting.programme))
        .order_by(Meeting.starts_at)
    )
    due = []
    for meeting in meetings:
        moment = asking_moment(meeting)
        if moment is None or now < moment:
            continue
        # What the message says of the waiting list, as it is when the question is asked.
        context = {"days_before": days_before(meeting.programme)}
        context["someone_waits"] = waiting_count(meeting) > 0
        due.extend(
            {
                "kind": RECONFIRM,
                "to_address": registration.person.email,
                "dedupe_key": dedupe_key(registration),
                "registration": registration,
                "context": context,
            }
            for registration in _to_ask(meeting, moment)
        )
    return len(enqueue_many(due))


def _to_ask(meeting: Meeting, moment: datetime) -> list[Registration]:
    """Return the meeting's people seated before moment who were not asked yet."""
    asked = select(OutboundEmail.id).where(
        OutboundEmail.registration_id == Registration.id, OutboundEmail.kind == RECONFIRM
    )
    return list(
        db.session.scalars(
            select(Registration)
            .where(
                Registration.meeting_id == meeting.id,
                Registration.state == RegistrationState.SEATED,
                Registration.state_changed_at <= moment,
                Registration.reconfirmed_at.is_(None),
                ~asked.exists(),
            )
            .options(selectinload(Registration.person))
            .order_by(Registration.id)
        )
    )


def obsolete_reason(email: OutboundEmail) -> str:
    """Return why a queued question must not be sent any more, or ""."""
    if email.kind != RECONFIRM:
        return ""
    registration = (
        db.session.get(Registration, email.registration_id) if email.registration_id else None
    )
    if registration is None:
        return "Non envoyé : l’inscription n’existe plus."
    if registration.reconfirmed_at is not None:
        return "Non envoyé : la personne a déjà confirmé sa présence."
    return unanswerable(registration)


def unanswerable(registration: Registration, now: datetime | None = None) -> str:
    """Return why a registration can no longer answer the question (French), or ""."""
    meeting = registration.meeting
    if registration.state is not RegistrationState.SEATED:
        return "Cette inscription n’a plus de place réservée : il n’y a rien à confirmer."
    if meeting.is_past(now):
        return "La séance a déjà commencé : il n’est plus possible de répondre."
    if not meeting.is_published:
        return "Cette séance n’est plus au programme : il n’y a rien à confirmer."
    return ""


def confirm_presence(registration: Registration, actor: Actor) -> bool:
    """Record « je confirme ma présence »; return False when it was recorded already.

    Raise ReconfirmError when the seat can no longer be confirmed. The caller commits.
    """
    problem = unanswerable(registration)
    if problem:
        raise ReconfirmError(problem)
    if registration.reconfirmed_at is not None:
        return False
    registration.reconfirmed_at = utcnow()
    audit.record(
        actor,
        "registration.reconfirm",
        registration,
        after={"reconfirmed_at": registration.reconfirmed_at},
    )
    return True


def free_place(registration: Registration, actor: Actor) -> list[Registration]:
    """Free the seat through the one cancel path; return who was promoted (e-mailed there)."""
    problem = unanswerable(registration)
    if problem:
        raise ReconfirmError(problem)
    return cancel_registration(registration, actor, by_organiser=False)
