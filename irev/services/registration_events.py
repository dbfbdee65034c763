"""What a registration's change of state leaves behind: its e-mail and its audit row.

Every move of a registration (irev.services.seats, irev.services.registration_moves) calls one
of these in the same transaction, so each change of state produces exactly one message to the
person (an outbox row) and one audit event, whoever made it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from flask import current_app

from irev.dates import long_date, meeting_when
from irev.models import Meeting, Person, Registration, RegistrationState, StaffUser
from irev.services import audit, outbox

S = RegistrationState
Actor = StaffUser | Person | None

#: How a person's registration is described to them, by state.
STATE_SENTENCES: dict[RegistrationState, str] = {
    S.REQUESTED: "en attente de votre confirmation (lien envoyé par courriel)",
    S.SEATED: "inscription confirmée, votre place est réservée",
    S.PENDING_APPROVAL: "demande en cours d’examen par l’équipe de l’IREV",
    S.WAITING: "sur liste d’attente",
    S.REJECTED: "demande non retenue",
    S.CANCELLED_BY_PERSON: "annulée à votre demande",
    S.CANCELLED_BY_ORGANISER: "annulée par l’IREV",
}

#: The e-mail a meeting's cancellation sends each registrant; the key is the one the e-mail
#: scheduler (irev.services.video_links) uses, so the two never send it twice.
MEETING_CANCELLED = "meeting_cancelled_to_registrant"


def stamp(moment: datetime) -> str:
    """Return a compact, unique-enough version string for a dedupe key."""
    return str(int(moment.timestamp() * 1_000_000))


def notify(kind: str, registration: Registration, **context) -> bool:
    """Queue an e-mail about one registration's new state to its person."""
    person = registration.person
    if kind == MEETING_CANCELLED:
        key = f"registration:{registration.id}:{MEETING_CANCELLED}"
    else:
        key = f"registration:{registration.id}:{kind}:{stamp(registration.state_changed_at)}"
    return outbox.enqueue(
        kind,
        person.email,
        dedupe_key=key,
        person=person,
        registration=registration,
        context=context,
    )


#: The one message that tells a person what happened to several meetings placed at once.
SUMMARY = "summary_to_registrant"
#: What a summary line says of each state a registration can be placed in.
SUMMARY_OUTCOMES = {
    S.SEATED: "seated",
    S.WAITING: "waiting",
    S.PENDING_APPROVAL: "pending",
}


def notify_summary(person: Person, registrations: list[Registration]) -> bool:
    """Queue one e-mail telling a person where each of several new registrations stands.

    Its key names the registrations and the moment they were placed: the same confirmation
    cannot queue it twice, and each later confirmation gets its own.
    """
    from irev.services.seats import waiting_position

    lines = []
    for registration, line in zip(
        registrations, meeting_lines(r.meeting for r in registrations), strict=True
    ):
        line["outcome"] = SUMMARY_OUTCOMES.get(registration.state, "")
        line["registration_id"] = registration.id
        if registration.state is S.WAITING:
            line["position"] = waiting_position(registration)
        lines.append(line)
    ids = ",".join(str(r.id) for r in sorted(registrations, key=lambda r: r.id))
    digest = hashlib.sha256(ids.encode()).hexdigest()[:16]
    latest = max(r.state_changed_at for r in registrations)
    return outbox.enqueue(
        SUMMARY,
        person.email,
        dedupe_key=f"person:{person.id}:{SUMMARY}:{digest}:{stamp(latest)}",
        person=person,
        meeting=registrations[0].meeting,  # the programme's contact and reply address
        context={"lines": lines},
    )


def notify_staff(registration: Registration) -> bool:
    """Tell the programme's contact that a registration awaits approval."""
    programme = registration.meeting.programme
    address = programme.contact_email or current_app.config.get("MAIL_REPLY_TO") or ""
    if not address:
        return False
    from irev.urls import external_url

    return outbox.enqueue(
        "new_request_to_staff",
        address,
        dedupe_key=(
            f"registration:{registration.id}:new_request_to_staff:"
            f"{stamp(registration.state_changed_at)}"
        ),
        to_name=programme.contact_name,
        person=registration.person,
        registration=registration,
        context={"admin_url": external_url("admin.dashboard")},
    )


def record_move(actor: Actor, action: str, registration: Registration, before: S) -> None:
    """Audit a state change of a registration."""
    audit.record(
        actor,
        action,
        registration,
        before={"state": before},
        after={"state": registration.state, "reason": registration.reason or None},
    )


def meeting_lines(meetings: Iterable[Meeting]) -> list[dict[str, str]]:
    """Return meetings as JSON-friendly {title, when} pairs for e-mail contexts."""
    return [
        {
            "title": m.title,
            "when": meeting_when(m.starts_at, m.ends_at),
            "date": long_date(m.starts_at),
        }
        for m in meetings
    ]
