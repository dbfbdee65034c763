"""Cycles from the web, leftovers of issue 11: an archived cycle's coming meetings can be
registered for, and a meeting may cross midnight (form, French wording, calendars)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from irev.dates import meeting_when
from irev.extensions import db
from irev.models import Meeting, Registration, RegistrationState, utcnow
from irev.services import programmes
from irev.typography import french
from tests.admin_helpers import meeting_form
from tests.factories import paris
from tests.registration_support import confirm_path, form_data

S = RegistrationState


# --- an archived cycle's coming meetings ---------------------------------------------------


@pytest.fixture
def two_cycles(create_programme, create_meeting):
    """The spring cycle (archived) still has its July meeting to come; autumn is current."""
    soon = utcnow().replace(microsecond=0) + timedelta(days=10)
    spring = create_programme(slug="printemps", title="Cycle du printemps", year=2026)
    autumn = create_programme(slug="automne", title="Cycle de l’automne", year=2027)
    july = create_meeting(
        programme=spring, slug="juillet", title="Séance de juillet", starts_at=soon
    )
    september = create_meeting(
        programme=autumn,
        slug="septembre",
        title="Séance de septembre",
        starts_at=soon + timedelta(days=40),
    )
    october = create_meeting(
        programme=autumn,
        slug="octobre",
        title="Séance d’octobre",
        starts_at=soon + timedelta(days=70),
    )
    db.session.commit()
    assert programmes.get_current_programme().id == autumn.id
    return spring, july, september, october  # fmt: skip


def test_the_archived_page_button_leads_to_a_form_that_takes_the_meeting(client, two_cycles):
    spring, july, _september, _october = two_cycles
    page = client.get(f"/cycles/{spring.slug}").get_data(as_text=True)
    assert "/inscription?seance=juillet" in page
    assert french("S'inscrire à la séance du") in page
    form = client.get("/inscription?seance=juillet").get_data(as_text=True)
    assert 'value="juillet" checked' in form  # offered and ticked, like a current meeting

    response = client.post("/inscription", data=form_data("juillet"))
    assert response.status_code == 303
    client.post(confirm_path())
    [registration] = db.session.scalars(db.select(Registration))
    assert registration.meeting_id == july.id and registration.state is S.SEATED


def test_the_whole_season_is_the_current_cycle(client, two_cycles):
    _spring, _july, september, october = two_cycles
    response = client.post("/inscription", data=form_data(whole_season="y"))
    assert response.status_code == 303
    client.post(confirm_path())
    chosen = {r.meeting_id for r in db.session.scalars(db.select(Registration))}
    assert chosen == {september.id, october.id}


def test_an_unpublished_cycle_offers_nothing(client, two_cycles):
    spring, _july, _september, _october = two_cycles
    spring.published = False
    db.session.commit()
    form = client.get("/inscription?seance=juillet").get_data(as_text=True)
    assert 'value="juillet"' not in form
    response = client.post("/inscription", data=form_data("juillet"))
    assert response.status_code == 422
    assert db.session.scalar(db.select(db.func.count(Registration.id))) == 0


# --- a meeting that crosses midnight ---------------------------------------------------------


def test_french_wording_of_a_meeting_across_midnight():
    assert meeting_when(paris(2026, 6, 3, 22), paris(2026, 6, 4, 0, 30)) == (
        "du mercredi 3 juin 2026 à 22 h au jeudi 4 juin à 0 h 30"
    )
    assert meeting_when(paris(2026, 12, 31, 22), paris(2027, 1, 1, 1)) == (
        "du jeudi 31 décembre 2026 à 22 h au vendredi 1er janvier 2027 à 1 h"
    )
    assert meeting_when(paris(2026, 6, 3, 17), paris(2026, 6, 3, 19)) == (
        "mercredi 3 juin 2026, de 17 h à 19 h"
    )


def test_staff_create_a_meeting_from_22_h_to_00_30(staff_client, create_programme):
    programme = create_programme()
    db.session.commit()
    data = meeting_form(day="2030-06-05", start="22:00", end="00:30", registration_opens_at="")
    response = staff_client.post(f"/admin/seances/nouvelle?programme={programme.id}", data=data)
    assert response.status_code == 303
    meeting = db.session.scalar(db.select(Meeting))
    assert meeting.starts_at == datetime(2030, 6, 5, 20, tzinfo=UTC)  # 22:00 Paris, summer
    assert meeting.ends_at == datetime(2030, 6, 5, 22, 30, tzinfo=UTC)  # 00:30 the next day
    # The edit form shows the same hours back, and saving it unchanged keeps them.
    edit = staff_client.get(f"/admin/seances/{meeting.id}/modifier").get_data(as_text=True)
    assert 'value="22:00"' in edit and 'value="00:30"' in edit
    meeting.status = meeting.status.PUBLISHED
    db.session.commit()

    page = staff_client.get(f"/seances/{meeting.slug}").get_data(as_text=True)
    assert french("du mercredi 5 juin 2030 à 22 h au jeudi 6 juin à 0 h 30") in page
    ics = staff_client.get(f"/seances/{meeting.slug}.ics").data
    [event] = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    assert event["DTSTART"].dt.isoformat() == "2030-06-05T22:00:00+02:00"
    assert event["DTEND"].dt.isoformat() == "2030-06-06T00:30:00+02:00"


@pytest.mark.parametrize(
    ("start", "end"),
    [("17:00", "17:00"), ("19:00", "17:00"), ("11:59", "00:00"), ("23:59", "12:00")],
)
def test_an_end_before_the_start_is_the_next_day_only_for_12_hours(
    staff_client, create_programme, start, end
):
    programme = create_programme()
    db.session.commit()
    data = meeting_form(start=start, end=end)
    response = staff_client.post(f"/admin/seances/nouvelle?programme={programme.id}", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "L&#39;heure de fin doit être après l&#39;heure de début." in html
    assert db.session.scalar(db.select(db.func.count(Meeting.id))) == 0


def test_twelve_hours_across_midnight_is_accepted(staff_client, create_programme):
    programme = create_programme()
    db.session.commit()
    data = meeting_form(start="20:00", end="08:00", registration_opens_at="")
    response = staff_client.post(f"/admin/seances/nouvelle?programme={programme.id}", data=data)
    assert response.status_code == 303
    meeting = db.session.scalar(db.select(Meeting))
    assert meeting.ends_at - meeting.starts_at == timedelta(hours=12)


def test_self_service_adds_an_archived_cycles_coming_meeting(client, two_cycles, create_person):
    from irev.notifications import manage_url
    from tests.registration_support import path_of

    _spring, july, _september, _october = two_cycles
    person = create_person()
    db.session.commit()
    manage = path_of(manage_url(person))
    page = client.get(manage).get_data(as_text=True)
    assert "Séance de juillet" in page and "Séance de septembre" in page
    response = client.post(f"{manage}/ajouter", data={"meetings": ["juillet"]})
    assert response.status_code == 200
    [registration] = db.session.scalars(db.select(Registration))
    assert registration.meeting_id == july.id and registration.state is S.SEATED


def test_a_change_of_time_across_midnight_reads_in_french(create_meeting):
    from irev.notifications import change_lines

    meeting = create_meeting(starts_at=paris(2030, 6, 5, 22), capacity=5)
    meeting.ends_at = paris(2030, 6, 6, 0, 30)
    old = [paris(2030, 6, 5, 17).isoformat(), paris(2030, 6, 5, 19).isoformat()]
    assert change_lines(meeting, {"change": "time", "old_times": old}) == [
        "La séance a désormais lieu du mercredi 5 juin 2030 à 22 h au jeudi 6 juin à 0 h 30, "
        "au lieu de mercredi 5 juin 2030, de 17 h à 19 h."
    ]


@pytest.mark.parametrize(
    ("start", "end", "accepted"),
    [("22:00", "00:30", True), ("20:00", "08:00", True), ("19:00", "17:00", False),
     ("17:00", "17:00", False)],
)  # fmt: skip
def test_a_cycles_usual_hours_may_cross_midnight_too(
    staff_client, create_programme, start, end, accepted
):
    from tests.test_cycles import _cycle_form

    programme = create_programme()
    db.session.commit()
    response = staff_client.post(
        f"/admin/programme?id={programme.id}",
        data=_cycle_form(default_start=start, default_end=end),
    )
    assert response.status_code == (303 if accepted else 422)
    db.session.expire_all()
    assert (programme.default_end.strftime("%H:%M") == end) is accepted
    if accepted:  # the new-meeting form starts with those hours, and they save as they read
        page = staff_client.get(f"/admin/seances/nouvelle?programme={programme.id}")
        assert f'value="{end}"' in page.get_data(as_text=True)
