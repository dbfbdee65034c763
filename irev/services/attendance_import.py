"""Attendance from the video tool's report: match participants, decide « présent ».

Decisions carried out here:

- One seam. `import_participants()` takes `ParticipantRecord`s from any source (today the CSV
  Zoom exports, read by `services.zoom_report`), so a later sync with Zoom's API only has to
  build the same records.
- The import is one transaction (the route commits once), so a report is never half imported.
- Rows are matched to the meeting's seated registrants by e-mail, then by name (accents, case,
  punctuation and the order of first and last names ignored), and only when exactly one
  registrant fits. Staff match the rest by hand; a re-import keeps those hand matches.
- « Présent » is connected time >= the programme's threshold (% of the meeting's scheduled
  length; IREV_ATTENDANCE_THRESHOLD_PERCENT when the programme sets none). A mark made by staff
  on the attendance page is never changed by an import: manual marking wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from irev.extensions import db
from irev.models import (
    AttendanceParticipant,
    Meeting,
    Programme,
    Registration,
    RegistrationState,
    StaffUser,
)
from irev.services import audit
from irev.services.zoom_report import (
    ParticipantRecord,
    fold,
    minutes,
    name_candidates,
    name_tokens,
    union_seconds,
)


class MatchError(ValueError):
    """A hand match was refused (the message says why, in French)."""


# Import, matching and presence


@dataclass
class ImportSummary:
    """What an import did, for the staff's message and the audit row."""

    rows: int
    participants: int
    matched: int
    unmatched: int
    present: int
    absent: int


def threshold_percent(programme: Programme) -> int:
    """Return the share of a meeting (%) that makes a person « présent » in this programme."""
    value = programme.attendance_threshold_percent
    if value is None:
        value = int(current_app.config["IREV_ATTENDANCE_THRESHOLD_PERCENT"])
    return value


def seated_registrations(meeting: Meeting) -> list[Registration]:
    """Return the meeting's seated registrations, people loaded."""
    return list(
        db.session.scalars(
            db.select(Registration)
            .where(
                Registration.meeting_id == meeting.id,
                Registration.state == RegistrationState.SEATED,
            )
            .options(db.joinedload(Registration.person))
            .order_by(Registration.id)
        )
    )


def participants(meeting: Meeting) -> list[AttendanceParticipant]:
    """Return the meeting's imported participants, unmatched first, then by name."""
    rows = db.session.scalars(
        db.select(AttendanceParticipant).where(AttendanceParticipant.meeting_id == meeting.id)
    ).all()
    return sorted(rows, key=lambda p: (p.registration_id is not None, fold(p.name), p.id))


def _participant_key(email: str, name: str) -> tuple[str, frozenset[str] | str]:
    """Return how a participant is recognised from one import to the next."""
    return ("email", email) if email else ("name", name_tokens(name))


def import_participants(
    meeting: Meeting,
    records: Sequence[ParticipantRecord],
    actor: StaffUser | None,
    *,
    source: str = "zoom-csv",
) -> ImportSummary:
    """Replace the meeting's report with records, match them, update presence (no commit)."""
    seated = seated_registrations(meeting)
    by_email = {r.person.email: r for r in seated}
    by_name: dict[frozenset[str], list[Registration]] = {}
    for registration in seated:
        tokens = name_tokens(registration.person.full_name)
        by_name.setdefault(tokens, []).append(registration)
    seated_ids = {r.id for r in seated}
    kept_by_hand = {
        _participant_key(p.email, p.name): p.registration_id
        for p in participants(meeting)
        if p.matched_by == "manual" and p.registration_id in seated_ids
    }
    db.session.execute(
        db.delete(AttendanceParticipant).where(AttendanceParticipant.meeting_id == meeting.id)
    )
    matched = 0
    for record in records:
        registration_id, how = _match(record, by_email, by_name, seated)
        if registration_id is None:
            kept = kept_by_hand.get(_participant_key(record.email, record.name))
            registration_id, how = (kept, "manual") if kept else (None, None)
        matched += registration_id is not None
        db.session.add(
            AttendanceParticipant(
                meeting_id=meeting.id,
                name=record.name,
                email=record.email,
                guest=record.guest,
                intervals=[[a.isoformat(), b.isoformat()] for a, b in record.intervals],
                minutes=minutes(record.seconds),
                lines=list(record.lines),
                registration_id=registration_id,
                matched_by=how,
            )
        )
    db.session.flush()
    present, absent = update_presence(meeting, actor)
    summary = ImportSummary(
        rows=sum(len(r.lines) for r in records),
        participants=len(records),
        matched=matched,
        unmatched=len(records) - matched,
        present=present,
        absent=absent,
    )
    audit.record(actor, "attendance.import", meeting, after={"source": source, **vars(summary)})
    return summary


def _match(record, by_email, by_name, seated) -> tuple[int | None, str | None]:
    """Return the seated registration a record names (by e-mail, then name), if only one."""
    if record.email and record.email in by_email:
        return by_email[record.email].id, "email"
    for tokens in name_candidates(record.name):
        exact = by_name.get(tokens, [])
        if len(exact) == 1:
            return exact[0].id, "name"
    # "Camille Martin – Mairie de Roubaix": the registrant's whole name within a longer one.
    for tokens in name_candidates(record.name):
        within = [
            r
            for r in seated
            if len(name_tokens(r.person.full_name)) > 1
            and name_tokens(r.person.full_name) <= tokens
        ]
        if len(within) == 1:
            return within[0].id, "name"
    return None, None


def update_presence(meeting: Meeting, actor: StaffUser | None) -> tuple[int, int]:
    """Set each seated registration's time and « présent » from the report; return counts.

    Registrations marked by hand keep their mark (their time is still recorded).
    """
    intervals: dict[int, list[tuple[datetime, datetime]]] = {}
    for participant in participants(meeting):
        if participant.registration_id is not None:
            intervals.setdefault(participant.registration_id, []).extend(
                (datetime.fromisoformat(a), datetime.fromisoformat(b))
                for a, b in participant.intervals
            )
    length = (meeting.ends_at - meeting.starts_at).total_seconds()
    required = length * threshold_percent(meeting.programme) / 100
    present = absent = 0
    for registration in seated_registrations(meeting):
        seconds = union_seconds(intervals.get(registration.id, []))
        registration.attended_minutes = minutes(seconds)
        if registration.attendance_source != "manual":
            attended = seconds >= required
            if registration.attended is not attended:
                audit.record(
                    actor,
                    "registration.attendance",
                    registration,
                    before={"attended": registration.attended},
                    after={"attended": attended, "minutes": minutes(seconds)},
                )
            registration.attended = attended
            registration.attendance_source = "import"
        present += registration.attended is True
        absent += registration.attended is False
    return present, absent


def match_by_hand(
    participant: AttendanceParticipant, registration_id: int | None, actor: StaffUser
) -> None:
    """Match a report participant to a seated registrant (None: undo), then update presence."""
    meeting = participant.meeting
    registration = None
    if registration_id is not None:
        registration = db.session.get(Registration, registration_id)
        if (
            registration is None
            or registration.meeting_id != meeting.id
            or registration.state is not RegistrationState.SEATED
        ):
            raise MatchError("Choisissez une personne ayant une place à cette séance.")
    before = participant.registration_id
    participant.registration_id = registration.id if registration else None
    participant.matched_by = "manual" if registration else None
    audit.record(
        actor,
        "attendance.match" if registration else "attendance.unmatch",
        registration or meeting,
        before={"registration_id": before},
        after={"participant": participant.name, "minutes": participant.minutes},
    )
    db.session.flush()
    update_presence(meeting, actor)
