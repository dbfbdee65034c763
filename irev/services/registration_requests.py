"""The public form and its e-mailed link: requests, confirmation, expiry.

A submission records REQUESTED registrations (no seat yet) under a request key that the
e-mailed confirmation link names; the link confirms them (irev.services.registration_moves
places each one). Every function works in the caller's transaction and never commits.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from irev.extensions import db
from irev.models import AssistantLink, Meeting, Person, Registration, RegistrationState, utcnow
from irev.services import audit, outbox
from irev.services.assistants import (
    AssistantDetails,
    confirm_link,
    link_assistant,
    notify_confirmed_by_assistant,
    purge_unattached,
)
from irev.services.people import PersonDetails, get_or_create_person, update_person
from irev.services.registration_events import STATE_SENTENCES, meeting_lines
from irev.services.registration_moves import (
    MeetingResult,
    Outcome,
    RegistrationError,
    active_registration,
    by_date,
    place_all,
)

S = RegistrationState

#: Identical submissions within this many seconds send one e-mail, not two.
DUPLICATE_WINDOW_SECONDS = 600


@dataclass
class RequestResult:
    """What a form submission did (never shown as such: the page is the same for everyone)."""

    person: Person
    request_key: str | None
    requested: list[Registration] = field(default_factory=list)
    already: list[Registration] = field(default_factory=list)


class RequestNotFound(RegistrationError):
    """No registration answers this confirmation link (expired and purged, or unknown)."""


class AlreadyConfirmed(RegistrationError):
    """The confirmation link was used already."""

    def __init__(self, registrations: list[Registration]) -> None:
        super().__init__("Cette demande d’inscription est déjà confirmée.")
        self.registrations = registrations


# --- the public form ----------------------------------------------------------------------


def _insert_requested(
    person: Person, meeting: Meeting, key: str, now: datetime, details: dict | None = None
) -> Registration | None:
    """Insert a requested registration and return it; None if an active one exists (a twin)."""
    values = {
        "submitted_details": details,
        "person_id": person.id,
        "meeting_id": meeting.id,
        "state": S.REQUESTED.value,
        "request_key": key,
        "requested_at": now,
        "state_changed_at": now,
        "reason": "",
        "source": "formulaire",
    }
    statement = _insert_requested_statement(db.session.get_bind().dialect.name)
    return db.session.scalars(statement, [values]).first()


@cache
def _insert_requested_statement(dialect: str):
    """Build the INSERT of a requested registration once (the values are parameters)."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # The partial unique index (one active registration per person and meeting) decides.
    return insert(Registration).on_conflict_do_nothing().returning(Registration)


def request_registration(
    details: PersonDetails,
    meetings: Sequence[Meeting],
    assistant: AssistantDetails | None = None,
    *,
    territory_matched: bool = False,
) -> RequestResult:
    """Record a form submission and queue the e-mail that answers it.

    Each submission is a request of its own: its new meetings become REQUESTED registrations
    (no seat yet) under a new key, which its e-mailed link names. A link confirms only what its
    own submission asked, so someone typing another person's address cannot make that
    person's earlier link confirm more. A meeting still awaiting an earlier link keeps it: that
    link is sent again, unchanged. Meetings already registered change nothing; if there is
    nothing new, the e-mail says so. A known person's details are never rewritten by the form:
    those typed are kept with the request and applied when its link is confirmed, if the person
    had never confirmed anything (an unverified form must not rewrite a verified person).
    An assistant filling the form for the official (`assistant`) is linked to them first, so
    every e-mail of the request reaches both (irev.services.assistants).
    territory_matched: the form matched the organisation already (see get_or_create_person).
    """
    for meeting in meetings:
        if not meeting.registration_open():
            raise RegistrationError("Une des séances choisies n’accepte plus d’inscription.")
    person, created = get_or_create_person(details, territory_matched=territory_matched)
    link = link_assistant(assistant, person) if assistant is not None else None
    held = None if created or _has_confirmed(person) else _typed_details(details)
    now = utcnow()
    key = secrets.token_urlsafe(24)
    result = RequestResult(person=person, request_key=None)
    earlier: dict[str, list[Registration]] = {}
    for meeting in sorted(meetings, key=lambda m: m.id):  # one lock order for everybody
        # A person created just now has no registration yet: nothing to look up.
        registration = None if created else active_registration(person, meeting)
        if registration is None:
            registration = _insert_requested(person, meeting, key, now, held)
        if registration is None:  # a concurrent twin inserted it first
            registration = active_registration(person, meeting)
            assert registration is not None
        if registration.state is not S.REQUESTED:
            result.already.append(registration)
        elif registration.request_key == key:
            result.requested.append(registration)
        else:
            earlier.setdefault(registration.request_key or "", []).append(registration)
    if result.requested:
        result.request_key = key
        _send_request(person, key, result, now, result.requested)
    for earlier_key in earlier:  # the earlier link again, confirming what it always did
        _refresh_request(person, earlier_key, now)
        _send_request(person, earlier_key, RequestResult(person, earlier_key), now)
    if not result.requested and not earlier:
        _send_already(person, result.already, now)
    audit.record(
        None,
        "registration.request",
        person,
        after={
            "request_key": result.request_key,
            "requested": [r.meeting.slug for r in result.requested],
            "already": [r.meeting.slug for r in result.already],
            **({"assistant_id": link.assistant_id} if link is not None else {}),
        },
    )
    return result


def _typed_details(details: PersonDetails) -> dict[str, str]:
    """Return the details a form typed for a known person, kept until its link is confirmed."""
    return {name: value for name, value in details.as_dict().items() if name != "email"}


def _apply_typed_details(person: Person, pending: list[Registration]) -> None:
    """Apply the details kept with a request now that its link is confirmed (see above)."""
    typed = next((r.submitted_details for r in pending if r.submitted_details), None)
    for registration in pending:
        registration.submitted_details = None  # applied or not, no copy is kept
    if typed and not _has_confirmed(person):
        update_person(person, PersonDetails(email=person.email, **typed))


def _has_confirmed(person: Person) -> bool:
    """Return True once any registration of the person was confirmed (by link or by staff)."""
    return bool(
        db.session.scalar(
            db.select(Registration.id)
            .where(Registration.person_id == person.id, Registration.confirmed_at.is_not(None))
            .limit(1)
        )
    )


def _refresh_request(person: Person, key: str, now: datetime) -> None:
    """Keep the unconfirmed registrations of a request alive as long as its link sent again."""
    db.session.execute(
        update(Registration)
        .where(
            Registration.person_id == person.id,
            Registration.request_key == key,
            Registration.state == S.REQUESTED,
        )
        .values(request_key=key, requested_at=now)
        .execution_options(synchronize_session="fetch")
    )


def _window(now: datetime, parts: Iterable[object]) -> str:
    """Return a dedupe suffix: equal for identical submissions within the duplicate window."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:12]
    return f"{digest}:{int(now.timestamp()) // DUPLICATE_WINDOW_SECONDS}"


def confirm_url(person: Person, key: str) -> str:
    """Return the e-mailed link that opens the confirmation page of a request."""
    return confirm_link(person.id, key)


def _send_request(
    person: Person,
    key: str,
    result: RequestResult,
    now: datetime,
    pending: list[Registration] | None = None,
) -> bool:
    """Queue the e-mail holding the confirmation link (pending: the request's rows, if known)."""
    if pending is None:
        pending = check_request(key, person.id)
    else:
        pending = sorted(pending, key=lambda r: r.meeting.starts_at)
    meetings = [r.meeting for r in pending]
    suffix = _window(now, sorted(m.id for m in meetings))
    return outbox.enqueue(
        "request_to_registrant",
        person.email,
        dedupe_key=f"request:{key}:request_to_registrant:{suffix}",
        person=person,
        meeting=meetings[0],  # the programme's contact and reply address come through it
        context={
            "confirm_url": confirm_url(person, key),
            "request_key": key,  # the assistants' copies sign their own confirmation link
            "meetings": meeting_lines(meetings),
            "already": meeting_lines(r.meeting for r in result.already),
            "max_age_days": int(current_app.config["IREV_LINK_MAX_AGE_DAYS"]),
        },
    )


def _send_already(person: Person, registrations: list[Registration], now: datetime) -> bool:
    """Queue the e-mail telling a registered person that nothing new was needed."""
    suffix = _window(now, sorted(r.id for r in registrations))
    lines = meeting_lines(r.meeting for r in registrations)
    for line, registration in zip(lines, registrations, strict=True):
        line["state"] = STATE_SENTENCES[registration.state]
    return outbox.enqueue(
        "already_registered_to_registrant",
        person.email,
        dedupe_key=f"person:{person.id}:already_registered_to_registrant:{suffix}",
        person=person,
        meeting=registrations[0].meeting,
        context={"meetings": lines},
    )


# --- confirmation by link -----------------------------------------------------------------


def requested_for(key: str, person_id: int, *, lock: bool = False) -> list[Registration]:
    """Return the unconfirmed registrations of a request (locked for update when asked)."""
    query = (
        db.select(Registration)
        .where(
            Registration.request_key == key,
            Registration.person_id == person_id,
            Registration.state == S.REQUESTED,
        )
        .order_by(Registration.meeting_id)
    )
    if lock:
        # A second click racing the first waits here, then finds nothing left to confirm.
        query = query.with_for_update().execution_options(populate_existing=True)
    return list(db.session.scalars(query))


def request_registrations(key: str, person_id: int) -> list[Registration]:
    """Return every registration ever made under a request key, soonest meeting first."""
    return list(
        db.session.scalars(
            db.select(Registration)
            .join(Registration.meeting)
            .where(Registration.request_key == key, Registration.person_id == person_id)
            .order_by(Meeting.starts_at)
        )
    )


def check_request(key: str, person_id: int) -> list[Registration]:
    """Return what a confirmation link would confirm; raise AlreadyConfirmed or RequestNotFound."""
    pending = requested_for(key, person_id)
    if pending:
        return sorted(pending, key=lambda r: r.meeting.starts_at)
    done = request_registrations(key, person_id)
    if done:
        raise AlreadyConfirmed(done)
    raise RequestNotFound("Cette demande d’inscription n’existe plus.")


def confirm_request(
    key: str, person_id: int, assistant: Person | None = None
) -> list[MeetingResult]:
    """Confirm every unconfirmed registration of a request: seat, pending approval or waiting.

    Meetings whose registration closed since the request are dropped (reported as CLOSED).
    When the official's assistant confirms (`assistant`), the official is told.
    """
    pending = requested_for(key, person_id, lock=True)
    if not pending:
        check_request(key, person_id)  # raises the right error
    person = db.session.get(Person, person_id)
    _apply_typed_details(person, pending)
    results = []
    open_ones = []
    for registration in pending:  # ordered by meeting id: one lock order for everybody
        if not registration.meeting.registration_open():
            results.append(MeetingResult(registration.meeting, Outcome.CLOSED))
            db.session.delete(registration)
            continue
        open_ones.append(registration)
    results.extend(place_all(person, open_ones, assistant or person))  # one e-mail for all
    if assistant is not None:
        notify_confirmed_by_assistant(person, assistant, [r.meeting for r in open_ones])
    return by_date(results)


# --- housekeeping -------------------------------------------------------------------------


def purge_expired_requests(now: datetime | None = None) -> tuple[int, int]:
    """Delete unconfirmed requests whose link has expired, and people left with nothing.

    Return (registrations deleted, people deleted). Unconfirmed requests hold no seat, so
    nothing else moves.
    """
    now = now or utcnow()
    limit = now - timedelta(days=float(current_app.config["IREV_LINK_MAX_AGE_DAYS"]))
    expired = list(
        db.session.scalars(
            db.select(Registration).where(
                Registration.state == S.REQUESTED, Registration.requested_at < limit
            )
        )
    )
    people = {r.person_id for r in expired}
    for registration in expired:
        db.session.delete(registration)
    db.session.flush()
    orphans = list(
        db.session.scalars(
            db.select(Person).where(
                Person.id.in_(people),
                ~db.select(Registration.id).where(Registration.person_id == Person.id).exists(),
                # An assistant of someone else holds no registration of their own: kept.
                ~db.select(AssistantLink.id)
                .where(AssistantLink.assistant_id == Person.id)
                .exists(),
            )
        )
    )
    helpers = list(
        db.session.scalars(
            db.select(AssistantLink.assistant_id).where(
                AssistantLink.official_id.in_([p.id for p in orphans])
            )
        )
    )
    # Explicitly: SQLite here does not enforce foreign keys, so ON DELETE CASCADE waits.
    db.session.execute(
        db.delete(AssistantLink).where(AssistantLink.official_id.in_([p.id for p in orphans]))
    )
    for person in orphans:
        db.session.delete(person)
    db.session.flush()
    removed = len(orphans) + purge_unattached(helpers)
    if expired:
        audit.record(
            None,
            "registration.purge",
            None,
            after={"registrations": len(expired), "people": removed},
        )
    return len(expired), removed
