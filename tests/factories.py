"""Builders of model rows for tests: sensible defaults, any field overridable."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from irev.dates import PARIS
from irev.extensions import db
from irev.models import (
    Meeting,
    MeetingStatus,
    Person,
    Programme,
    Registration,
    RegistrationState,
    utcnow,
)

_counter = itertools.count(1)


def create_programme(**values: Any) -> Programme:
    """Add a published programme with a contact person."""
    n = next(_counter)
    fields: dict[str, Any] = dict(
        slug=f"programme-{n}",
        title=f"Programme de test {n}",
        year=2023,
        audience="Élus locaux",
        introduction="Une introduction.",
        format_line="Un rendez-vous par mois, en visio.",
        contact_name="Morgane Petit",
        contact_role="Directrice",
        contact_email="m.petit@irev.fr",
        contact_phone="06 07 75 84 23",
    )
    fields.update(values)
    programme = Programme(**fields)
    db.session.add(programme)
    db.session.flush()
    return programme


def create_meeting(**values: Any) -> Meeting:
    """Add a published meeting a month ahead, open for registration, with a video link."""
    n = next(_counter)
    starts_at = values.pop("starts_at", None) or _in_a_month_at_five_pm()
    if "programme" not in values and "programme_id" not in values:
        values["programme"] = create_programme()
    fields: dict[str, Any] = dict(
        slug=f"seance-{n}",
        title=f"Séance de test {n}",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        capacity=50,
        status=MeetingStatus.PUBLISHED,
        video_url=f"https://zoom.example/j/{n}",
        video_meeting_id=f"900 000 {n:04d}",
        video_passcode=f"code{n}",
    )
    fields.update(values)
    meeting = Meeting(**fields)
    db.session.add(meeting)
    db.session.flush()
    return meeting


def _in_a_month_at_five_pm() -> datetime:
    """Return 17:00 Paris time thirty days from now: a meeting that never crosses midnight."""
    day = (utcnow() + timedelta(days=30)).astimezone(PARIS).date()
    return datetime(day.year, day.month, day.day, 17, tzinfo=PARIS).astimezone(UTC)


def create_person(**values: Any) -> Person:
    """Add a person with a unique e-mail address."""
    n = next(_counter)
    fields: dict[str, Any] = dict(
        email=f"elu{n}@commune.example",
        first_name="Camille",
        last_name=f"Martin{n}",
        organisation="Commune de Roubaix",
        mandate="maire",
        department="Nord",
    )
    fields.update(values)
    person = Person(**fields)
    db.session.add(person)
    db.session.flush()
    return person


def create_registration(
    meeting: Meeting | None = None,
    person: Person | None = None,
    state: RegistrationState = RegistrationState.SEATED,
    **values: Any,
) -> Registration:
    """Add a registration; a seated one also takes a seat on the meeting."""
    meeting = meeting or create_meeting()
    person = person or create_person()
    registration = Registration(meeting=meeting, person=person, state=state, **values)
    db.session.add(registration)
    if state is RegistrationState.SEATED:
        meeting.seats_taken += 1
    db.session.flush()
    return registration


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Return an aware UTC datetime for a Paris wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)
