"""Each cycle's reminder schedule: edited on the cycle page, checked in French, and followed
when the video link is sent (a cycle without one follows IREV_VIDEO_LINK_SCHEDULE)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from irev.extensions import db
from irev.models import AuditEvent, Programme
from irev.services import cycles, link_schedule, video_links
from irev.services.cycles import CycleError
from tests.factories import paris
from tests.registration_support import rows
from tests.test_cycles import _cycle_form


def _post(staff_client, programme, **changes):
    return staff_client.post(f"/admin/programme?id={programme.id}", data=_cycle_form(**changes))


def test_the_cycle_page_edits_the_schedule_and_says_it_in_french(staff_client, create_programme):
    programme = create_programme()
    db.session.commit()
    page = staff_client.get(f"/admin/programme?id={programme.id}").get_data(as_text=True)
    assert "Envoi du lien de connexion avant chaque séance (facultatif)" in page
    # The setting's default, said in words, so staff know what an empty field means.
    assert "suivre le réglage général : la veille à 10 h ; 1 h avant." in page

    response = _post(staff_client, programme, reminder_schedule=" 7j ,  veille@10:00, 1h ")
    assert response.status_code == 303
    db.session.expire_all()
    assert programme.reminder_schedule == "7j , veille@10:00, 1h"
    [event] = db.session.scalars(db.select(AuditEvent).filter_by(action="programme.update"))
    assert event.before["reminder_schedule"] is None
    assert event.after["reminder_schedule"] == "7j , veille@10:00, 1h"
    page = staff_client.get(f"/admin/programme?id={programme.id}").get_data(as_text=True)
    assert (
        "Le lien de connexion part actuellement : 7 jours avant ; la veille à 10 h ; 1 h avant."
        in page
    )

    # Emptied, the cycle follows the setting again.
    assert _post(staff_client, programme, reminder_schedule="").status_code == 303
    db.session.expire_all()
    assert programme.reminder_schedule is None


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("demain", "Élément illisible dans le calendrier d&#39;envoi du lien : « demain »"),
        ("7j, lundi", "Élément illisible dans le calendrier d&#39;envoi du lien : « lundi »"),
        ("veille@25:00", "Heure invalide dans « veille@25:00 » (attendu : 00:00 à 23:59)."),
        ("0h", "Durée nulle dans « 0h »."),
        (",,", "le calendrier d&#39;envoi du lien est vide"),
        ("1h," * 70, "Saisissez au plus 200 caractères."),
        ("1h\x00", "contient un caractère non autorisé"),
    ],
)
def test_a_bad_schedule_is_refused_in_french_and_changes_nothing(
    staff_client, create_programme, schedule, message
):
    programme = create_programme(reminder_schedule="2j")
    db.session.commit()
    response = _post(staff_client, programme, reminder_schedule=schedule)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Il y a un problème" in html and message in html
    assert 'aria-invalid="true"' in html
    db.session.expire_all()
    assert programme.reminder_schedule == "2j"
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == 0


def test_the_service_refuses_a_bad_schedule_itself(create_programme):
    programme = create_programme()
    db.session.commit()
    data = {**_cycle_form(), "year": 2027, "retention_months": 12, "reminder_schedule": "tôt"}
    with pytest.raises(CycleError, match="illisible") as caught:
        cycles.update_cycle(programme, data, None)
    assert caught.value.field == "reminder_schedule"


def test_a_new_cycle_and_a_duplicate_carry_the_schedule(staff_client):
    response = staff_client.post(
        "/admin/cycles/nouveau", data=_cycle_form(reminder_schedule="J-2@18:00, 30min")
    )
    assert response.status_code == 303
    programme = db.session.scalar(db.select(Programme))
    assert programme.reminder_schedule == "J-2@18:00, 30min"
    copy = cycles.duplicate_cycle(
        programme, title="Copie", year=2028, days=[], keep_topics=False, actor=None
    )
    assert copy.reminder_schedule == "J-2@18:00, 30min"


def test_the_cycle_schedule_decides_when_the_link_is_sent(
    app, create_programme, create_meeting, create_registration
):
    """A week before: a cycle with « 7j » sends the link; one on the setting waits."""
    starts = paris(2030, 3, 6, 17)  # a Wednesday, 16:00 UTC
    weekly = create_programme(slug="hebdo", reminder_schedule="7j, veille@10:00, 1h")
    usual = create_programme(slug="habituel")  # IREV_VIDEO_LINK_SCHEDULE: veille@10:00,1h
    with_week = create_registration(create_meeting(programme=weekly, starts_at=starts))
    without = create_registration(create_meeting(programme=usual, starts_at=starts))
    db.session.commit()

    assert link_schedule.send_moments(with_week.meeting, link_schedule.schedule_for(weekly)) == [
        datetime(2030, 2, 27, 16, tzinfo=UTC),  # 7 days before
        datetime(2030, 3, 5, 9, tzinfo=UTC),  # the day before, 10:00 Paris
        datetime(2030, 3, 6, 15, tzinfo=UTC),  # one hour before
    ]
    a_week_before = starts - timedelta(days=7)
    assert video_links.schedule_due(a_week_before - timedelta(minutes=1)).links == 0
    assert video_links.schedule_due(a_week_before).links == 1
    db.session.flush()
    assert len(rows(registration_id=with_week.id, kind=video_links.VIDEO_LINK)) == 1
    assert rows(registration_id=without.id) == []
    # The day before at 10:00 both cycles' registrants are due (the weekly one a second time).
    day_before = datetime(2030, 3, 5, 9, tzinfo=UTC)
    assert video_links.schedule_due(day_before).links == 2


def test_an_unreadable_stored_schedule_falls_back_to_the_setting(app, create_programme, caplog):
    programme = create_programme(reminder_schedule="n'importe quoi")  # behind the form's back
    db.session.commit()
    assert link_schedule.schedule_for(programme) == link_schedule.configured_schedule()
    assert "Calendrier d'envoi illisible" in caplog.text


def test_the_schedule_is_said_in_french():
    offsets = link_schedule.parse_schedule("7j,veille@10:00,J-2@9h30,jour@8h,1h30,45min,1h")
    assert link_schedule.describe_schedule(offsets) == (
        "7 jours avant ; la veille à 10 h ; 2 jours avant à 9 h 30 ; le jour même à 8 h ; "
        "1 h 30 avant ; 45 min avant ; 1 h avant"
    )
