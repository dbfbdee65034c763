"""Attendance after a meeting, and figures per meeting and per programme (grouped queries)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func

from irev.extensions import db
from irev.models import Meeting, Person, Programme, Registration, RegistrationState, StaffUser
from irev.services import audit, territories
from irev.services.moderation import (
    STATE_LABELS,
    counts_by_state,
    department_label,
    mandate_label,
)
from irev.services.programmes import staff_title

S = RegistrationState
UNKNOWN = "Non renseigné"


@dataclass
class Row:
    """One line of figures: seated registrations and attendance."""

    label: str
    seated: int = 0
    present: int = 0
    absent: int = 0

    @property
    def marked(self) -> int:
        return self.present + self.absent

    @property
    def rate(self) -> float | None:
        """Return present / marked, or None while no attendance is marked."""
        return self.present / self.marked if self.marked else None

    def add(self, other: Row) -> None:
        """Add another row's counts to this one."""
        self.seated += other.seated
        self.present += other.present
        self.absent += other.absent


@dataclass
class Figures:
    """Figures of one meeting or one programme."""

    title: str
    total: Row
    by_state: dict[RegistrationState, int]
    by_department: list[Row]
    by_mandate: list[Row]
    #: By EPCI and by commune, from the codes (people whose name matched none are « Non
    #: renseigné »).
    by_epci: list[Row] = field(default_factory=list)
    by_commune: list[Row] = field(default_factory=list)
    per_meeting: list[Row] = field(default_factory=list)
    people: int = 0

    @property
    def state_rows(self) -> list[tuple[str, int]]:
        """Return (French label, count) for every state that has registrations."""
        return [(STATE_LABELS[s], self.by_state[s]) for s in S if self.by_state.get(s)]


def _attendance_columns() -> tuple[Any, Any, Any]:
    """Return count, present and absent aggregate columns over seated registrations."""
    return (
        func.count(Registration.id),
        func.coalesce(func.sum(case((Registration.attended.is_(True), 1), else_=0)), 0),
        func.coalesce(func.sum(case((Registration.attended.is_(False), 1), else_=0)), 0),
    )


def _grouped(meeting_ids: Sequence[int], column, label) -> list[Row]:
    """Return one row per value of column, for the seated registrations of these meetings."""
    query = (
        db.select(column, *_attendance_columns())
        .join(Registration.person)
        .where(Registration.meeting_id.in_(meeting_ids), Registration.state == S.SEATED)
        .group_by(column)
        .order_by(func.count(Registration.id).desc(), column)
    )
    return [
        Row(label(value) or UNKNOWN, seated, int(present), int(absent))
        for value, seated, present, absent in db.session.execute(query)
    ]


def _grouped_by_code(meeting_ids: Sequence[int], column) -> list[Row]:
    """Return one row per commune or EPCI code, labelled « Amiens (80021) »."""
    rows = _grouped(meeting_ids, column, lambda code: code)
    places = territories.describe([row.label for row in rows if row.label != UNKNOWN])
    for row in rows:
        place = places.get(row.label)
        if place is not None:
            row.label = f"{place.name} ({place.code})"
    return rows


def _grouped_by_department(meeting_ids: Sequence[int]) -> list[Row]:
    """Return one row per département: « Somme (80) » from the code, else the form's answer."""
    query = (
        db.select(Person.department_code, Person.department, *_attendance_columns())
        .join(Registration.person)
        .where(Registration.meeting_id.in_(meeting_ids), Registration.state == S.SEATED)
        .group_by(Person.department_code, Person.department)
    )
    found = list(db.session.execute(query))
    names = territories.departement_names({code for code, *_ in found})
    merged: dict[str, Row] = {}
    for code, answer, seated, present, absent in found:
        if code:
            label = f"{names.get(code, answer)} ({code})"
        else:
            label = department_label(answer) or UNKNOWN
        merged.setdefault(label, Row(label)).add(Row(label, seated, int(present), int(absent)))
    return sorted(merged.values(), key=lambda row: (-row.seated, row.label))


def _figures(title: str, meetings: Sequence[Meeting]) -> Figures:
    """Compute figures over a set of meetings: a few grouped queries, whatever their size."""
    ids = [m.id for m in meetings]
    per_meeting_counts = {
        meeting_id: Row("", seated, int(present), int(absent))
        for meeting_id, seated, present, absent in db.session.execute(
            db.select(Registration.meeting_id, *_attendance_columns())
            .where(Registration.meeting_id.in_(ids), Registration.state == S.SEATED)
            .group_by(Registration.meeting_id)
        )
    }
    total = Row("Total")
    per_meeting = []
    for meeting in meetings:
        row = per_meeting_counts.get(meeting.id, Row(""))
        row.label = staff_title(meeting)
        per_meeting.append(row)
        total.add(row)
    by_state: dict[RegistrationState, int] = {}
    for counts in counts_by_state(ids).values():
        for state, count in counts.items():
            by_state[state] = by_state.get(state, 0) + count
    people = db.session.scalar(
        db.select(func.count(func.distinct(Registration.person_id))).where(
            Registration.meeting_id.in_(ids), Registration.state == S.SEATED
        )
    )
    return Figures(
        title=title,
        total=total,
        by_state=by_state,
        by_department=_grouped_by_department(ids),
        by_mandate=_grouped(ids, Person.mandate, mandate_label),
        by_epci=_grouped_by_code(ids, Person.epci_siren),
        by_commune=_grouped_by_code(ids, Person.commune_code),
        per_meeting=per_meeting,
        people=people or 0,
    )


def meeting_figures(meeting: Meeting) -> Figures:
    """Return the figures of one meeting."""
    return _figures(staff_title(meeting), [meeting])


def programme_figures(programme: Programme) -> Figures:
    """Return the figures of a programme, with one line per meeting."""
    meetings = [m for m in programme.meetings]
    return _figures(programme.title, meetings)


#: Form values of the attendance page.
ATTENDANCE_VALUES = {"present": True, "absent": False, "": None}


def mark_attendance(meeting: Meeting, marks: dict[int, bool | None], actor: StaffUser) -> int:
    """Record present/absent for seated registrations of the meeting; return how many changed.

    Only seated registrations of this meeting are touched, whatever ids the form sent.
    """
    seated = db.session.scalars(
        db.select(Registration).where(
            Registration.meeting_id == meeting.id,
            Registration.state == S.SEATED,
            Registration.id.in_(list(marks)),
        )
    )
    changed = 0
    for registration in seated:
        new = marks[registration.id]
        if registration.attended is not new:
            audit.record(
                actor,
                "registration.attendance",
                registration,
                before={"attended": registration.attended},
                after={"attended": new},
            )
            registration.attended = new
            # A staff mark wins over any report imported later (services.attendance_import).
            registration.attendance_source = "manual" if new is not None else None
            changed += 1
    return changed


def chart_bars(rows: Sequence[Row], *, value: str = "seated") -> list[dict[str, Any]]:
    """Return bar geometry (percent of the largest value) for the server-drawn SVG chart."""
    values = [getattr(row, value) for row in rows]
    largest = max(values, default=0) or 1
    return [
        {"label": row.label, "value": v, "width": round(100 * v / largest, 1)}
        for row, v in zip(rows, values, strict=True)
    ]
