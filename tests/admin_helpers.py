"""Helpers shared by the admin tests: a staff account and a signed-in client.

`csrf_token` is re-exported from tests.http_client for the tests that import it from here.
"""

from __future__ import annotations

import pytest

from irev.extensions import db
from irev.models import OutboundEmail
from irev.services import staff
from tests.http_client import csrf_token

PASSWORD = "une phrase de passe assez longue"


def create_staff(email: str = "equipe@irev.fr", password: str = PASSWORD, **values):
    """Add an active staff account and commit."""
    user = staff.create_staff(email, password, values.pop("display_name", ""))
    for name, value in values.items():
        setattr(user, name, value)
    db.session.commit()
    return user


def sign_in(client, email: str = "equipe@irev.fr", password: str = PASSWORD, **kwargs):
    """Post the sign-in form (with its CSRF token when the page has one)."""
    page = client.get("/admin/connexion")
    data = {"email": email, "password": password}
    token = csrf_token(page.get_data(as_text=True))
    if token:
        data["csrf_token"] = token
    return client.post("/admin/connexion", data=data, **kwargs)


@pytest.fixture
def staff_client(client):
    """A client signed in as a staff member (fixture, offered to every test by conftest)."""
    create_staff()
    assert sign_in(client).status_code == 303
    return client


def outbox(kind: str | None = None) -> list[OutboundEmail]:
    """Return the queued e-mails, optionally of one kind, oldest first."""
    query = db.select(OutboundEmail).order_by(OutboundEmail.id)
    if kind:
        query = query.where(OutboundEmail.kind == kind)
    return list(db.session.scalars(query))


def meeting_form(**changes) -> dict:
    """Return a complete, valid staff meeting form."""
    data = {
        "title": "Mixité sociale dans l’habitat",
        "topic_announced": "y",
        "day": "2030-03-27",
        "start": "17:00",
        "end": "19:00",
        "mode": "video",
        "address": "",
        "description": "Présentation de la séance.",
        "speakers": "Camille Durand ; chargée de mission ; ANCT\nJean Petit",
        "partners": "Banque des Territoires\n\nANCT",
        "capacity": "80",
        "approval_mode": "automatic",
        "registration_opens_at": "2030-02-01T09:00",
        "registration_closes_at": "",
        "video_url": "https://zoom.us/j/123",
        "video_meeting_id": "123 456 789",
        "video_passcode": "secret",
    }
    data.update(changes)
    return data
