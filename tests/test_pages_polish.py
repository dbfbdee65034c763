"""Pages as a careful reader reads them: what is running now, cancelled links, counts, wording."""

from __future__ import annotations

from datetime import timedelta

import pytest

from irev.extensions import db
from irev.models import MeetingStatus, Person, RegistrationState, utcnow
from irev.notifications import cancel_url, manage_url, render
from tests.registration_support import confirm_path, emails, form_data, path_of, season
from tests.test_public import get

S = RegistrationState


@pytest.fixture
def meetings(app):
    return season()


def test_a_meeting_in_progress_is_at_the_top_with_the_way_to_join(
    client, create_programme, create_meeting
):
    programme = create_programme()
    now = utcnow().replace(microsecond=0)
    running = create_meeting(
        programme=programme,
        title="Séance de ce soir",
        starts_at=now - timedelta(minutes=30),
        ends_at=now + timedelta(minutes=90),
    )
    create_meeting(programme=programme, title="Séance suivante", starts_at=now + timedelta(days=20))
    create_meeting(
        programme=programme,
        title="Séance ancienne",
        starts_at=now - timedelta(days=30),
        ends_at=now - timedelta(days=30) + timedelta(hours=2),
    )
    db.session.commit()

    _, page = get(client, "/")

    headings = [h.text for h in page.find_all("h2")]
    assert headings.index("Séance en cours") < headings.index("Prochaines séances")
    section = page.by_id("seance-en-cours").parent
    assert [h.text.split(": ", 1)[-1] for h in section.find_all("h3")] == [running.title]
    assert "Vous avez une place ?" in section.text
    assert f"« Lien de connexion : {running.title} »" in section.text
    assert "m.petit@irev.fr" in section.text  # whom to ask if the link is lost
    assert running.video_url not in page.text  # the link itself never appears on the site
    past = page.by_id("seances-passees").parent
    assert running.title not in past.text and "Séance ancienne" in past.text


def test_a_confirmation_link_for_a_cancelled_meeting_says_so_before_any_button(client, meetings):
    assert client.post("/inscription", data=form_data("seance-ouverte")).status_code == 303
    meetings["open"].status = MeetingStatus.CANCELLED
    db.session.commit()

    _, page = get(client, confirm_path())

    text = page.find("main").text
    assert (
        "Cette séance a été annulée par l’IREV : il n’y a plus d’inscription à confirmer." in text
    )
    assert "Confirmer mon inscription" not in text
    assert page.find("form") is None or "confirmer" not in page.find("form").attrs.get("action", "")


def test_the_check_your_mailbox_page_says_what_the_message_holds(client, meetings):
    sent = client.post("/inscription", data=form_data("seance-ouverte"))

    _, page = get(client, sent.headers["Location"])

    text = page.find("main").text
    assert "S’il contient" not in text
    assert "contient un lien de confirmation" in text
    assert "appuyez sur le bouton « Confirmer mon inscription »" in text


def _seated_registration(client, meetings):
    """Register and confirm Camille for the open meeting; return her registration."""
    client.post("/inscription", data=form_data("seance-ouverte"))
    client.post(confirm_path())
    person = db.session.scalar(db.select(Person))
    [registration] = person.registrations
    assert registration.state is S.SEATED
    return registration


@pytest.mark.parametrize("someone_waits", [False, True])
def test_freeing_a_seat_promises_the_waiting_list_only_when_someone_waits(
    client, meetings, create_person, create_registration, someone_waits
):
    registration = _seated_registration(client, meetings)
    if someone_waits:
        create_registration(meetings["open"], create_person(), state=S.WAITING)
        db.session.commit()
    promise = "première personne de la liste d’attente"

    _, link_page = get(client, path_of(cancel_url(registration)))
    manage = path_of(manage_url(registration.person))
    _, confirm_page = get(client, f"{manage}/annuler/{registration.id}")
    for page in (link_page, confirm_page):
        assert (promise in page.find("main").text) is someone_waits

    assert client.post(f"{manage}/annuler/{registration.id}").status_code == 303
    [message] = emails("cancelled_to_registrant")
    rendered = render(message)
    for body in (rendered.text, rendered.html):
        assert (promise in body) is someone_waits
        assert ("de nouveau disponible" in body) is not someone_waits


def test_staff_counts_read_as_french(staff_client, meetings):
    _, none = get(staff_client, "/admin/emails")
    assert "Aucun e-mail" in none.text
    staff_client.post("/inscription", data=form_data("seance-ouverte"))
    _, one = get(staff_client, "/admin/emails")
    assert "1 e-mail." in one.text
    _, people = get(staff_client, "/admin/personnes")
    assert "1 personne." in people.text
    for page in (none, one, people):
        assert "(s)" not in page.text


def _row(page, registration):
    """Return the staff list row of one registration."""
    row = page.by_id(f"inscription-{registration.id}")
    assert row is not None
    return row


def test_staff_rows_give_one_plain_label_per_state_and_action(
    staff_client, create_meeting, create_person, create_registration
):
    meeting = create_meeting(capacity=1)
    by_staff = create_registration(
        meeting, create_person(), state=S.CANCELLED_BY_PERSON, source="equipe"
    )
    waiting = create_registration(meeting, create_person(), state=S.WAITING)
    db.session.commit()

    _, page = get(staff_client, f"/admin/seances/{meeting.id}/inscriptions")

    state_cell = _row(page, by_staff).find_all("td")[4].text
    assert state_cell == "Annulée par la personne"
    assert "saisie par l'équipe" in _row(page, by_staff).text
    assert "Annulée par l'équipe" not in _row(page, by_staff).text
    buttons = [b.text for b in page.find_all("button")]
    assert "Attribuer une place aux personnes cochées en liste d'attente" in buttons
    assert not any("(liste d'attente)" in b for b in buttons)
    [promote] = _row(page, waiting).find_all("button")
    assert promote.text.startswith("Attribuer une place à ")


def test_erasing_an_unconfirmed_person_does_not_say_they_cancelled(
    staff_client, create_meeting, create_person, create_registration
):
    meeting = create_meeting()
    person = create_person()
    request = create_registration(meeting, person, state=S.REQUESTED)
    db.session.commit()

    done = staff_client.post(f"/admin/personnes/{person.id}/effacer", data={"confirm": "y"})

    assert done.status_code == 303
    db.session.expire_all()
    request = db.session.get(type(request), request.id)
    assert request.state is S.CANCELLED_BY_ORGANISER
    assert emails("cancelled_to_registrant") == []
    assert emails("cancelled_by_organiser_to_registrant") == []  # an unconfirmed address
    _, page = get(staff_client, f"/admin/seances/{meeting.id}/inscriptions?etat=")
    row = page.by_id(f"inscription-{request.id}")
    if row is not None:
        assert "Annulée par la personne" not in row.text
    _, audit = get(staff_client, "/admin/journal")
    assert "Annulée par la personne" not in audit.text
    assert "Annulée par l'équipe" in audit.text
