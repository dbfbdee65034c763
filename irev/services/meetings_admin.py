"""Staff edits of meetings and programmes: create, edit, publish, unpublish, cancel.

Each function works in the caller's transaction (the route commits once), records an audit
event with the values before and after, and asks the e-mail scheduler to queue at once what the
change makes due (corrected times or link, cancellation), in the same transaction.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import update

from irev.dates import PARIS
from irev.extensions import db
from irev.models import (
    ApprovalMode,
    Meeting,
    MeetingMode,
    MeetingStatus,
    Programme,
    StaffUser,
)
from irev.services import audit, registration_moves, seats

#: Fields a meeting form edits (and the audit log compares).
MEETING_FIELDS = (
    "title",
    "topic_announced",
    "starts_at",
    "ends_at",
    "mode",
    "address",
    "description",
    "speakers",
    "partners",
    "capacity",
    "approval_mode",
    "registration_opens_at",
    "registration_closes_at",
    "video_url",
    "video_meeting_id",
    "video_passcode",
    "video_dial_in",
)
#: Never written in clear in the audit log: it gives access to the meeting.
SECRET_FIELDS = frozenset({"video_passcode"})

PROGRAMME_FIELDS = (
    "title",
    "audience",
    "format_line",
    "introduction",
    "planned_topics",
    "contact_name",
    "contact_role",
    "contact_email",
    "contact_phone",
    "retention_months",
)


class MeetingError(ValueError):
    """A meeting change is refused; the French message says why and what to do."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def paris_datetime(day: date, clock: time) -> datetime:
    """Return the UTC moment of a Paris wall-clock day and time."""
    return datetime.combine(day, clock, tzinfo=PARIS).astimezone(UTC)


def paris_local(moment: datetime | None) -> datetime | None:
    """Return a naive Paris wall-clock datetime, for a datetime-local field."""
    return moment.astimezone(PARIS).replace(tzinfo=None) if moment else None


def from_paris_local(moment: datetime | None) -> datetime | None:
    """Return the UTC moment of a naive Paris wall-clock datetime."""
    return moment.replace(tzinfo=PARIS).astimezone(UTC) if moment else None


def parse_speakers(text: str) -> list[dict[str, str]]:
    """Read one speaker per line: "name ; role ; organisation" (role and organisation optional)."""
    speakers = []
    for line in (text or "").splitlines():
        parts = [part.strip() for part in line.split(";")]
        if not parts[0]:
            continue
        parts += ["", ""]
        speakers.append({"name": parts[0], "role": parts[1], "organisation": parts[2]})
    return speakers


def format_speakers(speakers: list[dict[str, str]]) -> str:
    """Write speakers back as lines for the form."""
    lines = []
    for speaker in speakers or []:
        parts = [speaker.get("name", ""), speaker.get("role", ""), speaker.get("organisation", "")]
        while parts and not parts[-1]:
            parts.pop()
        lines.append(" ; ".join(parts))
    return "\n".join(lines)


def parse_lines(text: str) -> list[str]:
    """Return the non-empty lines of a text, trimmed."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """Return the audited values of an object (secrets reduced to "set" or "empty")."""
    values = {}
    for name in fields:
        value = getattr(obj, name)
        if name in SECRET_FIELDS:
            value = "(renseigné)" if value else ""
        values[name] = value
    return values


def _changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Return only the fields that differ, before and after."""
    changed = [name for name in after if before.get(name) != after[name]]
    return {n: before.get(n) for n in changed}, {n: after[n] for n in changed}


def slugify(text: str) -> str:
    """Return a lower-case ASCII slug of text."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:80] or "seance"


def _unique_slug(starts_at: datetime, title: str) -> str:
    """Return a free slug "<date>-<title>" for a new meeting."""
    base = f"{starts_at.astimezone(PARIS):%Y-%m-%d}-{slugify(title)}"[:110]
    slug, n = base, 2
    while db.session.scalar(db.select(Meeting.id).filter_by(slug=slug)) is not None:
        slug, n = f"{base}-{n}", n + 1
    return slug


#: The longest meeting that may end after midnight: an end hour before the start hour means
#: the next day only within this span (19:00 typed for 17:00 is a slip, not a 22-hour meeting).
OVERNIGHT_MAX = timedelta(hours=12)


def end_moment(day: date, start: time, end: time) -> datetime:
    """Return when a meeting ends: on its day, or the next day when end is before start.

    22:00 to 00:30 ends the next day at 00:30 (a meeting may cross midnight); _check() refuses
    an overnight span longer than OVERNIGHT_MAX and an end equal to the start.
    """
    if end < start:
        return paris_datetime(day + timedelta(days=1), end)
    return paris_datetime(day, end)


def _check(values: dict[str, Any]) -> None:
    """Refuse inconsistent values, naming the field."""
    if values["ends_at"] <= values["starts_at"]:
        raise MeetingError("L'heure de fin doit être après l'heure de début.", "end")
    if values["ends_at"] - values["starts_at"] > OVERNIGHT_MAX and (
        paris_local(values["ends_at"]).date() != paris_local(values["starts_at"]).date()
    ):
        raise MeetingError(
            "L'heure de fin doit être après l'heure de début. Une heure de fin plus tôt que "
            "le début veut dire le lendemain (par exemple de 22:00 à 00:30), pour une séance "
            "de 12 heures au plus.",
            "end",
        )
    if values["mode"] is MeetingMode.ON_SITE and not values["address"]:
        raise MeetingError("Saisissez l'adresse du lieu d'une séance en présentiel.", "address")
    opens, closes = values["registration_opens_at"], values["registration_closes_at"]
    if opens and closes and closes <= opens:
        raise MeetingError(
            "La clôture des inscriptions doit être après leur ouverture.", "registration_closes_at"
        )
    if closes and closes > values["ends_at"]:
        raise MeetingError(
            "La clôture des inscriptions doit précéder la fin de la séance.",
            "registration_closes_at",
        )
    url = values["video_url"]
    if url and not url.lower().startswith("https://"):
        raise MeetingError(
            "Le lien de la visioconférence doit commencer par https:// (connexion chiffrée).",
            "video_url",
        )


def values_from_form(data: dict[str, Any]) -> dict[str, Any]:
    """Turn validated form data (Paris wall-clock times, text lists) into model values."""
    return {
        "title": data["title"].strip(),
        "topic_announced": bool(data.get("topic_announced")),
        "starts_at": paris_datetime(data["day"], data["start"]),
        "ends_at": end_moment(data["day"], data["start"], data["end"]),
        "mode": MeetingMode(data["mode"]),
        "address": (data.get("address") or "").strip(),
        "description": (data.get("description") or "").strip(),
        "speakers": parse_speakers(data.get("speakers") or ""),
        "partners": parse_lines(data.get("partners") or ""),
        "capacity": int(data["capacity"]),
        "approval_mode": ApprovalMode(data["approval_mode"]),
        "registration_opens_at": from_paris_local(data.get("registration_opens_at")),
        "registration_closes_at": from_paris_local(data.get("registration_closes_at")),
        "video_url": (data.get("video_url") or "").strip(),
        "video_meeting_id": (data.get("video_meeting_id") or "").strip(),
        "video_passcode": (data.get("video_passcode") or "").strip(),
        "video_dial_in": (data.get("video_dial_in") or "").strip(),
    }


def form_data(meeting: Meeting) -> dict[str, Any]:
    """Return a meeting's values the way the form shows them (Paris times, text lists)."""
    start = meeting.starts_at.astimezone(PARIS)
    return {
        "title": meeting.title,
        "topic_announced": meeting.topic_announced,
        "day": start.date(),
        "start": start.time().replace(second=0, microsecond=0),
        "end": meeting.ends_at.astimezone(PARIS).time().replace(second=0, microsecond=0),
        "mode": meeting.mode.value,
        "address": meeting.address,
        "description": meeting.description,
        "speakers": format_speakers(meeting.speakers),
        "partners": "\n".join(meeting.partners or []),
        "capacity": meeting.capacity,
        "approval_mode": meeting.approval_mode.value,
        "registration_opens_at": paris_local(meeting.registration_opens_at),
        "registration_closes_at": paris_local(meeting.registration_closes_at),
        "video_url": meeting.video_url,
        "video_meeting_id": meeting.video_meeting_id,
        "video_passcode": meeting.video_passcode,
        "video_dial_in": meeting.video_dial_in,
    }


def schedule_emails() -> None:
    """Queue at once the e-mails the current state makes due (same transaction).

    The e-mail worker derives the same messages at its next pass anyway; calling it here
    only saves that delay. Its unique keys make the two calls harmless together.
    """
    from irev.services import video_links

    db.session.flush()
    video_links.schedule_due()


def create_meeting(programme: Programme, data: dict[str, Any], actor: StaffUser) -> Meeting:
    """Add a draft meeting to the programme."""
    values = values_from_form(data)
    _check(values)
    meeting = Meeting(
        programme=programme,
        slug=_unique_slug(values["starts_at"], values["title"]),
        status=MeetingStatus.DRAFT,
        **values,
    )
    db.session.add(meeting)
    db.session.flush()
    audit.record(actor, "meeting.create", meeting, after=snapshot(meeting, MEETING_FIELDS))
    return meeting


def update_meeting(meeting: Meeting, data: dict[str, Any], actor: StaffUser) -> dict[str, Any]:
    """Apply the form to a meeting; return the changed fields (after). Refuse a capacity
    below the seats already given."""
    values = values_from_form(data)
    _check(values)
    before = snapshot(meeting, MEETING_FIELDS)
    new_capacity = values.pop("capacity")
    if new_capacity != meeting.capacity:
        _set_capacity(meeting, new_capacity)
    for name, value in values.items():
        if getattr(meeting, name) != value:
            setattr(meeting, name, value)
    db.session.flush()
    old, new = _changes(before, snapshot(meeting, MEETING_FIELDS))
    if new:
        audit.record(actor, "meeting.update", meeting, before=old, after=new)
    if new_capacity > before["capacity"]:
        _offer_free_seats(meeting, actor)
    schedule_emails()
    return new


def _set_capacity(meeting: Meeting, capacity: int) -> None:
    """Change the capacity only if the seats already given still fit (one conditional UPDATE).

    A check followed by a write could let a seat be taken in between; the condition in the
    UPDATE itself cannot be overtaken (and the CHECK constraint stays the last guard).
    """
    result = db.session.execute(
        update(Meeting)
        .where(Meeting.id == meeting.id, Meeting.seats_taken <= capacity)
        .values(capacity=capacity)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(meeting, ["capacity", "seats_taken"])
    if result.rowcount != 1:
        taken = meeting.seats_taken
        raise MeetingError(
            f"Impossible de réduire la séance à {capacity} places : {taken} places sont déjà "
            f"attribuées. Saisissez au moins {taken}, ou annulez d'abord des inscriptions "
            "depuis la liste des inscrits.",
            "capacity",
        )


def _offer_free_seats(meeting: Meeting, actor: StaffUser) -> None:
    """Give newly added seats to the waiting list, in order (each person is e-mailed)."""
    seats.offer_free_seats(meeting, actor)


def set_status(meeting: Meeting, status: MeetingStatus, actor: StaffUser, reason: str = "") -> None:
    """Publish, unpublish (back to draft) or cancel a meeting; a cancelled one stays so.

    Publishing offers the seats freed while it was a draft to the waiting list; cancelling
    ends every registration holding or awaiting a seat (each person is e-mailed once).
    """
    if meeting.status is MeetingStatus.CANCELLED:
        raise MeetingError("Cette séance est annulée : elle ne peut plus changer de statut.")
    if meeting.status is status:
        return
    before = meeting.status
    meeting.status = status
    db.session.flush()
    action = {
        MeetingStatus.PUBLISHED: "meeting.publish",
        MeetingStatus.DRAFT: "meeting.unpublish",
        MeetingStatus.CANCELLED: "meeting.cancel",
    }[status]
    after: dict[str, Any] = {"status": status}
    if reason:
        after["reason"] = reason
    audit.record(actor, action, meeting, before={"status": before}, after=after)
    if status is MeetingStatus.PUBLISHED:
        seats.offer_free_seats(meeting, actor)
    elif status is MeetingStatus.CANCELLED:
        registration_moves.cancel_meeting_registrations(meeting, actor, reason)
    schedule_emails()


def update_programme(programme: Programme, data: dict[str, Any], actor: StaffUser) -> dict:
    """Apply the programme form; return the changed fields (after)."""
    before = snapshot(programme, PROGRAMME_FIELDS)
    values = {
        name: (data.get(name) or "").strip() if isinstance(data.get(name), str) else data.get(name)
        for name in PROGRAMME_FIELDS
    }
    values["planned_topics"] = parse_lines(data.get("planned_topics") or "")
    values["retention_months"] = int(data["retention_months"])
    for name, value in values.items():
        if getattr(programme, name) != value:
            setattr(programme, name, value)
    db.session.flush()
    old, new = _changes(before, snapshot(programme, PROGRAMME_FIELDS))
    if new:
        audit.record(actor, "programme.update", programme, before=old, after=new)
    return new


def programme_form_data(programme: Programme) -> dict[str, Any]:
    """Return the programme's values the way the form shows them."""
    data = snapshot(programme, PROGRAMME_FIELDS)
    data["planned_topics"] = "\n".join(programme.planned_topics or [])
    return data
