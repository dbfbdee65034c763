"""The reconfirmation e-mail as deployed: HTTPS, production mode, the worker, aiosmtpd.

A full meeting in three days: the person seated long ago gets « je confirme / je libère ma
place » from the worker, opens the link on a phone (320 px), frees the seat with the button
(a real POST under Flask-WTF's strict HTTPS referrer check), and the person waiting gets the
seat and its e-mail at once.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from irev.extensions import db
from irev.models import Meeting, MeetingStatus, Person, Registration, RegistrationState, utcnow
from irev.services.programmes import get_current_programme
from tests.browser.conftest import assert_accessible
from tests.browser.test_production_path import assert_token_page

S = RegistrationState
SEATED = "anne.reconfirme@commune.example"
WAITING = "wanda.attend@commune.example"


@pytest.fixture(scope="module")
def full_meeting(live_server) -> str:
    """Add a full meeting in three days: one seat, taken ten days ago, and one person waiting."""
    with live_server.app.app_context():
        starts = (utcnow() + timedelta(days=3)).replace(microsecond=0)
        meeting = Meeting(
            programme=get_current_programme(),
            slug="seance-complete",
            title="Séance complète : la sécurité du quotidien",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            status=MeetingStatus.PUBLISHED,
            capacity=1,
            seats_taken=1,
        )
        long_ago = utcnow() - timedelta(days=10)
        for email, state in ((SEATED, S.SEATED), (WAITING, S.WAITING)):
            person = Person(email=email, first_name="Élue", last_name=email[:5], mandate="maire")
            db.session.add(
                Registration(person=person, meeting=meeting, state=state, state_changed_at=long_ago)
            )
        db.session.commit()
        db.session.remove()
    return "seance-complete"


def state_of(live_server, email: str) -> S:
    with live_server.app.app_context():
        state = db.session.scalar(
            sa.select(Registration.state).join(Registration.person).where(Person.email == email)
        )
        db.session.remove()
        return state


def test_freeing_the_seat_from_the_email_on_a_phone(new_context, live_server, full_meeting):
    page = new_context(viewport={"width": 320, "height": 700}).new_page()
    link = live_server.mail_link(SEATED, "/inscription/reconfirmer/")
    response = page.goto(link)
    assert_token_page(response)
    assert_accessible(page)
    expect(page.locator("h1")).to_have_text("Viendrez-vous à la séance\u202f?")
    assert state_of(live_server, SEATED) is S.SEATED  # opening the link changed nothing
    page.click("text=Je libère ma place")
    expect(page.locator("h1")).to_have_text("Votre place est libérée")
    assert_accessible(page)
    assert state_of(live_server, SEATED) is S.CANCELLED_BY_PERSON
    assert state_of(live_server, WAITING) is S.SEATED
    live_server.wait_for_mail(WAITING, "Bonne nouvelle")
    # The link is used: opening it again says so, in French.
    again = page.goto(link)
    assert again.status == 409
    expect(page.locator("main")).to_contain_text("plus de place réservée")
