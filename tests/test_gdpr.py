"""Personal data: retention and purge (idempotent, figures kept), export, correction, erasure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from irev.extensions import db
from irev.models import (
    AuditEvent,
    EmailStatus,
    OutboundEmail,
    Person,
    Registration,
    RegistrationState,
    utcnow,
)
from irev.services import audit, gdpr, outbox

S = RegistrationState


def _email(registration: Registration, kind: str, *, sent: bool) -> OutboundEmail:
    """Queue an e-mail about a registration, and mark it sent with a raw message if asked."""
    outbox.enqueue(
        kind,
        registration.person.email,
        dedupe_key=f"t:{registration.id}:{kind}",
        registration=registration,
        context={"reason": "motif personnel"},
    )
    email = db.session.scalar(
        db.select(OutboundEmail).filter_by(dedupe_key=f"t:{registration.id}:{kind}")
    )
    if sent:
        email.status = EmailStatus.SENT
        email.raw_message = (
            f"To: {registration.person.full_name} <{registration.person.email}>\r\n\r\nBonjour"
        )
    return email


@pytest.fixture
def old_and_current(create_programme, create_meeting, create_person, create_registration):
    """An old programme past retention, a current one, and people in one or both."""
    now = utcnow().replace(microsecond=0)
    old = create_programme(retention_months=12)
    old_meeting = create_meeting(programme=old, starts_at=now - timedelta(days=400))
    current = create_programme()
    current_meeting = create_meeting(programme=current, starts_at=now + timedelta(days=20))
    gone = create_person(
        first_name="Hélène",
        last_name="Lefèvre",
        phone="0601020304",
        accessibility_needs="Sous-titrage",
        department="Somme",
        mandate="maire",
    )
    both = create_person(first_name="Jean", last_name="Durand")
    gone_registration = create_registration(
        meeting=old_meeting, person=gone, state=S.SEATED, attended=True, reason="Motif nominatif"
    )
    create_registration(meeting=old_meeting, person=both, state=S.SEATED)
    create_registration(meeting=current_meeting, person=both, state=S.SEATED)
    _email(gone_registration, "seated_to_registrant", sent=True)
    _email(gone_registration, "video_link_to_registrant", sent=False)
    audit.record(
        gone,
        "person.update",
        gone,
        before={"last_name": "Lefevre"},
        after={"last_name": "Lefèvre", "mandate": "maire"},
    )
    db.session.commit()
    return gone, both, gone_registration


def test_retention_deadline_counts_months_after_the_last_meeting(create_programme, create_meeting):
    from tests.factories import paris

    programme = create_programme(retention_months=12)
    create_meeting(programme=programme, starts_at=paris(2023, 3, 1, 17))
    create_meeting(programme=programme, starts_at=paris(2023, 7, 5, 17))
    assert gdpr.retention_deadline(programme) == paris(2024, 7, 5, 19)
    programme.retention_months = 6
    assert gdpr.retention_deadline(programme) == paris(2024, 1, 5, 19)
    assert gdpr.retention_deadline(create_programme()) is None  # no meeting yet: nothing due
    assert gdpr.add_months(datetime(2023, 8, 31, 12, tzinfo=UTC), 6) == datetime(
        2024, 2, 29, 12, tzinfo=UTC
    )


def test_purge_anonymises_but_keeps_the_figures(runner, old_and_current):
    gone, both, registration = old_and_current
    result = runner.invoke(args=["gdpr", "purge"])
    assert result.exit_code == 0, result.output
    assert "1 personne anonymisée." in result.output
    db.session.expire_all()
    person = db.session.get(Person, gone.id)
    assert person.email == f"anonyme-{gone.id}@invalid"
    assert "Hélène" not in person.full_name and "Lefèvre" not in person.full_name
    assert (person.phone, person.organisation, person.accessibility_needs) == ("", "", "")
    assert person.anonymised_at is not None
    assert (person.department, person.mandate) == ("Somme", "maire")  # figures kept
    kept = db.session.get(Registration, registration.id)
    assert kept.state is S.SEATED and kept.attended is True and kept.reason == ""
    emails = db.session.scalars(db.select(OutboundEmail).filter_by(registration_id=kept.id)).all()
    assert {e.to_address for e in emails} == {f"anonyme-{gone.id}@invalid"}
    assert all(e.raw_message is None and e.context == {} for e in emails)
    assert all(e.status is not EmailStatus.PENDING for e in emails)  # never sent now
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="person.update"))
    assert event.before == {"last_name": "(effacé)"}
    assert event.after == {"last_name": "(effacé)", "mandate": "maire"}
    # Someone still registered to a current programme is left alone.
    assert db.session.get(Person, both.id).first_name == "Jean"
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="gdpr.purge")).after == {
        "people": 1
    }


def test_purge_is_idempotent(runner, old_and_current):
    assert "1 personne anonymisée" in runner.invoke(args=["gdpr", "purge"]).output
    again = runner.invoke(args=["gdpr", "purge"])
    assert again.exit_code == 0
    assert "aucune personne anonymisée." in again.output
    assert (
        db.session.scalar(db.select(db.func.count()).where(AuditEvent.action == "gdpr.purge")) == 1
    )


def test_purge_waits_for_the_retention_period(
    create_programme, create_meeting, create_registration
):
    programme = create_programme(retention_months=24)
    meeting = create_meeting(
        programme=programme, starts_at=utcnow().replace(microsecond=0) - timedelta(days=400)
    )
    registration = create_registration(meeting=meeting)
    db.session.commit()
    assert gdpr.purge().anonymised == 0
    assert db.session.get(Person, registration.person_id).anonymised_at is None
    assert gdpr.purge(now=utcnow() + timedelta(days=400)).anonymised == 1


def test_export_everything_held_as_json(staff_client, old_and_current):
    gone, _, registration = old_and_current
    response = staff_client.get(f"/admin/personnes/{gone.id}/export.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = json.loads(response.data)
    assert data["personne"]["email"] == gone.email
    assert data["personne"]["prenom"] == "Hélène"
    assert data["personne"]["besoins_accessibilite"] == "Sous-titrage"
    assert [r["id"] for r in data["inscriptions"]] == [registration.id]
    assert data["inscriptions"][0]["motif"] == "Motif nominatif"
    assert {e["type"] for e in data["emails"]} == {
        "seated_to_registrant",
        "video_link_to_registrant",
    }
    assert any(e["action"] == "person.update" for e in data["journal"])
    assert (
        db.session.scalar(db.select(AuditEvent).filter_by(action="person.export")).object_id
        == gone.id
    )


def test_erase_needs_a_confirmation(staff_client, old_and_current):
    gone, _, _ = old_and_current
    page = staff_client.get(f"/admin/personnes/{gone.id}/effacer").get_data(as_text=True)
    assert "Cette action est définitive." in page
    response = staff_client.post(f"/admin/personnes/{gone.id}/effacer", data={})
    assert response.status_code == 422
    assert "Cochez la case pour confirmer" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Person, gone.id).anonymised_at is None


def test_erase_cancels_coming_seats_and_anonymises(
    staff_client, create_meeting, create_person, create_registration
):
    meeting = create_meeting(capacity=1)
    person = create_person(first_name="Inès", phone="0611111111")
    seat = create_registration(meeting=meeting, person=person, state=S.SEATED)
    waiting = create_registration(meeting=meeting, state=S.WAITING)
    db.session.commit()
    response = staff_client.post(f"/admin/personnes/{person.id}/effacer", data={"confirm": "y"})
    assert response.status_code == 303
    db.session.expire_all()
    person = db.session.get(Person, person.id)
    assert (
        person.anonymised_at is not None and person.phone == "" and "Inès" not in person.full_name
    )
    assert db.session.get(Registration, seat.id).state is S.CANCELLED_BY_PERSON
    assert db.session.get(Registration, waiting.id).state is S.SEATED  # the seat went on
    mine = db.session.scalars(db.select(OutboundEmail).filter_by(person_id=person.id)).all()
    # Only the seat's cancellation leaves (its calendar drops the meeting; see
    # tests/test_erasure_farewell.py); everything else is scrubbed and never sent.
    farewell = [e for e in mine if e.status is EmailStatus.PENDING]
    assert [e.kind for e in farewell] == ["cancelled_to_registrant"]
    assert farewell[0].registration_id == seat.id
    others = [e for e in mine if e not in farewell]
    assert all(e.status is EmailStatus.FAILED for e in others)
    assert all(e.to_address == f"anonyme-{person.id}@invalid" for e in others)
    promoted = db.session.scalar(db.select(OutboundEmail).filter_by(kind="promoted_to_registrant"))
    assert promoted.status is EmailStatus.PENDING  # the other person is still told
    erase = db.session.scalar(db.select(AuditEvent).filter_by(action="person.erase"))
    assert erase.actor_label == "equipe@irev.fr" and erase.after == {"cancelled": 1}
    page = staff_client.get(f"/admin/personnes/{person.id}").get_data(as_text=True)
    assert "ont été effacées" in page


def test_correct_a_person(staff_client, create_person, create_registration):
    person = create_person(email="ancienne@mairie.fr", first_name="Amélie")
    create_person(email="prise@mairie.fr")
    create_registration(person=person)
    db.session.commit()
    version = person.link_version
    form = {
        "first_name": "Amélie",
        "last_name": "Roux",
        "email": "Nouvelle@Mairie.fr",
        "phone": "",
        "organisation": "Lens",
        "mandate": "maire",
        "department": "Nord",
        "accessibility_needs": "",
    }
    response = staff_client.post(f"/admin/personnes/{person.id}/modifier", data=form)
    assert response.status_code == 303
    db.session.expire_all()
    person = db.session.get(Person, person.id)
    assert person.email == "nouvelle@mairie.fr" and person.last_name == "Roux"
    assert person.link_version == version + 1  # links sent to the old address stop working
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="person.correct"))
    assert "email" in event.after["fields"] and "last_name" in event.after["fields"]
    assert "nouvelle@mairie.fr" not in json.dumps([event.before, event.after])
    taken = staff_client.post(
        f"/admin/personnes/{person.id}/modifier", data={**form, "email": "prise@mairie.fr"}
    )
    assert taken.status_code == 422
    assert "déjà celle d&#39;une autre personne" in taken.get_data(as_text=True)


def test_people_search(staff_client, create_person):
    create_person(first_name="Ahmed", last_name="Benali", organisation="Amiens Métropole")
    create_person(first_name="Léa", last_name="Roux")
    db.session.commit()
    html = staff_client.get("/admin/personnes?q=amiens").get_data(as_text=True)
    assert "BENALI" in html and "ROUX" not in html
