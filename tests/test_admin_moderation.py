"""Moderation: the dashboard, the list of registrations, approve, reject, seat, cancel, bulk,
registration by hand. Each action is checked in the database, the outbox and the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from irev import notifications
from irev.extensions import db
from irev.models import ApprovalMode, AuditEvent, Registration, RegistrationState
from tests.admin_helpers import outbox

S = RegistrationState


@pytest.fixture
def moderated(create_meeting):
    """A moderated meeting with 2 seats."""
    meeting = create_meeting(approval_mode=ApprovalMode.MODERATED, capacity=2)
    db.session.commit()
    return meeting


def _reload(registration: Registration) -> Registration:
    db.session.expire_all()
    return db.session.get(Registration, registration.id)


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(db.select(AuditEvent).filter_by(action=action)))


def test_dashboard_counts_every_state(staff_client, moderated, create_registration):
    for state in [
        S.SEATED,
        S.PENDING_APPROVAL,
        S.PENDING_APPROVAL,
        S.WAITING,
        S.CANCELLED_BY_PERSON,
        S.CANCELLED_BY_ORGANISER,
    ]:
        create_registration(meeting=moderated, state=state)
    db.session.commit()
    html = staff_client.get("/admin/").get_data(as_text=True)
    row = html.split(f'id="seance-{moderated.id}-lien"')[1].split("</tr>")[0]
    cells = [c.split("</td>")[0] for c in row.split('<td class="num">')[1:]]
    assert cells[0].startswith("1 / 2")
    assert ">2<" in cells[1]  # pending, linked to the filtered list
    assert ">1<" in cells[2]  # waiting
    assert cells[3].strip() == "2"  # cancelled by the person or the organiser


def test_dashboard_refreshes_as_a_fragment(staff_client, moderated):
    html = staff_client.get("/admin/").get_data(as_text=True)
    assert (
        'data-hx-trigger="submit, every 30s, seats-changed from:body, registrations-changed' in html
    )
    fragment = staff_client.get(
        "/admin/", headers={"HX-Request": "true", "HX-Target": "compteurs"}
    ).get_data(as_text=True)
    assert "<html" not in fragment and "<table" in fragment
    assert moderated.title in fragment


def test_approve_one_by_one_swaps_the_row(staff_client, moderated, create_registration):
    registration = create_registration(meeting=moderated, state=S.PENDING_APPROVAL)
    db.session.commit()
    response = staff_client.post(
        f"/admin/inscriptions/{registration.id}/valider",
        headers={"HX-Request": "true", "HX-Target": f"inscription-{registration.id}"},
    )
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "seats-changed, registrations-changed"
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith(f'<tr id="inscription-{registration.id}">')
    assert "Place attribuée" in html
    assert " autofocus" in html  # focus lands on the row's name, not on <body>
    assert 'data-hx-swap-oob="innerHTML"' in html and "validée" in html
    registration = _reload(registration)
    assert registration.state is S.SEATED
    assert registration.meeting.seats_taken == 1
    [email] = outbox("approved_to_registrant")
    assert email.to_address == registration.person.email
    assert email.registration_id == registration.id
    rendered = notifications.render(email)
    assert "validé votre inscription" in rendered.text
    assert registration.meeting.title in rendered.subject
    [audit] = _audit("registration.approve")
    assert audit.actor_type == "staff" and audit.actor_label == "equipe@irev.fr"
    assert audit.before == {"state": "pending_approval"} and audit.after["state"] == "seated"


def test_approve_without_javascript_redirects_to_the_list(
    staff_client, moderated, create_registration
):
    registration = create_registration(meeting=moderated, state=S.PENDING_APPROVAL)
    db.session.commit()
    back = f"/admin/seances/{moderated.id}/inscriptions?etat=pending_approval"
    response = staff_client.post(
        f"/admin/inscriptions/{registration.id}/valider", data={"retour": back}
    )
    assert response.status_code == 303 and response.location == back
    page = staff_client.get(back).get_data(as_text=True)
    assert f"Inscription de {registration.person.full_name} validée." in page


def test_approve_when_full_puts_on_the_waiting_list(staff_client, moderated, create_registration):
    create_registration(meeting=moderated, state=S.SEATED)
    create_registration(meeting=moderated, state=S.SEATED)
    registration = create_registration(meeting=moderated, state=S.PENDING_APPROVAL)
    db.session.commit()
    response = staff_client.post(
        f"/admin/inscriptions/{registration.id}/valider", headers={"HX-Request": "true"}
    )
    assert "liste d&#39;attente" in response.get_data(as_text=True)
    assert _reload(registration).state is S.WAITING
    assert [e.kind for e in outbox()] == ["waiting_to_registrant"]


def test_an_illegal_move_is_refused_and_nothing_changes(
    staff_client, moderated, create_registration
):
    registration = create_registration(meeting=moderated, state=S.SEATED)
    db.session.commit()
    response = staff_client.post(
        f"/admin/inscriptions/{registration.id}/valider", headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    assert "Action impossible" in response.get_data(as_text=True)
    assert "HX-Trigger" not in response.headers
    assert _reload(registration).state is S.SEATED
    assert outbox() == []


def test_reject_with_a_reason_that_goes_into_the_email(
    staff_client, moderated, create_registration
):
    registration = create_registration(meeting=moderated, state=S.PENDING_APPROVAL)
    db.session.commit()
    form = staff_client.get(f"/admin/inscriptions/{registration.id}/refuser")
    assert "Motif (facultatif)" in form.get_data(as_text=True)
    reason = "Séance réservée aux élus des communes en QPV <b>cette année</b>."
    response = staff_client.post(
        f"/admin/inscriptions/{registration.id}/refuser", data={"reason": reason}
    )
    assert response.status_code == 303
    registration = _reload(registration)
    assert registration.state is S.REJECTED and registration.reason == reason
    [email] = outbox("rejected_to_registrant")
    assert email.context["reason"] == reason
    rendered = notifications.render(email)
    assert reason in rendered.text
    assert "&lt;b&gt;cette année&lt;/b&gt;" in rendered.html  # escaped in HTML
    assert _audit("registration.reject")


def test_reject_reason_too_long_is_refused(staff_client, moderated, create_registration):
    registration = create_registration(meeting=moderated, state=S.PENDING_APPROVAL)
    db.session.commit()
    response = staff_client.post(
        f"/admin/inscriptions/{registration.id}/refuser", data={"reason": "x" * 1001}
    )
    assert response.status_code == 422
    assert "Saisissez au plus 1000 caractères." in response.get_data(as_text=True)
    assert _reload(registration).state is S.PENDING_APPROVAL


def test_cancel_a_seat_promotes_the_first_waiting(
    staff_client, create_meeting, create_registration
):
    meeting = create_meeting(capacity=1)
    seated = create_registration(meeting=meeting, state=S.SEATED)
    first = create_registration(meeting=meeting, state=S.WAITING)
    db.session.commit()
    response = staff_client.post(
        f"/admin/inscriptions/{seated.id}/annuler", data={"reason": "Doublon"}
    )
    assert response.status_code == 303
    assert _reload(seated).state is S.CANCELLED_BY_ORGANISER
    assert _reload(first).state is S.SEATED
    kinds = sorted(e.kind for e in outbox())
    assert kinds == ["cancelled_by_organiser_to_registrant", "promoted_to_registrant"]
    [email] = outbox("cancelled_by_organiser_to_registrant")
    assert "Doublon" in notifications.render(email).text


def test_move_from_the_waiting_list(staff_client, create_meeting, create_registration):
    meeting = create_meeting(capacity=1)
    waiting = create_registration(meeting=meeting, state=S.WAITING)
    db.session.commit()
    response = staff_client.post(
        f"/admin/inscriptions/{waiting.id}/placer", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert _reload(waiting).state is S.SEATED
    assert [e.kind for e in outbox()] == ["promoted_to_registrant"]
    # The meeting is now full: the next one cannot be seated, and is told why.
    other = create_registration(meeting=meeting, state=S.WAITING)
    db.session.commit()
    refused = staff_client.post(
        f"/admin/inscriptions/{other.id}/placer", headers={"HX-Request": "true"}
    )
    assert refused.status_code == 422
    assert "Aucune place libre" in refused.get_data(as_text=True)
    assert _reload(other).state is S.WAITING


def test_bulk_approve_and_reject(staff_client, create_meeting, create_registration):
    meeting = create_meeting(approval_mode=ApprovalMode.MODERATED, capacity=10)
    pending = [create_registration(meeting=meeting, state=S.PENDING_APPROVAL) for _ in range(4)]
    seated = create_registration(meeting=meeting, state=S.SEATED)
    db.session.commit()
    ids = [pending[0].id, pending[1].id, pending[2].id, seated.id]
    response = staff_client.post(
        f"/admin/seances/{meeting.id}/inscriptions/lot",
        data={"action": "valider", "ids": [str(i) for i in ids]},
        headers={"HX-Request": "true", "HX-Target": "resultats"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert (
        "3 inscriptions validées : 3 avec une place. 1 inscription non traitée : "
        "1 déjà dans l&#39;état « place attribuée »." in html
    )
    assert response.headers["HX-Trigger"] == "seats-changed, registrations-changed"
    assert [_reload(r).state for r in pending[:3]] == [S.SEATED] * 3
    assert len(outbox("approved_to_registrant")) == 3
    rejected = staff_client.post(
        f"/admin/seances/{meeting.id}/inscriptions/lot",
        data={"action": "refuser", "ids": [str(pending[3].id)], "reason": "Complet"},
    )
    assert rejected.status_code == 303
    assert _reload(pending[3]).state is S.REJECTED
    assert outbox("rejected_to_registrant")[0].context["reason"] == "Complet"


def test_bulk_without_selection_explains(staff_client, moderated):
    response = staff_client.post(
        f"/admin/seances/{moderated.id}/inscriptions/lot",
        data={"action": "valider"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "Cochez au moins une inscription" in response.get_data(as_text=True)


def test_bulk_ignores_registrations_of_another_meeting(
    staff_client, moderated, create_meeting, create_registration
):
    elsewhere = create_registration(
        meeting=create_meeting(approval_mode=ApprovalMode.MODERATED),
        state=S.PENDING_APPROVAL,
    )
    db.session.commit()
    staff_client.post(
        f"/admin/seances/{moderated.id}/inscriptions/lot",
        data={"action": "valider", "ids": [str(elsewhere.id)]},
    )
    assert _reload(elsewhere).state is S.PENDING_APPROVAL


def test_register_someone_who_phoned(staff_client, create_meeting):
    meeting = create_meeting(capacity=5)
    db.session.commit()
    page = staff_client.get(f"/admin/seances/{meeting.id}/inscrire").get_data(as_text=True)
    assert '<label for="first_name">Prénom</label>' in page
    response = staff_client.post(
        f"/admin/seances/{meeting.id}/inscrire",
        data={
            "first_name": "Hélène",
            "last_name": "Lefèvre",
            "email": "Helene.Lefevre@Mairie.fr",
            "phone": "",
            "organisation": "Ville de Saint-Quentin",
            "mandate": "maire",
            "department": "Aisne",
            "accessibility_needs": "",
        },
    )
    assert response.status_code == 303
    [registration] = db.session.scalars(db.select(Registration)).all()
    assert registration.person.email == "helene.lefevre@mairie.fr"
    assert registration.state is S.SEATED and registration.source == "equipe"
    assert [e.kind for e in outbox()] == ["seated_to_registrant"]
    assert "Hélène Lefèvre enregistrée : place attribuée" in staff_client.get(
        response.location
    ).get_data(as_text=True)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "pas-une-adresse", "Saisissez une adresse e-mail valide"),
        ("first_name", "", "Saisissez le prénom."),
        ("last_name", "x" * 101, "Saisissez au plus 100 caractères."),
        ("organisation", "Lille\r\nBcc: x@y.z", "doit tenir sur une ligne"),
        ("mandate", "", "Choisissez le mandat."),
    ],
)
def test_register_by_hand_bad_input(staff_client, create_meeting, field, value, message):
    meeting = create_meeting()
    db.session.commit()
    data = {
        "first_name": "Jean",
        "last_name": "Dupont",
        "email": "jean@mairie.fr",
        "organisation": "Lille",
        "mandate": "maire",
        "department": "Nord",
    }
    data[field] = value
    response = staff_client.post(f"/admin/seances/{meeting.id}/inscrire", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert "Il y a un problème" in html and "<title>Erreur : " in html
    assert db.session.scalar(db.select(db.func.count(Registration.id))) == 0


def test_list_filters_search_and_pages(
    staff_client, create_meeting, create_person, create_registration
):
    meeting = create_meeting(capacity=200)
    for n in range(60):
        person = create_person(
            last_name=f"Durand{n:02d}",
            department="Somme" if n % 2 else "Nord",
            organisation="Amiens Métropole" if n == 7 else "Commune de Lens",
        )
        create_registration(
            meeting=meeting, person=person, state=S.WAITING if n % 3 == 0 else S.SEATED
        )
    db.session.commit()
    url = f"/admin/seances/{meeting.id}/inscriptions"
    page1 = staff_client.get(url).get_data(as_text=True)
    assert "60 inscriptions" in page1 and "Page 1 sur 2" in page1
    assert "Durand49" in page1 and "Durand50" not in page1
    assert "Durand50" in staff_client.get(url + "?page=2").get_data(as_text=True)
    assert "20 inscriptions" in staff_client.get(url + "?etat=waiting").get_data(as_text=True)
    assert "30 inscriptions" in staff_client.get(url + "?departement=Nord").get_data(as_text=True)
    found = staff_client.get(url + "?q=amiens").get_data(as_text=True)
    assert "1 inscription correspondant" in found and "Durand07" in found
    # Active search: htmx asks for the results only, and the count is announced.
    fragment = staff_client.get(
        url + "?q=durand1", headers={"HX-Request": "true", "HX-Target": "resultats"}
    ).get_data(as_text=True)
    assert "<html" not in fragment and "<form" in fragment
    assert "10 inscriptions trouvées." in fragment  # the status-region announcement


def test_list_renders_user_text_escaped(
    staff_client, create_meeting, create_person, create_registration
):
    meeting = create_meeting()
    create_registration(
        meeting=meeting,
        person=create_person(
            first_name="<script>alert(1)</script>", organisation='"><img src=x onerror=alert(1)>'
        ),
    )
    db.session.commit()
    html = staff_client.get(f"/admin/seances/{meeting.id}/inscriptions").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html


def test_list_page_runs_a_constant_number_of_queries(
    app, staff_client, create_meeting, create_person, create_registration
):
    """No N+1: the list costs the same few statements for 5 rows and for 50."""
    meeting = create_meeting(capacity=500)

    def statements_for_page() -> int:
        db.session.commit()
        count = 0

        def counter(*args):
            nonlocal count
            count += 1

        event.listen(db.engine, "before_cursor_execute", counter)
        try:
            response = staff_client.get(f"/admin/seances/{meeting.id}/inscriptions")
        finally:
            event.remove(db.engine, "before_cursor_execute", counter)
        assert response.status_code == 200
        return count

    for _ in range(5):
        create_registration(meeting=meeting, person=create_person())
    few = statements_for_page()
    for _ in range(45):
        create_registration(meeting=meeting, person=create_person(), state=S.WAITING)
    many = statements_for_page()
    assert many == few
    assert many <= 10


@pytest.mark.parametrize("state", list(S))
def test_the_row_offers_exactly_the_allowed_actions(
    staff_client, moderated, create_registration, state
):
    registration = create_registration(meeting=moderated, state=state)
    db.session.commit()
    html = staff_client.get(f"/admin/seances/{moderated.id}/inscriptions").get_data(as_text=True)
    row = html.split(f'<tr id="inscription-{registration.id}"')[1].split("</tr>")[0]
    actions = {a.value for a in registration.allowed_actions()}
    offered = {
        "approve": f"/inscriptions/{registration.id}/valider" in row,
        "promote": f"/inscriptions/{registration.id}/placer" in row,
        "reject": f"/inscriptions/{registration.id}/refuser" in row,
        "cancel_by_organiser": f"/inscriptions/{registration.id}/annuler" in row,
    }
    assert {name for name, shown in offered.items() if shown} == actions - {"cancel", "confirm"}
    assert ('name="ids"' in row) is bool(actions & {"approve", "reject", "promote"})


def test_bulk_approval_counts_each_outcome(staff_client, create_meeting, create_registration):
    """Bug 4: on a meeting with one seat left, one person is seated and one waits."""
    meeting = create_meeting(approval_mode=ApprovalMode.MODERATED, capacity=2)
    create_registration(meeting=meeting, state=S.SEATED)
    pending = [create_registration(meeting=meeting, state=S.PENDING_APPROVAL) for _ in range(2)]
    db.session.commit()
    response = staff_client.post(
        f"/admin/seances/{meeting.id}/inscriptions/lot",
        data={"action": "valider", "ids": [str(r.id) for r in pending]},
        headers={"HX-Request": "true", "HX-Target": "resultats"},
    )
    html = response.get_data(as_text=True)
    assert [_reload(r).state for r in pending] == [S.SEATED, S.WAITING]
    assert (
        "2 inscriptions validées : 1 avec une place, 1 en liste d&#39;attente "
        "(plus de place libre)." in html
    )
    waiting = _reload(pending[1])
    placed = staff_client.post(
        f"/admin/seances/{meeting.id}/inscriptions/lot",
        data={"action": "placer", "ids": [str(waiting.id)]},
        headers={"HX-Request": "true", "HX-Target": "resultats"},
    ).get_data(as_text=True)
    assert (
        "Aucune place attribuée depuis la liste d&#39;attente. 1 inscription non traitée : "
        "1 plus de place libre." in placed
    )


def test_registering_a_known_person_by_hand_asks_first(
    staff_client, create_meeting, create_person, create_registration
):
    """Bug 3: a known address shows the person; staff keep or update, and the page says so."""
    meeting = create_meeting(capacity=5)
    person = create_person(
        email="claire.dubois@mairie.fr",
        first_name="Claire",
        last_name="Dubois",
        organisation="Commune d'Albert",
        phone="03 22 11 22 33",
        accessibility_needs="Sous-titrage",
    )
    seated = create_registration(meeting=meeting, person=person, state=S.SEATED)
    db.session.commit()
    typed = {
        "first_name": "Clara",
        "last_name": "Dubois-Martin",
        "email": "Claire.Dubois@Mairie.fr",
        "phone": "",
        "organisation": "Ville d'Amiens",
        "mandate": "adjoint",
        "department": "Somme",
        "accessibility_needs": "",
    }
    url = f"/admin/seances/{meeting.id}/inscrire"
    asked = staff_client.post(url, data=typed)
    html = asked.get_data(as_text=True)
    assert asked.status_code == 422
    assert "Coordonnées déjà enregistrées pour claire.dubois@mairie.fr" in html
    assert "Commune d&#39;Albert" in html and "Sous-titrage" in html
    assert 'name="known_details" type="radio" value="garder"' in html
    db.session.refresh(person)
    assert (person.first_name, person.phone) == ("Claire", "03 22 11 22 33")

    kept = staff_client.post(url, data={**typed, "known_details": "garder"})
    assert kept.status_code == 303
    message = staff_client.get(kept.location).get_data(as_text=True)
    assert "était déjà inscrite (place attribuée) : rien n&#39;a changé." in message
    assert "Ses coordonnées enregistrées sont conservées." in message
    db.session.refresh(person)
    assert (person.first_name, person.organisation) == ("Claire", "Commune d'Albert")
    assert _audit("person.correct") == []

    updated = staff_client.post(url, data={**typed, "known_details": "mettre-a-jour"})
    assert updated.status_code == 303
    db.session.refresh(person)
    assert (person.first_name, person.last_name, person.organisation) == (
        "Clara",
        "Dubois-Martin",
        "Ville d'Amiens",
    )
    # Fields left empty keep their value: nothing is deleted by a phone call.
    assert (person.phone, person.accessibility_needs) == ("03 22 11 22 33", "Sous-titrage")
    [event] = _audit("person.correct")
    assert event.after == {"fields": "first_name, last_name, organisation, mandate, department"}
    assert event.actor_type == "staff"
    assert _reload(seated).state is S.SEATED and len(outbox()) == 0
