"""After a meeting: one e-mail to each person who had a seat, split by attendance.

Decisions carried out here:

- Attendees (« présent ») get « Merci de votre participation »: the meeting's files as links
  (never attachments: a town hall's mailbox refuses large messages, and a link checks the
  seat again when it is opened), the replay, the questionnaire when there is one, and their
  attestation. Absentees (« absent ») get « Nous vous avons manqué »: the replay and the next
  meeting of the cycle with its registration link. People whose presence is not marked get
  nothing: the staff page says how many and where to mark them.
- Each person gets one follow-up per meeting, ever: the outbox key is
  followup:<meeting>:<person>, whatever the message, so a double click, a second confirmation
  or two colleagues confirming at once queue nothing more (INSERT … ON CONFLICT DO NOTHING
  on the unique key). Someone marked later gets theirs on the next confirmation.
- Only once the meeting has ended, and never for a cancelled or unpublished one.
- The attestation: with IREV_ATTESTATION_BY_EMAIL (a global setting, like the signatory: what
  IREV sends by e-mail is one policy for the institute, not a choice per cycle) the PDF is
  attached. It is drawn when the worker renders the message, from the registration as it is
  then, never stored in the outbox row: the row stays small, a correction made before sending
  is attested, and an erasure (which fails the pending rows and empties the sent ones) leaves
  no copy behind. Without the setting, the message links to the self-service page.
- The questionnaire is another module's: questionnaire_link() is the one seam.
- Staff preview the counts and both messages, rendered by the real templates for a sample
  person, inside a savepoint rolled back afterwards (the pattern of mass_changes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from irev.dates import date_time
from irev.extensions import db
from irev.models import (
    Meeting,
    MeetingStatus,
    OutboundEmail,
    Person,
    Registration,
    RegistrationState,
    utcnow,
)
from irev.services import audit, outbox, questionnaire
from irev.services import resources as resource_service
from irev.tokens import make_token
from irev.urls import external_url

ATTENDED = "followup_attended_to_registrant"
ABSENT = "followup_absent_to_registrant"
KINDS = (ATTENDED, ABSENT)
#: Context key of an attendee's message: attach the attestation (decided when queued).
ATTACH_KEY = "attach_attestation"


class FollowupError(ValueError):
    """The follow-up cannot be sent now; the French message says why."""


def questionnaire_link(registration: Registration) -> str | None:
    """Return the satisfaction questionnaire's link for this attendee, or None.

    The seam with the questionnaire (irev.services.questionnaire): the paragraph about it is
    rendered only when this returns a link, so someone who has already answered is not asked.
    """
    return questionnaire.questionnaire_url(registration)


def attestation_by_email() -> bool:
    """Return True when attendees get their attestation attached (IREV_ATTESTATION_BY_EMAIL)."""
    return bool(current_app.config["IREV_ATTESTATION_BY_EMAIL"])


def dedupe_key(meeting: Meeting, person_id: int) -> str:
    """Return the outbox key of a person's follow-up for a meeting (one per person, ever)."""
    return f"followup:{meeting.id}:{person_id}"


def refusal(meeting: Meeting, now: datetime | None = None) -> str:
    """Return why the follow-up cannot be sent now, or ""."""
    if meeting.status is MeetingStatus.CANCELLED:
        return "Cette séance a été annulée : il n’y a pas de suivi à envoyer."
    if meeting.status is not MeetingStatus.PUBLISHED:
        return "Cette séance n’est pas publiée : il n’y a pas de suivi à envoyer."
    if (now or utcnow()) < meeting.ends_at:
        return (
            f"La séance se termine le {date_time(meeting.ends_at)} : les messages de suivi "
            "s’envoient une fois la séance terminée, après avoir renseigné la présence."
        )
    return ""


@dataclass
class Plan:
    """Who a confirmation e-mails: the seated people by presence, and those told already."""

    present: list[Registration] = field(default_factory=list)
    absent: list[Registration] = field(default_factory=list)
    #: Seated, presence not marked: not e-mailed.
    unknown: list[Registration] = field(default_factory=list)
    #: Seated people whose follow-up is queued or sent already (in none of the lists above).
    already: int = 0

    @property
    def total(self) -> int:
        """Return how many people a confirmation e-mails now."""
        return len(self.present) + len(self.absent)


def plan(meeting: Meeting) -> Plan:
    """Return who the follow-up of a meeting goes to now (the seated people not yet told)."""
    seated = db.session.scalars(
        select(Registration)
        .join(Registration.person)
        .where(
            Registration.meeting_id == meeting.id,
            Registration.state == RegistrationState.SEATED,
            Person.anonymised_at.is_(None),
        )
        .order_by(Person.last_name, Person.first_name, Registration.id)
    ).all()
    told = set(
        db.session.scalars(
            select(OutboundEmail.dedupe_key).where(
                OutboundEmail.meeting_id == meeting.id, OutboundEmail.kind.in_(KINDS)
            )
        )
    )
    result = Plan()
    for registration in seated:
        if dedupe_key(meeting, registration.person_id) in told:
            result.already += 1
        elif registration.attended is True:
            result.present.append(registration)
        elif registration.attended is False:
            result.absent.append(registration)
        else:
            result.unknown.append(registration)
    return result


def _messages(meeting: Meeting, chosen: Plan) -> list[dict[str, Any]]:
    """Return the outbox rows (enqueue_many's arguments) of a plan."""
    attach = attestation_by_email()
    messages = []
    for kind, registrations in ((ATTENDED, chosen.present), (ABSENT, chosen.absent)):
        for registration in registrations:
            messages.append(
                {
                    "kind": kind,
                    "to_address": registration.person.email,
                    "dedupe_key": dedupe_key(meeting, registration.person_id),
                    "registration": registration,
                    "context": {ATTACH_KEY: attach} if kind == ATTENDED else {},
                }
            )
    return messages


@dataclass
class SendResult:
    """What a confirmation queued."""

    present: int = 0
    absent: int = 0
    unknown: int = 0

    @property
    def total(self) -> int:
        """Return how many messages were queued."""
        return self.present + self.absent


def send(meeting: Meeting, actor, now: datetime | None = None) -> SendResult:
    """Queue the follow-up of every seated person not yet told (the caller commits once).

    Raises FollowupError before the meeting has ended. Rows already queued under a person's
    key are left alone by the outbox, so calling this twice queues nothing the second time.
    """
    reason = refusal(meeting, now)
    if reason:
        raise FollowupError(reason)
    chosen = plan(meeting)
    kinds = outbox.enqueue_many(_messages(meeting, chosen))
    result = SendResult(
        present=kinds.count(ATTENDED), absent=kinds.count(ABSENT), unknown=len(chosen.unknown)
    )
    if result.total:
        audit.record(
            actor,
            "followup.send",
            meeting,
            after={
                "present": result.present,
                "absent": result.absent,
                "not_marked": result.unknown,
                "attestation_attached": attestation_by_email(),
            },
        )
    return result


@dataclass
class SampleMessage:
    """One message as a sample person would read it."""

    kind: str
    person: Person
    subject: str
    text: str
    attachments: list[str]


def preview(meeting: Meeting) -> tuple[Plan, list[SampleMessage]]:
    """Return the plan and each message rendered for its first recipient; nothing is kept.

    Rendering runs in a savepoint rolled back afterwards: an attestation drawn for the
    sample (its code, its audit row) is not kept.
    """
    from irev import notifications  # it imports this module's email_context

    chosen = plan(meeting)
    samples: list[SampleMessage] = []
    savepoint = db.session.begin_nested()
    try:
        for message in _messages(meeting, chosen):
            if any(sample.kind == message["kind"] for sample in samples):
                continue
            registration: Registration = message["registration"]
            row = OutboundEmail(
                kind=message["kind"],
                dedupe_key="preview",
                to_address=message["to_address"],
                to_name=registration.person.full_name,
                person_id=registration.person_id,
                registration_id=registration.id,
                meeting_id=meeting.id,
                context=message["context"],
            )
            rendered = notifications.render(row)
            samples.append(
                SampleMessage(
                    kind=row.kind,
                    person=registration.person,
                    subject=rendered.subject,
                    text=rendered.text,
                    attachments=[attachment[0] for attachment in rendered.attachments],
                )
            )
    finally:
        savepoint.rollback()
    return chosen, samples


def sent_counts(meeting: Meeting) -> dict[str, int]:
    """Return how many follow-ups of each kind are queued or sent for the meeting."""
    rows = db.session.scalars(
        select(OutboundEmail.kind).where(
            OutboundEmail.meeting_id == meeting.id, OutboundEmail.kind.in_(KINDS)
        )
    ).all()
    return {kind: rows.count(kind) for kind in KINDS}


# --- What the worker renders ------------------------------------------------------------------


def next_meeting(meeting: Meeting, now: datetime | None = None) -> Meeting | None:
    """Return the cycle's next published meeting still to come, if any."""
    return db.session.scalar(
        select(Meeting)
        .where(
            Meeting.programme_id == meeting.programme_id,
            Meeting.status == MeetingStatus.PUBLISHED,
            Meeting.starts_at > max(now or utcnow(), meeting.starts_at),
        )
        .order_by(Meeting.starts_at)
        .limit(1)
    )


def email_context(
    email: OutboundEmail, registration: Registration | None, person: Person | None
) -> dict[str, Any]:
    """Return what the follow-up templates need beyond the usual context."""
    if registration is None or person is None:
        return {}
    meeting = registration.meeting
    # The self-service token: the download route checks it and the seat, like the manage page.
    token = make_token("manage", {"p": person.id, "v": person.link_version})
    files = [
        {
            "title": resource.title,
            "url": external_url(
                "registration.resource_download", token=token, resource_id=resource.id
            ),
            "details": resource_service.details(resource),
        }
        for resource in resource_service.files_of(meeting)
    ]
    replay = resource_service.replay_of(meeting)
    coming = next_meeting(meeting)
    context: dict[str, Any] = {
        "files": files,
        "replay": {"title": replay.title, "url": replay.url} if replay else None,
        "next_meeting": coming,
        "next_register_url": (
            external_url("registration.form", seance=coming.slug)
            if coming is not None and coming.registration_open()
            else None
        ),
        "next_meeting_url": (
            external_url("public.meeting", slug=coming.slug) if coming is not None else None
        ),
        "questionnaire_url": questionnaire_link(registration) if email.kind == ATTENDED else None,
        "attestation_pdf": None,
    }
    if email.kind == ATTENDED and (email.context or {}).get(ATTACH_KEY):
        context["attestation_pdf"] = _attestation(registration)
    return context


def _attestation(registration: Registration) -> tuple[str, bytes] | None:
    """Return (file name, PDF) of the attendee's attestation, drawn now; None if not attended."""
    from irev.services import attestations

    try:
        attestation = attestations.for_meeting(registration, None)
    except attestations.AttestationError:
        return None
    return attestations.filename(attestation), attestations.render_pdf(attestation)


def obsolete_reason(email: OutboundEmail) -> str:
    """Return why a queued follow-up must not be sent any more, or ""."""
    if email.kind not in KINDS:
        return ""
    registration = (
        db.session.get(Registration, email.registration_id) if email.registration_id else None
    )
    if registration is None:
        return "Non envoyé : l’inscription n’existe plus."
    if registration.state is not RegistrationState.SEATED:
        return "Non envoyé : la personne n’a plus de place à cette séance."
    if registration.meeting.status is MeetingStatus.CANCELLED:
        return "Non envoyé : la séance a été annulée."
    return ""
