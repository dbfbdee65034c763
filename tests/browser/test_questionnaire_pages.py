"""The questionnaire and the staff pages of results and questions in Chromium, served as in
production: keyboard only, 320 px, axe in every state, and the same forms without JavaScript.
Screenshots go to /work/wt/shots/questions when that folder exists (to look at the pages)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from irev.extensions import db
from irev.models import (
    Meeting,
    Person,
    Registration,
    RegistrationState,
    utcnow,
)
from irev.services import questionnaire, questionnaire_results, speaker_questions, staff
from tests.browser.conftest import STAFF_PASSWORD, assert_accessible, past_meeting, poll, sign_in

EMAIL = "avis@irev.fr"
SHOTS = Path("/work/wt/shots/questions")
REMARKS = ["Des exemples concrets, merci.", "", "Un peu court.", "Intervenante passionnante."]


def shot(page, name: str) -> None:
    """Save a full-page screenshot when the shots folder exists."""
    if SHOTS.is_dir():
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def data(live_server) -> dict:
    """A held meeting with five attendees (four answered), a coming one with questions."""
    # The link is signed as the served app signs it (the e-mail is another helper's work).
    live_server.app.config["SECRET_KEY"] = live_server.env["FLASK_SECRET_KEY"]
    with live_server.app.app_context():
        staff.create_staff(EMAIL, STAFF_PASSWORD, "Équipe avis")
        programme_id = db.session.scalar(db.select(Meeting.programme_id).limit(1))
        held = past_meeting(
            programme_id,
            "seance-avis",
            "Rénovation urbaine et participation des habitants",
            3,
            capacity=20,
        )
        db.session.add(held)
        people = [
            Person(
                email=f"elu{n}@avis.example",
                first_name="Dominique",
                last_name=f"Lefebvre{n}",
                organisation=f"Commune de Liévin {n}",
                mandate="maire" if n % 2 else "adjoint",
            )
            for n in range(5)
        ]
        db.session.add_all(people)
        registrations = [
            Registration(person=p, meeting=held, state=RegistrationState.SEATED, attended=True)
            for p in people
        ]
        db.session.add_all(registrations)
        db.session.flush()
        for n, registration in enumerate(registrations[1:]):
            ratings = {
                q.key: 5 - (n + i) % 3 for i, q in enumerate(questionnaire.current_set().ratings)
            }
            questionnaire.save_answer(registration, ratings, REMARKS[n])
        url = questionnaire.questionnaire_url(registrations[0])
        coming = db.session.scalar(
            db.select(Meeting).where(Meeting.starts_at > utcnow()).order_by(Meeting.starts_at)
        )
        asked = []
        for n, text in enumerate(
            [
                "Comment associer les conseils citoyens au suivi du contrat de ville ?",
                "Quelle place pour les conseils citoyens dans le pilotage ?",
                "Quels financements de l’État pour l’ingénierie des petites communes ?",
            ]
        ):
            person = Person(
                email=f"question{n}@avis.example",
                first_name="Sacha",
                last_name=f"Deschamps{n}",
                organisation=f"Ville de Denain {n}",
                mandate="maire",
            )
            registration = Registration(
                person=person, meeting=coming, state=RegistrationState.SEATED
            )
            db.session.add_all([person, registration])
            db.session.flush()
            asked.append(speaker_questions.set_question(registration, text, person).id)
        asker = Person(
            email="asker@avis.example",
            first_name="Claude",
            last_name="Merlin",
            organisation="Ville d’Arras",
            mandate="maire",
        )
        db.session.add(Registration(person=asker, meeting=coming, state=RegistrationState.SEATED))
        db.session.commit()
        from irev.tokens import make_token

        manage = "/inscription/gerer/" + make_token("manage", {"p": asker.id, "v": 0})
        found = {"held": held.id, "coming": coming.id, "programme": programme_id, "manage": manage}
        db.session.remove()
    return {**found, "path": urlsplit(url).path, "questions": asked}


def _no_sideways_scroll(page) -> None:
    widths = page.evaluate(
        "({scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth})"
    )
    assert widths["scroll"] <= widths["client"], f"scrolls sideways: {widths}"


def test_questionnaire_by_keyboard_at_320_px_passes_axe(browser, live_server, data):
    context = browser.new_context(viewport={"width": 320, "height": 700})
    page = context.new_page()
    page.goto(live_server.url + data["path"])
    expect(page.locator("h1")).to_have_text("Votre avis sur la rencontre")
    assert_accessible(page)
    _no_sideways_scroll(page)
    shot(page, "questionnaire-320px")

    page.click("button:has-text('Envoyer mes réponses')")  # nothing chosen: errors
    expect(page.locator(".error-summary")).to_contain_text("appréciation d’ensemble")
    assert page.title().startswith("Erreur")
    assert poll(page, "document.activeElement.id === 'erreurs'")
    assert_accessible(page)
    _no_sideways_scroll(page)
    shot(page, "questionnaire-320px-erreurs")

    # Keyboard only: the summary's first link leads to the first radio group.
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.locator("#satisfaction-0").focus()
    for _question in questionnaire.current_set().ratings:
        page.keyboard.press("Space")  # check the first radio of the group
        for _ in range(3):
            page.keyboard.press("ArrowRight")  # up to « 4 »
        page.keyboard.press("Tab")  # on to the next group (or the text area)
    assert page.evaluate("document.activeElement.id") == "remark"
    page.keyboard.type("Merci pour cette rencontre.")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Envoyer mes réponses"
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Merci pour vos réponses")
    assert_accessible(page)
    with live_server.app.app_context():
        remarks = questionnaire_results.meeting_results(
            db.session.get(Meeting, data["held"])
        ).remarks
        assert "Merci pour cette rencontre." in remarks
        answered = questionnaire_results.meeting_results(db.session.get(Meeting, data["held"]))
        assert answered.answers == 5 and answered.questions[0].counts[4] >= 1
        db.session.remove()

    page.goto(live_server.url + data["path"])  # the link again
    expect(page.locator("h1")).to_have_text("Vous avez déjà répondu, merci")
    assert_accessible(page)
    context.close()


def test_staff_results_and_questions_pass_axe_and_work_without_javascript(
    browser, live_server, data
):
    for javascript in (True, False):
        context = browser.new_context(
            java_script_enabled=javascript, viewport={"width": 1100, "height": 900}
        )
        page = context.new_page()
        sign_in(page, live_server.url, EMAIL)
        page.goto(f"{live_server.url}/admin/seances/{data['held']}/questionnaire")
        expect(page.locator("h1")).to_contain_text("Questionnaire de satisfaction")
        expect(page.locator("svg[role='img']").first).to_be_visible()
        expect(page.locator(".remarks")).to_contain_text("Intervenante passionnante.")
        assert "Lefebvre" not in page.content()
        if javascript:
            assert_accessible(page)
            shot(page, "resultats-seance")
        page.goto(f"{live_server.url}/admin/programmes/{data['programme']}/questionnaire")
        expect(page.locator("table").first).to_contain_text("Rénovation urbaine")
        if javascript:
            assert_accessible(page)
            shot(page, "resultats-cycle")

        page.goto(f"{live_server.url}/admin/seances/{data['coming']}/questions")
        expect(page.locator("h1")).to_contain_text("Questions pour l'intervenant")
        if javascript:
            assert_accessible(page)
            first, second, _third = data["questions"]
            item = page.locator(f"#question-{second}")
            item.locator("select").select_option(str(first))
            item.locator("button:has-text('Fusionner')").click()
            expect(page.locator(".notice--success")).to_contain_text(
                f"La question n° {second} est fusionnée dans la n° {first}."
            )
            assert_accessible(page)
            shot(page, "questions-equipe")
        else:
            _first, _second, third = data["questions"]
            page.locator(f"#question-{third} button:has-text('Retenir')").click()
            expect(page.locator(".notice--success")).to_contain_text(
                f"La question n° {third} est retenue."
            )
            page.goto(f"{live_server.url}/admin/seances/{data['coming']}/questions/imprimer")
            expect(page.locator(".sheet")).to_contain_text("conseils citoyens")
            assert "Deschamps" not in page.content()
            shot(page, "questions-a-imprimer")
        context.close()


def test_asking_a_question_from_the_self_service_page(browser, live_server, data):
    context = browser.new_context(viewport={"width": 320, "height": 700})
    page = context.new_page()
    page.goto(live_server.url + data["manage"])
    page.click("text=Poser une question à l’intervenant ou l’intervenante")
    expect(page.locator("h1")).to_have_text("Ma question pour l’intervenant ou l’intervenante")
    assert_accessible(page)
    _no_sideways_scroll(page)
    page.click("button:has-text('Enregistrer ma question')")  # empty: refused
    expect(page.locator(".error-summary")).to_contain_text("Saisissez votre question")
    assert_accessible(page)
    page.fill("#question", "Quelle articulation avec le PLH intercommunal ?")
    shot(page, "question-libre-service-320px")
    page.click("button:has-text('Enregistrer ma question')")
    expect(page.locator(".notification")).to_contain_text("est enregistrée")
    expect(page.locator(".registration__question")).to_contain_text("PLH intercommunal")
    assert_accessible(page)
    page.goto(live_server.url + "/inscription")
    expect(page.locator("#speaker_question")).to_be_visible()
    if SHOTS.is_dir():
        page.evaluate("document.getElementById('speaker_question').scrollIntoView({block: 'end'})")
        page.screenshot(path=str(SHOTS / "formulaire-question-320px.png"))
    context.close()
