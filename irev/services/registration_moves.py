"""Moves of a registration once its address is known: placing, approval, promotion, cancellation.

Every function works inside the caller's transaction and never commits: a route (or a command)
calls one of them and commits once, so a failure leaves nothing half-saved. Each move is
checked against the one table of moves (Registration.check_action), and leaves its one e-mail
and its one audit row (irev.services.registration_events). Seats move only through
irev.services.seats, which offers every freed seat to the waiting list.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from irev.extensions import db
from irev.models import (
    ACTIVE_STATES,
    Action,
    ApprovalMode,
    Meeting,
    Person,
    Registration,
    RegistrationState,
    utcnow,
)
from irev.services import audit, seats
from irev.services.people import PersonDetails, get_or_create_person, normalise_email, update_person
from irev.services.registration_events import (
    MEETING_CANCELLED,
    Actor,
    notify,
    notify_staff,
    notify_summary,
    record_move,
)
from irev.services.seats import free_seat, offer_free_seats, take_seat

S = RegistrationState


class Outcome(enum.StrEnum):
    """What happened to one meeting of a request."""

    SEATED = "seated"
    PENDING = "pending"
    WAITING = "waiting"
    ALREADY = "already"  # an active registration existed already: nothing changed
    CLOSED = "closed"  # registration closed (or meeting cancelled) before the confirmation


@dataclass
class MeetingResult:
    """The result of a request for one meeting."""

    meeting: Meeting
    outcome: Outcome
    registration: Registration | None = None
    #: Place on the waiting list (1 is next), for Outcome.WAITING.
    position: int | None = None


class RegistrationError(ValueError):
    """A registration cannot be made or changed; the message is French and shown as is."""


# --- reading ------------------------------------------------------------------------------


def active_registration(person: Person, meeting: Meeting) -> Registration | None:
    """Return the person's active registration for the meeting, if any."""
    return db.session.scalar(
        db.select(Registration).where(
            Registration.person_id == person.id,
            Registration.meeting_id == meeting.id,
            Registration.state.in_(ACTIVE_STATES),
        )
    )


def person_registrations(person: Person) -> list[Registration]:
    """Return all registrations of a person, soonest meeting first."""
    return list(
        db.session.scalars(
            db.select(Registration)
            .join(Registration.meeting)
            .where(Registration.person_id == person.id)
            .order_by(Meeting.starts_at, Registration.id)
        )
    )


# --- placing a confirmed registration -----------------------------------------------------


def place(registration: Registration, actor: Actor, *, announce: bool = True) -> MeetingResult:
    """Move a confirmed request to its state (seated, pending, waiting) and queue its e-mails.

    announce=False leaves the person's e-mail to the caller, which sends one summary for
    several meetings placed at once (place_all); staff are told as always.
    """
    meeting = registration.meeting
    before = registration.state
    registration.confirmed_at = utcnow()
    if meeting.approval_mode is ApprovalMode.MODERATED:
        registration.move_to(S.PENDING_APPROVAL)
        db.session.flush()
        if announce:
            notify("pending_to_registrant", registration)
        notify_staff(registration)
        result = MeetingResult(meeting, Outcome.PENDING, registration)
    else:
        position = seats.place(registration, actor)
        if position is None:
            if announce:
                notify("seated_to_registrant", registration)
            result = MeetingResult(meeting, Outcome.SEATED, registration)
        else:
            if announce:
                notify("waiting_to_registrant", registration, position=position)
            result = MeetingResult(meeting, Outcome.WAITING, registration, position)
    record_move(actor, "registration.confirm", registration, before)
    return result


def place_all(
    person: Person, registrations: Sequence[Registration], actor: Actor
) -> list[MeetingResult]:
    """Place several confirmed registrations of one person; tell them in ONE e-mail.

    One registration keeps its own message (seated, waiting or pending, as always); two or
    more give one summary listing what happened to each meeting, with one calendar holding
    the seats. Staff notifications stay one per registration awaiting approval.
    """
    if len(registrations) < 2:
        return [place(registration, actor) for registration in registrations]
    results = [place(registration, actor, announce=False) for registration in registrations]
    notify_summary(person, [r.registration for r in by_date(results) if r.registration])
    return results


def by_date(results: list[MeetingResult]) -> list[MeetingResult]:
    """Return results in the order a person reads them: soonest meeting first."""
    return sorted(results, key=lambda r: (r.meeting.starts_at, r.meeting.id))


# --- self-service and staff ---------------------------------------------------------------


def add_meetings(
    person: Person, meetings: Sequence[Meeting], actor: Actor, *, source: str = "formulaire"
) -> list[MeetingResult]:
    """Register an identified person at once (self-service link, or staff) for more meetings."""
    results = []
    to_place = []
    for meeting in sorted(meetings, key=lambda m: m.id):
        existing = active_registration(person, meeting)
        if existing is not None and existing.state is not S.REQUESTED:
            results.append(MeetingResult(meeting, Outcome.ALREADY, existing))
            continue
        registration = existing or Registration(
            person=person, meeting=meeting, state=S.REQUESTED, source=source
        )
        db.session.add(registration)
        db.session.flush()
        to_place.append(registration)
    results.extend(place_all(person, to_place, actor))
    return by_date(results)


class KnownPerson(RegistrationError):
    """Staff typed the address of someone already known: they must say what to do with the
    details (keep the person's own, or update them with what was typed)."""

    def __init__(self, person: Person) -> None:
        super().__init__(
            f"Cette adresse est déjà celle de {person.full_name} : choisissez de garder ses "
            "coordonnées ou de les mettre à jour."
        )
        self.person = person


#: What staff choose to do with a known person's details when registering them by hand.
KEEP_DETAILS = "garder"
UPDATE_DETAILS = "mettre-a-jour"


def register_by_staff(
    person_data: dict,
    meetings: Sequence[Meeting],
    actor: Actor,
    *,
    known_details: str | None = None,
) -> list[MeetingResult]:
    """Register someone who phoned: same rules and e-mails as the form, confirmed at once.

    person_data holds the PersonDetails fields (e-mail, names, organisation ...). A known
    person is never rewritten silently: known_details must say KEEP_DETAILS or
    UPDATE_DETAILS (else KnownPerson is raised); an update copies only the fields typed in,
    and is audited. Meetings must be published and not started; the public registration window
    does not bind staff.
    """
    values = {name: (value or "").strip() for name, value in person_data.items()}
    details = PersonDetails(**{**values, "email": normalise_email(values["email"])})
    for meeting in meetings:
        if not meeting.is_published or meeting.is_past():
            raise RegistrationError(f"La séance « {meeting.title} » n’accepte pas d’inscription.")
    person, created = get_or_create_person(details)
    if not created:
        if known_details not in (KEEP_DETAILS, UPDATE_DETAILS):
            raise KnownPerson(person)
        if known_details == UPDATE_DETAILS:
            _update_typed_details(person, details, actor)
    return add_meetings(person, meetings, actor, source="equipe")


def _update_typed_details(person: Person, details: PersonDetails, actor: Actor) -> None:
    """Copy the fields staff typed in (empty ones keep their value); audit the field names."""
    typed = {name: value for name, value in details.as_dict().items() if value}
    changed = update_person(person, PersonDetails(**{**_details_of(person), **typed}))
    if changed:
        # Field names only: the audit log keeps no personal values.
        audit.record(actor, "person.correct", person, after={"fields": ", ".join(changed)})


def _details_of(person: Person) -> dict[str, str]:
    """Return a person's current details as PersonDetails fields."""
    return {name: getattr(person, name) or "" for name in PersonDetails.__dataclass_fields__}


def approve_registration(registration: Registration, actor: Actor) -> RegistrationState:
    """Approve a pending registration: a seat if one is free, else the waiting list."""
    before = registration.state
    registration.check_action(Action.APPROVE)
    position = seats.place(registration, actor)
    if position is None:
        notify("approved_to_registrant", registration)
    else:
        notify("waiting_to_registrant", registration, position=position, approved=True)
    record_move(actor, "registration.approve", registration, before)
    return registration.state


def reject_registration(registration: Registration, actor: Actor, reason: str = "") -> None:
    """Refuse a pending (or waiting) registration, with an optional reason for the e-mail."""
    before = registration.state
    registration.check_action(Action.REJECT)
    registration.move_to(S.REJECTED)
    registration.reason = reason.strip()
    notify("rejected_to_registrant", registration, reason=registration.reason)
    record_move(actor, "registration.reject", registration, before)


def cancel_registration(
    registration: Registration, actor: Actor, *, by_organiser: bool, reason: str = ""
) -> list[Registration]:
    """Cancel a registration; a freed seat goes at once to the waiting list. Return promoted."""
    before = registration.state
    registration.check_action(Action.CANCEL_BY_ORGANISER if by_organiser else Action.CANCEL)
    registration.move_to(S.CANCELLED_BY_ORGANISER if by_organiser else S.CANCELLED_BY_PERSON)
    registration.reason = reason.strip()
    if by_organiser and before is not S.REQUESTED:  # an unconfirmed address gets nothing
        notify(
            "cancelled_by_organiser_to_registrant",
            registration,
            reason=registration.reason,
            was=before.value,
        )
    record_move(actor, "registration.cancel", registration, before)
    promoted = free_seat(registration.meeting, actor) if before is S.SEATED else []
    if not by_organiser and before is not S.REQUESTED:
        # The message says whether the seat went to someone waiting: it knows only now.
        notify("cancelled_to_registrant", registration, was=before.value, offered=bool(promoted))
    return promoted


def cancel_all(person: Person, actor: Actor) -> list[Registration]:
    """Cancel every active registration of a person for meetings not yet started."""
    cancelled = []
    for registration in sorted(person_registrations(person), key=lambda r: r.meeting_id):
        if registration.can_cancel():
            cancel_registration(registration, actor, by_organiser=False)
            cancelled.append(registration)
    return cancelled


def promote_from_waiting_list(registration: Registration, actor: Actor) -> bool:
    """Seat a given waiting person if a seat is free (a staff move); False when full."""
    before = registration.state
    registration.check_action(Action.PROMOTE)
    if not take_seat(registration.meeting):
        return False
    registration.move_to(S.SEATED)
    notify("promoted_to_registrant", registration)
    record_move(actor, "registration.promote", registration, before)
    return True


def fill_free_seats(meeting: Meeting, actor: Actor = None) -> list[Registration]:
    """Give every free seat to the head of the waiting list (see seats.offer_free_seats)."""
    return offer_free_seats(meeting, actor)


def cancel_meeting_registrations(
    meeting: Meeting, actor: Actor, reason: str = ""
) -> list[Registration]:
    """End every seat, request awaiting approval and waiting place of a cancelled meeting.

    Each registration moves to « annulée par l'équipe », gives back its seat, and gets the
    meeting's cancellation e-mail (one per registration) and its audit row. Unconfirmed
    requests hold nothing: their confirmation finds the meeting closed.
    """
    ended = list(
        db.session.scalars(
            db.select(Registration)
            .where(
                Registration.meeting_id == meeting.id,
                Registration.state.in_([S.SEATED, S.PENDING_APPROVAL, S.WAITING]),
            )
            .order_by(Registration.id)
        )
    )
    for registration in ended:
        if Action.CANCEL_BY_ORGANISER not in registration.allowed_actions():
            continue  # the meeting has started: its figures stay as they are
        before = registration.state
        registration.move_to(S.CANCELLED_BY_ORGANISER)
        registration.reason = f"Séance annulée : {reason}"[:500] if reason else "Séance annulée."
        notify(MEETING_CANCELLED, registration, **({"reason": reason} if reason else {}))
        record_move(actor, "registration.cancel", registration, before)
        if before is S.SEATED:
            free_seat(meeting, actor)
    return ended
