"""Registrations: what the form offers, and the one import path of the registration rules.

The rules live in four modules, each opening with its decisions:

- irev.services.seats: take, give back and offer seats; the waiting list's order;
- irev.services.registration_moves: placing, approval, rejection, promotion, cancellation
  (one registration, or all those of a cancelled meeting);
- irev.services.registration_requests: the public form, its confirmation link, expiry;
- irev.services.registration_events: the one e-mail and the one audit row of each move.

Everything is re-exported here, so `from irev.services import registrations` keeps working.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from irev.models import Meeting, Programme, utcnow
from irev.services.registration_events import STATE_SENTENCES
from irev.services.registration_moves import (
    KEEP_DETAILS,
    UPDATE_DETAILS,
    KnownPerson,
    MeetingResult,
    Outcome,
    RegistrationError,
    active_registration,
    add_meetings,
    approve_registration,
    cancel_all,
    cancel_meeting_registrations,
    cancel_registration,
    fill_free_seats,
    person_registrations,
    promote_from_waiting_list,
    register_by_staff,
    reject_registration,
)
from irev.services.registration_requests import (
    DUPLICATE_WINDOW_SECONDS,
    AlreadyConfirmed,
    RequestNotFound,
    RequestResult,
    check_request,
    confirm_request,
    confirm_url,
    purge_expired_requests,
    request_registration,
    request_registrations,
    requested_for,
)
from irev.services.seats import first_waiting, release_seat, take_seat, waiting_position


def offered_meetings(programme: Programme | None, now: datetime | None = None) -> list[Meeting]:
    """Return the meetings the form shows: public, not yet over, in date order."""
    from irev.services.meetings import public_meetings

    if programme is None:
        return []
    now = now or utcnow()
    return [m for m in public_meetings(programme) if m.ends_at > now]


@dataclass
class FormOffer:
    """What the registration form offers: every meeting shown, and those of « toute la saison »."""

    meetings: list[Meeting]
    #: The current cycle's meetings among them (the season is the current cycle).
    season: list[Meeting]


def form_offer(now: datetime | None = None, *, slugs: Sequence[str] | None = None) -> FormOffer:
    """Return the public meetings not yet over of every published cycle (one statement).

    An archived cycle's page shows « S'inscrire » on its coming meetings: the form takes them.
    slugs: only the offered meetings among those (what a submitted form names).
    """
    from irev.services.meetings import form_meetings

    now = now or utcnow()
    shown = [
        (meeting, current) for meeting, current in form_meetings(slugs) if meeting.ends_at > now
    ]
    return FormOffer([m for m, _ in shown], [m for m, current in shown if current])


def offered_current_meetings(now: datetime | None = None) -> list[Meeting]:
    """Return the meetings the form shows (every published cycle's; see form_offer)."""
    return form_offer(now).meetings


def open_meetings(programme: Programme | None, now: datetime | None = None) -> list[Meeting]:
    """Return the meetings accepting registrations now ("toute la saison")."""
    return [m for m in offered_meetings(programme, now) if m.registration_open(now)]


__all__ = [
    "DUPLICATE_WINDOW_SECONDS",
    "KEEP_DETAILS",
    "STATE_SENTENCES",
    "UPDATE_DETAILS",
    "AlreadyConfirmed",
    "FormOffer",
    "KnownPerson",
    "MeetingResult",
    "Outcome",
    "RegistrationError",
    "RequestNotFound",
    "RequestResult",
    "active_registration",
    "add_meetings",
    "approve_registration",
    "cancel_all",
    "cancel_meeting_registrations",
    "cancel_registration",
    "check_request",
    "confirm_request",
    "confirm_url",
    "fill_free_seats",
    "first_waiting",
    "form_offer",
    "offered_current_meetings",
    "offered_meetings",
    "open_meetings",
    "person_registrations",
    "promote_from_waiting_list",
    "purge_expired_requests",
    "register_by_staff",
    "reject_registration",
    "release_seat",
    "request_registration",
    "request_registrations",
    "requested_for",
    "take_seat",
    "waiting_position",
]
