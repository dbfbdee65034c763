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
from irev.models import Meeting, Person, Registration, RegistrationState, StaffUser, utcnow
from irev.services import audit, outbox
from irev.services.people import PersonDetails, update_person
from irev.services.reference import (
    ACCESSIBILITY_NEED_LABELS,
    DETAIL_LABELS,
    mandate_label,
    split_needs,
)

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


def correct_own_details(person: Person, details: PersonDetails) -> dict[str, tuple[str, str]]:
    """Apply the details a person corrected through their link; audit it and tell them.

    Return {field: (before, after)}. A change is e-mailed (« vos coordonnées ont été
    modifiées », old and new) to the address, and to the old one too if the address changed,
    so that someone holding a stolen link cannot rewrite a person unnoticed.
    """
    old_email = person.email
    changes = update_person(person, details)
    if details.email and details.email != old_email:
        changes["email"] = (old_email, details.email)
        person.email = details.email
    if not changes:
        return changes
    audit.record(
        person,
        "person.update",
        person,
        before={k: v[0] for k, v in changes.items()},
        after={k: v[1] for k, v in changes.items()},
    )
    notify_details_changed(person, changes, old_email)
    return changes


def _shown_value(name: str, value: str) -> str:
    """Return a stored detail as the person reads it (labels, not codes)."""
    from irev.salutations import CIVILITE_LABELS

    if name == "mandate":
        return mandate_label(value)
    if name == "civilite":
        return CIVILITE_LABELS.get(value or "", value or "")
    if name == "accessibility_options":
        return ", ".join(ACCESSIBILITY_NEED_LABELS[v] for v in split_needs(value))
    return value or ""


def notify_details_changed(
    person: Person, changes: dict[str, tuple[str, str]], old_email: str
) -> None:
    """Queue « vos coordonnées ont été modifiées » to the address (and the old one if changed)."""
    shown = [
        {
            "label": DETAIL_LABELS.get(name, name),
            "before": _shown_value(name, before),
            "after": _shown_value(name, after),
        }
        for name, (before, after) in changes.items()
    ]
    version = stamp(utcnow())
    addresses = [person.email] + ([old_email] if old_email and old_email != person.email else [])
    for address in addresses:
        outbox.enqueue(
            "details_changed_to_registrant",
            address,
            dedupe_key=f"person:{person.id}:details_changed:{version}:{address}",
            to_name=person.full_name,
            person=person,
            context={
                "changes": shown,
                "old_address": address != person.email,
                "new_address": person.email,
            },
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
