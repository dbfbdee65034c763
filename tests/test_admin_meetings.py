"""Meetings and programme from the staff area: Paris times stored in UTC, capacity rule,
status changes, the e-mails a change of time, link or status queues, and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from irev.extensions import db
from irev.models import AuditEvent, Meeting, MeetingStatus, RegistrationState
from irev.services import registrations as registration_services
from tests.admin_helpers import meeting_form, outbox
from tests.factories import paris

S = RegistrationState
#: Meetings edited here start at a fixed Paris time: the form has one day for start and end.
MAY_15 = paris(2030, 5, 15, 17)


def _form_of(meeting: Meeting, **changes) -> dict:
    """Return the edit form of a meeting as the page fills it, with changes."""
    from irev.services.meetings_admin import form_data

    values = form_data(meeting)
    data = {key: value for key, value in values.items() if value is not None}
    data["day"] = values["day"].isoformat()
    data["start"] = values["start"].strftime("%H:%M")
    data["end"] = values["end"].strftime("%H:%M")
    for name in ("registration_opens_at", "registration_closes_at"):
        if values[name]:
            data[name] = values[name].strftime("%Y-%m-%dT%H:%M")
    data["topic_announced"] = "y" if values["topic_announced"] else ""
    data.update(changes)
    return {k: v for k, v in data.items() if v not in (None, False)}


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(db.select(AuditEvent).filter_by(action=action)))


def test_create_a_meeting_in_paris_time(staff_client, create_programme):
    programme = create_programme()
    db.session.commit()
    response = staff_client.post(
        f"/admin/seances/nouvelle?programme={programme.id}", data=meeting_form()
    )
    assert response.status_code == 303
    meeting = db.session.scalar(db.select(Meeting))
    # Summer time starts on 31 March 2030: the 27th is still UTC+1.
    assert meeting.starts_at == datetime(2030, 3, 27, 16, 0, tzinfo=UTC)  # UTC+1 in winter
    assert meeting.status is MeetingStatus.DRAFT
    assert meeting.slug == "2030-03-27-mixite-sociale-dans-l-habitat"
    assert meeting.speakers == [
        {"name": "Camille Durand", "role": "chargée de mission", "organisation": "ANCT"},
        {"name": "Jean Petit", "role": "", "organisation": ""},
    ]
    assert meeting.partners == ["Banque des Territoires", "ANCT"]
    assert meeting.registration_opens_at == datetime(2030, 2, 1, 8, 0, tzinfo=UTC)
    [event] = _events("meeting.create")
    assert event.after["video_passcode"] == "(renseigné)"  # never the passcode itself
    assert event.after["starts_at"].startswith("2030-03-27T16:00")


def test_summer_time_is_applied(staff_client, create_programme):
    create_programme()
    db.session.commit()
    staff_client.post("/admin/seances/nouvelle", data=meeting_form(day="2030-04-03"))
    meeting = db.session.scalar(db.select(Meeting))
    assert meeting.starts_at == datetime(2030, 4, 3, 15, 0, tzinfo=UTC)  # UTC+2 in summer
    page = staff_client.get(f"/admin/seances/{meeting.id}/modifier").get_data(as_text=True)
    assert 'value="17:00"' in page and 'value="2030-04-03"' in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"end": "16:00"}, "L&#39;heure de fin doit être après l&#39;heure de début."),
        ({"mode": "on_site", "address": ""}, "Saisissez l&#39;adresse du lieu"),
        ({"video_url": "http://zoom.us/j/1"}, "doit commencer par https://"),
        ({"video_url": "pas un lien"}, "Saisissez une adresse complète"),
        ({"capacity": "beaucoup"}, "Saisissez un nombre entier"),
        ({"day": "31/02/2030"}, "Saisissez une date valide"),
        ({"title": ""}, "Saisissez le titre de la séance."),
        ({"registration_closes_at": "2030-01-01T10:00"}, "après leur ouverture"),
    ],
)
def test_bad_meeting_input_is_explained(staff_client, create_programme, changes, message):
    create_programme()
    db.session.commit()
    response = staff_client.post("/admin/seances/nouvelle", data=meeting_form(**changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert "Il y a un problème" in html
    assert db.session.scalar(db.select(db.func.count(Meeting.id))) == 0


def test_capacity_below_the_seats_taken_is_refused(
    staff_client, create_meeting, create_registration
):
    meeting = create_meeting(capacity=5, starts_at=MAY_15)
    for _ in range(3):
        create_registration(meeting=meeting, state=S.SEATED)
    db.session.commit()
    response = staff_client.post(
        f"/admin/seances/{meeting.id}/modifier", data=_form_of(meeting, capacity="2", title="Autre")
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Impossible de réduire la séance à 2 places : 3 places sont déjà attribuées" in html
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.capacity == 5 and meeting.title != "Autre"  # nothing half-saved
    ok = staff_client.post(
        f"/admin/seances/{meeting.id}/modifier", data=_form_of(meeting, capacity="3")
    )
    assert ok.status_code == 303
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).capacity == 3


def test_raising_the_capacity_seats_the_waiting_list(
    staff_client, create_meeting, create_registration
):
    meeting = create_meeting(capacity=1, starts_at=MAY_15)
    create_registration(meeting=meeting, state=S.SEATED)
    waiting = [create_registration(meeting=meeting, state=S.WAITING) for _ in range(3)]
    db.session.commit()
    staff_client.post(f"/admin/seances/{meeting.id}/modifier", data=_form_of(meeting, capacity="3"))
    db.session.expire_all()
    states = [db.session.get(type(w), w.id).state for w in waiting]
    assert states == [S.SEATED, S.SEATED, S.WAITING]  # in the order of the list
    assert len(outbox("promoted_to_registrant")) == 2


def test_a_change_of_time_raises_the_sequence_and_emails_registrants(staff_client, create_meeting):
    meeting = create_meeting(capacity=10, starts_at=MAY_15)
    data = {
        "email": "elue@mairie.fr",
        "first_name": "Zoé",
        "last_name": "Nguyen",
        "organisation": "Lens",
        "mandate": "maire",
        "department": "Pas-de-Calais",
    }
    registration_services.register_by_staff(data, [meeting], None)
    db.session.commit()
    sequence = meeting.sequence
    assert [e.kind for e in outbox()] == ["seated_to_registrant"]
    response = staff_client.post(
        f"/admin/seances/{meeting.id}/modifier",
        data=_form_of(meeting, start="18:00", end="20:00", confirmer="1"),
    )
    assert response.status_code == 303
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.sequence == sequence + 1
    [changed] = outbox("meeting_changed_to_registrant")  # queued at once, not at the next pass
    assert changed.to_address == "elue@mairie.fr"
    [event] = _events("meeting.update")
    assert set(event.after) == {"starts_at", "ends_at"}
    assert event.before["starts_at"] != event.after["starts_at"]


def test_a_change_of_link_after_it_was_sent_emails_a_correction(
    staff_client, create_meeting, create_registration
):
    from freezegun import freeze_time

    from irev.services import video_links

    meeting = create_meeting(starts_at=MAY_15)
    create_registration(meeting=meeting, state=S.SEATED)
    db.session.commit()
    with freeze_time("2030-05-15 10:00:00"):  # noon in Paris: the day-before moment has passed
        video_links.schedule_due()
        for email in outbox():
            email.status = "sent"  # as if the worker had sent it
        db.session.commit()
        assert [e.kind for e in outbox()] == ["video_link_to_registrant"]
        staff_client.post(
            f"/admin/seances/{meeting.id}/modifier",
            data=_form_of(meeting, video_url="https://zoom.us/j/999", confirmer="1"),
        )
    assert [e.kind for e in outbox()] == [
        "video_link_to_registrant",
        "meeting_changed_to_registrant",
    ]
    [event] = _events("meeting.update")
    assert event.after == {"video_url": "https://zoom.us/j/999"}


def test_publish_unpublish_and_cancel(staff_client, create_meeting, create_registration):
    meeting = create_meeting(status=MeetingStatus.DRAFT)
    db.session.commit()
    staff_client.post(f"/admin/seances/{meeting.id}/publier")
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status is MeetingStatus.PUBLISHED
    staff_client.post(f"/admin/seances/{meeting.id}/depublier", data={"retour": "liste"})
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status is MeetingStatus.DRAFT
    staff_client.post(f"/admin/seances/{meeting.id}/publier")
    create_registration(meeting=db.session.get(Meeting, meeting.id), state=S.SEATED)
    db.session.commit()
    page = staff_client.get(f"/admin/seances/{meeting.id}/annuler").get_data(as_text=True)
    assert "Voir qui sera prévenu" in page and 'name="reason"' in page
    url = f"/admin/seances/{meeting.id}/annuler"
    confirm = {"reason": "Intervenante souffrante", "confirmer": "1"}
    assert staff_client.post(url, data=confirm).status_code == 303
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.status is MeetingStatus.CANCELLED
    assert [e.kind for e in outbox()] == ["meeting_cancelled_to_registrant"]
    actions = [e.action for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == [
        "meeting.publish",
        "meeting.unpublish",
        "meeting.publish",
        "meeting.cancel",
        "registration.cancel",  # the seat ended with the meeting
    ]
    # A cancelled meeting stays cancelled.
    staff_client.post(f"/admin/seances/{meeting.id}/publier")
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).status is MeetingStatus.CANCELLED


def test_the_meetings_list(staff_client, create_meeting):
    meeting = create_meeting(title="Séance « spéciale » & co")
    db.session.commit()
    html = staff_client.get("/admin/seances").get_data(as_text=True)
    assert "Séance « spéciale » &amp; co" in html
    assert f"/admin/seances/{meeting.id}/depublier" in html


def test_edit_the_programme(staff_client, create_programme):
    programme = create_programme()
    db.session.commit()
    page = staff_client.get(f"/admin/programme?id={programme.id}").get_data(as_text=True)
    assert 'value="Morgane Petit"' in page
    response = staff_client.post(
        f"/admin/programme?id={programme.id}",
        data={
            "title": programme.title,
            "audience": "Élus locaux",
            "format_line": "",
            "introduction": "Nouveau texte.",
            "planned_topics": "Thème A\nThème B",
            "contact_name": "Morgane Petit",
            "contact_role": "Directrice",
            "contact_email": "contact@irev.fr",
            "contact_phone": "03 20 00 00 00",
            "retention_months": "18",
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    programme = db.session.get(type(programme), programme.id)
    assert programme.introduction == "Nouveau texte."
    assert programme.planned_topics == ["Thème A", "Thème B"]
    assert programme.retention_months == 18
    [event] = _events("programme.update")
    assert event.after["contact_email"] == "contact@irev.fr"
    bad = staff_client.post(
        f"/admin/programme?id={programme.id}", data={"title": "", "retention_months": "0"}
    )
    assert bad.status_code == 422
    assert "Saisissez une durée entre 1 et 120 mois." in bad.get_data(as_text=True)
