"""Every form field at its maximum length is stored, and every e-mail it leads to is built.

The lengths a form allows must fit the columns they land in, and the columns derived from
them (the recipient's full name, a subject naming a meeting). SQLite does not enforce VARCHAR
lengths: these tests matter on PostgreSQL (TEST_DATABASE_URL), where they run in CI.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from irev.admin import forms as staff_forms
from irev.extensions import db
from irev.models import (
    EmailStatus,
    Meeting,
    OutboundEmail,
    Person,
    Programme,
    Registration,
    RegistrationState,
    utcnow,
)
from irev.registration import forms as public_forms
from irev.services import sending
from tests import factories
from tests.registration_support import confirm_path, form_data

#: A valid address of exactly 254 characters (64 before the @, labels of 63 at most).
LONGEST_EMAIL = "c" * 64 + "@" + "a" * 63 + "." + "b" * 63 + "." + "d" * 58 + ".fr"
assert len(LONGEST_EMAIL) == 254

#: Longest values, with non-ASCII letters where a person would type them.
LONGEST_PERSON = {
    "first_name": "É" * 100,
    "last_name": "Ç" * 100,
    "email": LONGEST_EMAIL,
    "phone": "0" * 40,
    "organisation": "Ô" * 200,
    "accessibility_needs": "Sous-titrage. " * 71 + "x" * 6,
}
assert len(LONGEST_PERSON["accessibility_needs"]) == 1000


def column_length(model, name: str) -> int | None:
    """Return the declared length of a column (None for unbounded text)."""
    return getattr(model.__table__.c[name].type, "length", None)


def form_max_length(form_class, name: str) -> int | None:
    """Return the max length a form field allows (from its Length validator)."""
    field = getattr(form_class, name)
    for validator in field.kwargs.get("validators") or ():
        if getattr(validator, "max", -1) not in (-1, None):
            return validator.max
    return None


@pytest.mark.parametrize(
    ("form_class", "field", "model", "column"),
    [
        (public_forms.RegistrationForm, "first_name", Person, "first_name"),
        (public_forms.RegistrationForm, "last_name", Person, "last_name"),
        (public_forms.RegistrationForm, "phone", Person, "phone"),
        (public_forms.RegistrationForm, "organisation", Person, "organisation"),
        (staff_forms.PersonForm, "first_name", Person, "first_name"),
        (staff_forms.PersonForm, "last_name", Person, "last_name"),
        (staff_forms.PersonForm, "email", Person, "email"),
        (staff_forms.PersonForm, "phone", Person, "phone"),
        (staff_forms.PersonForm, "organisation", Person, "organisation"),
        (staff_forms.MeetingForm, "title", Meeting, "title"),
        (staff_forms.MeetingForm, "address", Meeting, "address"),
        (staff_forms.MeetingForm, "video_url", Meeting, "video_url"),
        (staff_forms.MeetingForm, "video_meeting_id", Meeting, "video_meeting_id"),
        (staff_forms.MeetingForm, "video_passcode", Meeting, "video_passcode"),
        (staff_forms.MeetingForm, "video_dial_in", Meeting, "video_dial_in"),
        (staff_forms.ProgrammeForm, "title", Programme, "title"),
        (staff_forms.ProgrammeForm, "audience", Programme, "audience"),
        (staff_forms.ProgrammeForm, "format_line", Programme, "format_line"),
        (staff_forms.ProgrammeForm, "contact_name", Programme, "contact_name"),
        (staff_forms.ProgrammeForm, "contact_role", Programme, "contact_role"),
        (staff_forms.ProgrammeForm, "contact_email", Programme, "contact_email"),
        (staff_forms.ProgrammeForm, "contact_phone", Programme, "contact_phone"),
    ],
)
def test_each_form_length_is_its_column_length(form_class, field, model, column):
    assert form_max_length(form_class, field) == column_length(model, column)


def test_the_recipient_name_holds_both_names_at_their_maximum():
    longest = 2 * public_forms.NAME_MAX + 1  # "first last"
    assert column_length(OutboundEmail, "to_name") >= longest
    assert column_length(Person, "first_name") == public_forms.NAME_MAX


def assert_every_email_built() -> None:
    """Build every queued message (capture mode) and check none failed."""
    db.session.commit()
    report = sending.send_pending()
    assert not report.errors
    db.session.expire_all()
    statuses = {e.kind: e.status for e in db.session.scalars(db.select(OutboundEmail))}
    assert statuses and set(statuses.values()) <= {EmailStatus.SENT, EmailStatus.SKIPPED}


def longest_meeting(**values) -> Meeting:
    """Add an open meeting whose texts are all at their maximum."""
    programme = factories.create_programme(
        title="P" * 200,
        audience="A" * 200,
        format_line="F" * 300,
        contact_name="N" * 120,
        contact_role="R" * 120,
        contact_email="contact@" + "i" * 60 + ".fr",
        contact_phone="0" * 40,
    )
    return factories.create_meeting(
        programme=programme,
        slug="s" * 120,
        title="Thème « très long » " + "t" * 280,
        address="A" * 300,
        video_url="https://zoom.example/j/" + "9" * 477,
        video_meeting_id="9" * 60,
        video_passcode="p" * 60,
        starts_at=utcnow().replace(microsecond=0) + timedelta(days=20),
        **values,
    )


def test_the_public_form_at_every_maximum(client):
    meeting = longest_meeting()
    db.session.commit()
    response = client.post("/inscription", data=form_data(meeting.slug, **LONGEST_PERSON))
    assert response.status_code == 303
    assert client.post(confirm_path(LONGEST_EMAIL)).status_code == 200
    person = db.session.scalar(db.select(Person))
    assert person.full_name == "É" * 100 + " " + "Ç" * 100
    assert person.accessibility_needs == LONGEST_PERSON["accessibility_needs"]
    [registration] = db.session.scalars(db.select(Registration))
    assert registration.state is RegistrationState.SEATED
    assert_every_email_built()
    names = {e.to_name for e in db.session.scalars(db.select(OutboundEmail))}
    assert person.full_name in names


def test_staff_hand_registration_at_every_maximum(staff_client):
    meeting = longest_meeting()
    db.session.commit()
    data = {**LONGEST_PERSON, "mandate": "maire", "department": "Nord"}
    response = staff_client.post(f"/admin/seances/{meeting.id}/inscrire", data=data)
    assert response.status_code == 303
    person = db.session.scalar(db.select(Person))
    assert (person.first_name, person.organisation) == ("É" * 100, "Ô" * 200)
    assert_every_email_built()


def test_staff_hand_registration_without_its_optional_fields(staff_client):
    """A script or an old page that leaves out phone and accessibility needs: read as empty."""
    meeting = factories.create_meeting()
    db.session.commit()
    data = {
        "first_name": "Jean",
        "last_name": "Dupont",
        "email": "jean.dupont@mairie.example",
        "organisation": "Lille",
        "mandate": "maire",
        "department": "Nord",
    }
    response = staff_client.post(f"/admin/seances/{meeting.id}/inscrire", data=data)
    assert response.status_code == 303
    person = db.session.scalar(db.select(Person))
    assert (person.phone, person.accessibility_needs) == ("", "")


def test_the_public_form_without_its_optional_fields(client):
    meeting = factories.create_meeting()
    db.session.commit()
    data = form_data(meeting.slug)
    for optional in ("phone", "accessibility_needs", "website"):
        data.pop(optional)
    assert client.post("/inscription", data=data).status_code == 303
    person = db.session.scalar(db.select(Person))
    assert (person.phone, person.accessibility_needs) == ("", "")


def longest_meeting_form(programme: Programme) -> dict:
    """Return the staff meeting form with every text at its maximum."""
    return {
        "title": "T" * 300,
        "topic_announced": "y",
        "day": (utcnow() + timedelta(days=40)).date().isoformat(),
        "start": "17:00",
        "end": "19:00",
        "mode": "on_site",
        "address": "A" * 300,
        "description": "D" * 5000,
        "speakers": ("Camille Durand ; chargée ; ANCT\n" * 100)[:3000],
        "partners": ("Banque des Territoires\n" * 100)[:2000],
        "capacity": "10000",
        "approval_mode": "moderated",
        "registration_opens_at": "",
        "registration_closes_at": "",
        "video_url": "https://zoom.example/j/" + "9" * 477,
        "video_meeting_id": "9" * 60,
        "video_passcode": "p" * 60,
    }


def test_the_staff_meeting_form_at_every_maximum(staff_client, client):
    programme = factories.create_programme()
    db.session.commit()
    data = longest_meeting_form(programme)
    response = staff_client.post(f"/admin/seances/nouvelle?programme={programme.id}", data=data)
    assert response.status_code == 303
    meeting = db.session.scalar(db.select(Meeting))
    assert (meeting.title, meeting.address) == ("T" * 300, "A" * 300)
    assert staff_client.post(f"/admin/seances/{meeting.id}/publier").status_code in (200, 303)
    assert client.get(f"/seances/{meeting.slug}").status_code == 200
    assert client.get("/calendrier.ics").status_code == 200
    assert client.get(f"/seances/{meeting.slug}.ics").status_code == 200
    # A moderated request for it: the e-mails to the person and to staff name the meeting.
    staff_client.post("/admin/deconnexion")
    response = client.post("/inscription", data=form_data(meeting.slug, **LONGEST_PERSON))
    assert response.status_code == 303
    client.post(confirm_path(LONGEST_EMAIL))
    assert_every_email_built()


def test_the_programme_form_at_every_maximum(staff_client):
    programme = factories.create_programme()
    factories.create_meeting(programme=programme)
    db.session.commit()
    data = {
        "title": "P" * 200,
        "audience": "A" * 200,
        "format_line": "F" * 300,
        "introduction": "I" * 10000,
        "planned_topics": ("Un thème à venir\n" * 400)[:5000],
        "contact_name": "N" * 120,
        "contact_role": "R" * 120,
        "contact_email": "contact@" + "i" * 63 + "." + "r" * 63 + "." + "e" * 63 + "." + "x" * 54,
        "contact_phone": "0" * 40,
        "retention_months": "120",
    }
    assert len(data["contact_email"]) == 254
    response = staff_client.post(f"/admin/programme?id={programme.id}", data=data)
    assert response.status_code in (200, 303)
    db.session.expire_all()
    stored = db.session.get(Programme, programme.id)
    assert (stored.title, stored.contact_email) == ("P" * 200, data["contact_email"])
