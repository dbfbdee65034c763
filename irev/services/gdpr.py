"""Personal data: retention and purge, export of everything held on a person, correction, erasure.

Anonymising keeps the figures: registrations stay with their meeting, state, attendance,
département and mandate; names, address, phone, organisation, accessibility needs, reasons and
the e-mails' addresses and contents go. Audit events keep who did what, but personal values in
their before/after are redacted (the only change ever made to an audit row, itself audited).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, update

from irev.dates import PARIS
from irev.extensions import db
from irev.models import (
    AttendanceParticipant,
    AuditEvent,
    EmailStatus,
    Meeting,
    OutboundEmail,
    Person,
    Programme,
    Registration,
    RegistrationState,
    StaffUser,
    utcnow,
)
from irev.services import assistants, audit, speaker_questions
from irev.services.outbox import ERASED_KEY

#: Person fields that identify someone (erased); mandate and département stay for the figures.
PERSONAL_FIELDS = (
    "civilite",
    "first_name",
    "last_name",
    "email",
    "phone",
    "organisation",
    "accessibility_options",
    "accessibility_needs",
)
#: Fields staff may correct from the person page.
CORRECTABLE_FIELDS = (*PERSONAL_FIELDS, "mandate", "department")
ERASED = "(effacé)"


class PersonError(ValueError):
    """A correction is refused; the French message says why."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def add_months(moment: datetime, months: int) -> datetime:
    """Return moment plus a number of calendar months (the day clamped to the month's end)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def retention_deadline(programme: Programme) -> datetime | None:
    """Return when the programme's personal data must be gone (None while it has no meeting)."""
    last_end = db.session.scalar(
        db.select(func.max(Meeting.ends_at)).where(Meeting.programme_id == programme.id)
    )
    if last_end is None:
        return None
    # Months are counted on the Paris calendar (a deadline at 19 h stays at 19 h).
    local = add_months(last_end.astimezone(PARIS), programme.retention_months or 12)
    return local.astimezone(UTC)


def expired_programme_ids(now: datetime | None = None) -> set[int]:
    """Return the programmes whose retention period is over."""
    now = now or utcnow()
    expired = set()
    for programme in db.session.scalars(db.select(Programme)):
        deadline = retention_deadline(programme)
        if deadline is not None and deadline <= now:
            expired.add(programme.id)
    return expired


def placeholder_email(person: Person) -> str:
    """Return the unique, undeliverable address an anonymised person keeps."""
    return f"anonyme-{person.id}@invalid"


@dataclass
class PurgeReport:
    """What one purge did."""

    anonymised: int = 0
    programmes: int = 0


def purge(now: datetime | None = None) -> PurgeReport:
    """Anonymise everyone whose every registration belongs to a programme past retention.

    Idempotent: anonymised people are skipped, so running it again (from cron) changes nothing.
    The caller commits.
    """
    now = now or utcnow()
    expired = expired_programme_ids(now)
    report = PurgeReport(programmes=len(expired))
    if not expired:
        return report
    expired_meetings = db.select(Meeting.id).where(Meeting.programme_id.in_(expired))
    # Zoom reports name people, registered or not: gone with their programme's retention.
    db.session.execute(
        delete(AttendanceParticipant).where(AttendanceParticipant.meeting_id.in_(expired_meetings))
    )
    has_any = db.select(Registration.id).where(Registration.person_id == Person.id).exists()
    has_live = (
        db.select(Registration.id)
        .where(
            Registration.person_id == Person.id,
            Registration.meeting_id.not_in(expired_meetings),
        )
        .exists()
    )
    people = db.session.scalars(
        db.select(Person).where(Person.anonymised_at.is_(None), has_any, ~has_live)
    ).all()
    for person in people:
        anonymise(person, at=now)
    report.anonymised = len(people)
    if people:
        audit.record(None, "gdpr.purge", None, after={"people": len(people)})
    return report


def _farewells(person: Person, registration_ids: list[int]) -> list[int]:
    """Keep the e-mails that end the person's seats, so their agenda drops the meeting.

    Whoever asks for erasure still holds our calendar entries: each ended seat's cancellation
    (with its METHOD:CANCEL) goes out once, to the address as it was, then the worker forgets
    that address and the message (outbox.forget_delivered). Nothing else is ever sent.
    """
    if not registration_ids:
        return []
    rows = db.session.scalars(
        db.select(OutboundEmail).where(
            OutboundEmail.registration_id.in_(registration_ids),
            OutboundEmail.kind == "cancelled_to_registrant",
            OutboundEmail.status == EmailStatus.PENDING,
        )
    ).all()
    for row in rows:
        row.context = {**(row.context or {}), ERASED_KEY: placeholder_email(person)}
    db.session.flush()
    return [row.id for row in rows]


def anonymise(person: Person, *, at: datetime | None = None, keep: Sequence[int] = ()) -> None:
    """Erase a person's identifying data everywhere, keeping the figures. The caller commits.

    `keep` names outbox rows still to send once (see _farewells); they are scrubbed after
    sending instead of now.
    """
    at = at or utcnow()
    own_email = person.email
    person.first_name = "Personne"
    person.last_name = "anonymisée"
    person.email = placeholder_email(person)
    person.phone = ""
    person.organisation = ""
    # A commune's code with a mandate names its mayor: erased; the département stays.
    person.commune_code = ""
    person.epci_siren = ""
    person.civilite = ""
    person.accessibility_options = ""
    person.accessibility_needs = ""
    person.link_version = (person.link_version or 0) + 1  # every link sent so far stops working
    person.anonymised_at = at
    db.session.flush()  # before the bulk updates below, which expire what is loaded
    registration_ids = db.select(Registration.id).where(Registration.person_id == person.id)
    db.session.execute(
        update(Registration)
        .where(Registration.person_id == person.id)
        .values(reason="", submitted_details=None)
        .execution_options(synchronize_session="fetch")
    )
    # Zoom report rows matched to them or bearing their address (minutes stay on registrations).
    db.session.execute(
        delete(AttendanceParticipant).where(
            or_(
                AttendanceParticipant.registration_id.in_(registration_ids),
                AttendanceParticipant.email == own_email,
            )
        )
    )
    # Their questions for speakers: the text itself may say who asked (speaker_questions).
    speaker_questions.erase_for(person)
    _scrub_emails(person, registration_ids, keep)
    _redact_audit(person, registration_ids)
    # Their links as an official or an assistant go; an assistant left with nobody goes too.
    for assistant_id in assistants.forget_links(person, own_email, person.email):
        assistant = db.session.get(Person, assistant_id)
        if assistant is not None:
            anonymise(assistant, at=at)
    db.session.flush()


def _scrub_emails(person: Person, registration_ids, keep: Sequence[int] = ()) -> None:
    """Remove addresses and contents of the person's e-mails; never send a pending one
    (except the farewells in `keep`, scrubbed once sent)."""
    mine = or_(
        OutboundEmail.person_id == person.id, OutboundEmail.registration_id.in_(registration_ids)
    )
    if keep:
        mine = and_(mine, OutboundEmail.id.not_in(list(keep)))
    to_person = and_(mine, ~OutboundEmail.kind.like("%_to_staff"))
    db.session.execute(
        update(OutboundEmail)
        .where(mine, OutboundEmail.status == EmailStatus.PENDING)
        .values(status=EmailStatus.FAILED, last_error="Non envoyé : données personnelles effacées.")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(OutboundEmail)
        .where(to_person)
        .values(to_address=placeholder_email(person), to_name="")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(OutboundEmail)
        .where(mine)
        .values(raw_message=None, context={})
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()


def _redact_audit(person: Person, registration_ids) -> None:
    """Replace personal values in the before/after of audit events about the person.

    A Core UPDATE on purpose: the ORM refuses edits of audit rows, and this redaction is the
    one exception the law requires (the erasure itself is audited).
    """
    events = db.session.execute(
        db.select(AuditEvent.id, AuditEvent.before, AuditEvent.after).where(
            or_(
                and_(AuditEvent.object_type == "person", AuditEvent.object_id == person.id),
                and_(
                    AuditEvent.object_type == "registration",
                    AuditEvent.object_id.in_(registration_ids),
                ),
            )
        )
    ).all()
    for event_id, before, after in events:
        new_before, new_after = _redacted(before), _redacted(after)
        if (new_before, new_after) != (before, after):
            db.session.execute(
                update(AuditEvent.__table__)
                .where(AuditEvent.__table__.c.id == event_id)
                .values(before=new_before, after=new_after)
            )


def _redacted(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return values with personal fields (and free-text reasons) replaced by "(effacé)"."""
    if not values:
        return values
    return {
        key: ERASED if key in (*PERSONAL_FIELDS, "reason") and value else value
        for key, value in values.items()
    }


def erase(person: Person, actor: StaffUser) -> int:
    """Erase a person at their request: cancel coming registrations (seats go to the waiting
    list), then anonymise. Return how many registrations were cancelled. The caller commits."""
    from irev.services import registrations

    cancelled = 0
    seats_ended = []
    for registration in list(person.registrations):
        if registration.can_cancel():
            # Cancelled as by the person (it is their request); the seat goes to the waiting
            # list. Only the e-mail ending a seat is kept (below); the others are scrubbed.
            # A request never confirmed was not theirs to cancel: staff withdraw it, silently.
            if registration.state is RegistrationState.SEATED:
                seats_ended.append(registration.id)
            unconfirmed = registration.state is RegistrationState.REQUESTED
            registrations.cancel_registration(registration, actor, by_organiser=unconfirmed)
            cancelled += 1
    db.session.flush()
    anonymise(person, keep=_farewells(person, seats_ended))
    audit.record(actor, "person.erase", person, after={"cancelled": cancelled})
    return cancelled


def correct(person: Person, data: dict[str, Any], actor: StaffUser) -> list[str]:
    """Apply staff corrections; return the changed field names (audited without their values).

    A new e-mail address must not belong to someone else; changing it voids the links sent to
    the old one.
    """
    from irev.services.people import InvalidEmail, find_person, normalise_email

    if person.anonymised_at is not None:
        raise PersonError("Les données de cette personne ont été effacées : rien à corriger.")
    values = {name: (data.get(name) or "").strip() for name in CORRECTABLE_FIELDS}
    try:
        values["email"] = normalise_email(values["email"])
    except InvalidEmail as error:
        raise PersonError(str(error), "email") from error
    if values["email"] != person.email:
        other = find_person(values["email"])
        if other is not None and other.id != person.id:
            raise PersonError(
                "Cette adresse e-mail est déjà celle d'une autre personne inscrite.", "email"
            )
        person.link_version = (person.link_version or 0) + 1
    changed = [name for name, value in values.items() if getattr(person, name) != value]
    for name in changed:
        setattr(person, name, values[name])
    if changed:
        # Field names only: the audit log must not keep personal values.
        audit.record(actor, "person.correct", person, after={"fields": ", ".join(changed)})
    db.session.flush()
    return changed


def search_people(query: str, page: int = 1, per_page: int = 50):
    """Return a page of people matching a name, e-mail or organisation (anonymised last)."""
    statement = db.select(Person).order_by(
        Person.anonymised_at.is_not(None), func.lower(Person.last_name), Person.id
    )
    for word in query.lower().split():
        statement = statement.where(
            or_(
                func.lower(Person.first_name).contains(word, autoescape=True),
                func.lower(Person.last_name).contains(word, autoescape=True),
                func.lower(Person.email).contains(word, autoescape=True),
                func.lower(Person.organisation).contains(word, autoescape=True),
            )
        )
    return db.paginate(statement, page=max(page, 1), per_page=per_page, error_out=False)
