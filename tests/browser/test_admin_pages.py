"""The staff area in Chromium: axe on every page and state (after htmx swaps too), keyboard
use, focus after swaps, the live region, and the same actions with JavaScript off."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from irev.extensions import db
from irev.models import (
    ApprovalMode,
    Meeting,
    MeetingStatus,
    OutboundEmail,
    Person,
    Registration,
    RegistrationState,
    utcnow,
)
from irev.services import outbox, sending, staff
from tests.browser.conftest import STAFF_PASSWORD, assert_accessible, poll, sign_in

S = RegistrationState
EMAIL = "equipe@irev.fr"
OTHER_EMAIL = "autre@irev.fr"
SHOTS = Path("test-results/admin")


@pytest.fixture(scope="module")
def data(live_server) -> dict[str, int]:
    """Add to the live server's database: a staff account, a moderated meeting with people in
    every state, a past meeting with seated people, and a sent e-mail."""
    with live_server.app.app_context():
        staff.create_staff(EMAIL, STAFF_PASSWORD, "Équipe IREV")
        staff.create_staff(
            OTHER_EMAIL, STAFF_PASSWORD
        )  # signs out in its test: others stay signed in
        meetings = db.session.scalars(db.select(Meeting).order_by(Meeting.starts_at)).all()
        moderated = meetings[0]
        moderated.approval_mode = ApprovalMode.MODERATED
        moderated.capacity = 30
        names = [
            "Hélène Lefèvre",
            "Zoé Nguyen",
            "Noël Dubois",
            "Inès Benali",
            "Jérôme Roux",
            "Amélie Martin",
            "Ahmed Leroy",
            "Léa Fontaine",
        ]
        states = [S.PENDING_APPROVAL] * 4 + [S.SEATED, S.SEATED, S.WAITING, S.CANCELLED_BY_PERSON]
        full = meetings[1]
        full.capacity = full.seats_taken = 1
        db.session.add(
            Registration(
                person=Person(
                    email="elu-place@mairie.example",
                    first_name="Rémi",
                    last_name="Garnier",
                    organisation="Commune de Laon",
                    mandate="maire",
                    department="Aisne",
                ),
                meeting=full,
                state=S.SEATED,
            )
        )
        people = []
        for n, (name, state) in enumerate(zip(names, states, strict=True)):
            first, last = name.split()
            person = Person(
                email=f"elu{n}@mairie{n}.example",
                first_name=first,
                last_name=last,
                organisation=f"Commune n° {n}",
                mandate="maire",
                department=["Nord", "Somme", "Aisne", "Oise"][n % 4],
            )
            # Someone waits only where every seat is taken: on the next meeting, made full.
            meeting = full if state is S.WAITING else moderated
            db.session.add(Registration(person=person, meeting=meeting, state=state))
            if state is S.SEATED:
                moderated.seats_taken += 1
            people.append(person)
        past = Meeting(
            programme=moderated.programme,
            slug="seance-passee",
            title="Séance passée",
            starts_at=utcnow() - timedelta(days=10),
            ends_at=utcnow() - timedelta(days=10) + timedelta(hours=2),
            status=MeetingStatus.PUBLISHED,
            capacity=10,
            seats_taken=2,
        )
        db.session.add(past)
        for person in people[4:6]:
            db.session.add(Registration(person=person, meeting=past, state=S.SEATED))
        db.session.flush()
        seated = db.session.scalar(
            db.select(Registration).filter_by(meeting_id=moderated.id, state=S.SEATED)
        )
        outbox.enqueue(
            "approved_to_registrant",
            seated.person.email,
            dedupe_key="browser:approved",
            registration=seated,
        )
        db.session.commit()
        sending.send_pending()  # the worker's own path (captured: no MAIL_SERVER)
        email = db.session.scalar(db.select(OutboundEmail).filter_by(dedupe_key="browser:approved"))
        ids = {
            "meeting": moderated.id,
            "past": past.id,
            "full": full.id,
            "person": people[0].id,
            "email": email.id,
            "programme": moderated.programme_id,
            "pending": db.session.scalar(
                db.select(Registration.id).filter_by(
                    meeting_id=moderated.id, state=S.PENDING_APPROVAL
                )
            ),
        }
        db.session.remove()
    return ids


@pytest.fixture(scope="module")
def signed_in_state(live_server, data, browser, tmp_path_factory) -> str:
    """Sign in once per module (sign-in attempts are rate-limited) and keep the cookies."""
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server.url, EMAIL)
    path = str(tmp_path_factory.mktemp("state") / "staff.json")
    context.storage_state(path=path)
    context.close()
    return path


@pytest.fixture
def staff_page(browser, signed_in_state):
    """A page signed in as staff, with JavaScript."""
    context = browser.new_context(storage_state=signed_in_state)
    yield context.new_page()
    context.close()


def _shot(page, name: str) -> None:
    """Keep a screenshot for a human look (test-results/admin/)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _focused(page) -> dict:
    return page.evaluate(
        "() => ({tag: document.activeElement.tagName, id: document.activeElement.id,"
        " text: document.activeElement.textContent.trim()})"
    )


def _pages(ids: dict[str, int]) -> dict[str, str]:
    m, past, p = ids["meeting"], ids["past"], ids["person"]
    return {
        "tableau-de-bord": "/admin/",
        "seances": "/admin/seances",
        "seance-nouvelle": "/admin/seances/nouvelle",
        "seance-modifier": f"/admin/seances/{m}/modifier",
        "seance-annuler": f"/admin/seances/{m}/annuler",
        "programme": "/admin/programme",
        "inscriptions": f"/admin/seances/{m}/inscriptions",
        "inscriptions-filtrees": f"/admin/seances/{m}/inscriptions?etat=pending_approval&q=commune",
        "inscriptions-vide": f"/admin/seances/{m}/inscriptions?q=personne-inconnue",
        "inscrire": f"/admin/seances/{m}/inscrire",
        "refuser": f"/admin/inscriptions/{ids['pending']}/refuser",
        "annuler-inscription": f"/admin/inscriptions/{ids['pending']}/annuler",
        "presence": f"/admin/seances/{past}/presence",
        "presence-a-venir": f"/admin/seances/{m}/presence",
        "emargement": f"/admin/seances/{m}/emargement",
        "chiffres-programme": f"/admin/programmes/{ids['programme']}/chiffres",
        "chiffres-seance": f"/admin/seances/{past}/chiffres",
        "emails": "/admin/emails",
        "emails-echecs": "/admin/emails?etat=failed",
        "email": f"/admin/emails/{ids['email']}",
        "journal": "/admin/journal",
        "personnes": "/admin/personnes",
        "personne": f"/admin/personnes/{p}",
        "personne-corriger": f"/admin/personnes/{p}/modifier",
        "personne-effacer": f"/admin/personnes/{p}/effacer",
    }


def test_every_admin_page_passes_axe(staff_page, live_server, data):
    for name, path in _pages(data).items():
        response = staff_page.goto(live_server.url + path)
        assert response is not None and response.status == 200, (name, response.status)
        assert response.headers["cache-control"] == "no-store"
        assert staff_page.locator("[data-hx-history='false']").count() == 1
        assert staff_page.locator("h1").count() == 1, name
        _shot(staff_page, name)
        assert_accessible(staff_page)


def test_sign_in_page_and_its_errors_pass_axe(page, live_server, data):
    page.goto(live_server.url + "/admin/connexion")
    assert_accessible(page)
    page.click("button:has-text('Se connecter')")  # empty form
    expect(page.locator(".error-summary")).to_be_visible()
    assert page.title().startswith("Erreur : ")
    # The summary has focus (autofocus, applied at the browser's next rendering step).
    assert poll(page, "document.activeElement.textContent.trim().startsWith('Il y a un problème')")
    _shot(page, "connexion-erreurs")
    assert_accessible(page)


def test_form_errors_pass_axe_and_keep_the_values(staff_page, live_server, data):
    staff_page.goto(f"{live_server.url}/admin/seances/{data['meeting']}/inscrire")
    staff_page.fill("#first_name", "Camille")
    staff_page.fill("#email", "pas-une-adresse")
    staff_page.click("button:has-text('Inscrire cette personne')")
    expect(staff_page.locator(".error-summary")).to_be_visible()
    assert staff_page.locator("#first_name").input_value() == "Camille"
    assert staff_page.locator("#email").get_attribute("aria-invalid") == "true"
    _shot(staff_page, "inscrire-erreurs")
    assert_accessible(staff_page)
    staff_page.goto(f"{live_server.url}/admin/seances/{data['meeting']}/modifier")
    staff_page.fill("#capacity", "1")  # fewer than the seats already given
    staff_page.click("button:has-text('Enregistrer les modifications')")
    expect(staff_page.locator(".error-summary")).to_contain_text("Impossible de réduire")
    assert_accessible(staff_page)


def test_sign_in_by_keyboard(page, live_server, data):
    page.goto(live_server.url + "/admin/connexion")
    page.keyboard.press("Tab")
    assert _focused(page)["text"] == "Aller au contenu"
    page.keyboard.press("Enter")
    for _ in range(10):  # from the main area, Tab reaches the e-mail field
        page.keyboard.press("Tab")
        if _focused(page)["id"] == "email":
            break
    assert _focused(page)["id"] == "email"
    page.keyboard.type(EMAIL)
    page.keyboard.press("Tab")
    assert _focused(page)["id"] == "password"
    page.keyboard.type(STAFF_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Tableau de bord")


def test_active_search_keeps_focus_and_announces(staff_page, live_server, data):
    staff_page.goto(f"{live_server.url}/admin/seances/{data['meeting']}/inscriptions")
    search = staff_page.locator("#q")
    search.focus()
    staff_page.keyboard.type("lefèvre")
    expect(staff_page.locator("#resultats-nombre")).to_contain_text("1 inscription")
    assert _focused(staff_page)["id"] == "q"  # typing goes on: focus never jumps
    expect(staff_page.locator("#annonces")).to_have_text("1 inscription trouvée.")
    assert "q=lef" in staff_page.url  # the URL follows, so a reload shows the same list
    _shot(staff_page, "recherche-apres-swap")
    assert_accessible(staff_page)
    staff_page.select_option("#etat", "seated")
    expect(staff_page.locator("#resultats-nombre")).to_contain_text("0 inscription")


def test_approve_by_keyboard_swaps_the_row_and_keeps_focus(staff_page, live_server, data):
    staff_page.goto(
        f"{live_server.url}/admin/seances/{data['meeting']}/inscriptions?etat=pending_approval"
    )
    counters = staff_page.locator("#seance-compteurs")
    seated = int(counters.inner_text().split(" / ")[0])
    button = staff_page.locator("button", has_text="Valider l'inscription de").first
    row_id = button.locator("xpath=ancestor::tr").get_attribute("id")
    button.focus()
    staff_page.keyboard.press("Enter")
    row = staff_page.locator(f"#{row_id}")
    expect(row).to_contain_text("Place attribuée")
    # htmx moves focus at settle time, just after the new row's text is in place: wait for it.
    # The row's name, in the same place, has focus (never <body>).
    assert poll(staff_page, f"document.activeElement.id === '{row_id}-nom'"), _focused(staff_page)
    expect(staff_page.locator("#annonces")).to_contain_text("validée")
    # The counters above the list refreshed themselves (HX-Trigger: seats-changed).
    expect(counters).to_contain_text(f"{seated + 1} / ")
    _shot(staff_page, "ligne-validee")
    assert_accessible(staff_page)
    # The focus ring is visible on the next control reached by keyboard.
    staff_page.keyboard.press("Tab")
    outline = staff_page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_bulk_approve_by_keyboard(staff_page, live_server, data):
    staff_page.goto(
        f"{live_server.url}/admin/seances/{data['meeting']}/inscriptions?etat=pending_approval"
    )
    boxes = staff_page.locator("input[name='ids']")
    count = boxes.count()
    assert count >= 2
    for index in range(2):
        boxes.nth(index).focus()
        staff_page.keyboard.press("Space")
    staff_page.locator("button", has_text="Valider la sélection").focus()
    staff_page.keyboard.press("Enter")
    expect(staff_page.locator("#resultats-nombre")).to_contain_text("2 inscriptions validées")
    focus_moved = poll(staff_page, "document.activeElement.id === 'resultats-nombre'")
    assert focus_moved, _focused(staff_page)
    expect(staff_page.locator("#annonces")).to_contain_text("2 inscriptions validées")
    _shot(staff_page, "lot-valide")
    assert_accessible(staff_page)


def test_dashboard_refreshes_its_counters(staff_page, live_server, data):
    staff_page.goto(live_server.url + "/admin/")
    link = staff_page.locator(f"#seance-{data['meeting']}-lien")
    link.focus()
    with live_server.app.app_context():
        meeting = db.session.get(Meeting, data["meeting"])
        meeting.capacity = meeting.capacity + 7
        db.session.commit()
        capacity = meeting.capacity
        db.session.remove()
    staff_page.locator("button", has_text="Actualiser les compteurs").click()
    expect(staff_page.locator("#compteurs")).to_contain_text(f"/ {capacity}")
    assert_accessible(staff_page)


def test_email_preview_is_sandboxed(staff_page, live_server, data):
    staff_page.goto(f"{live_server.url}/admin/emails/{data['email']}")
    frame = staff_page.locator("iframe.email-preview")
    assert frame.get_attribute("sandbox") == ""
    assert frame.get_attribute("title")
    expect(staff_page.locator(".email-text")).to_contain_text("validé votre inscription")
    inner = staff_page.frame_locator("iframe.email-preview")
    expect(inner.locator("h1")).to_contain_text("Votre inscription est validée")


def test_without_javascript_every_action_still_works(browser, signed_in_state, live_server, data):
    context = browser.new_context(storage_state=signed_in_state, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/seances/{data['meeting']}/inscriptions?q=nguyen")
    expect(page.locator("#resultats-nombre")).to_contain_text("1 inscription")
    page.fill("#q", "dubois")
    page.click("button:has-text('Filtrer')")  # a plain GET form
    expect(page.locator("#resultats-nombre")).to_contain_text("1 inscription")
    page.goto(f"{live_server.url}/admin/seances/{data['full']}/inscriptions?etat=waiting")
    page.locator("a", has_text=re.compile("^Refuser")).first.click()
    page.fill("#reason", "Séance complète, désolés.")
    page.click('button:has-text("Refuser l\'inscription")')
    expect(page.locator(".notice--success")).to_contain_text("refusée")
    page.goto(f"{live_server.url}/admin/seances/{data['past']}/presence")
    radios = page.locator("input[value='present']")
    radios.first.check()
    page.click("button:has-text('Enregistrer la présence')")
    expect(page.locator(".notice--success")).to_contain_text("Présence enregistrée")
    context.close()


def test_sign_out_ends_the_session(browser, live_server, data):
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server.url, OTHER_EMAIL)
    cookies = context.cookies()
    page.click("button:has-text('Se déconnecter')")
    expect(page.locator("h1")).to_have_text("Connexion à l'espace équipe")
    replay = browser.new_context()
    replay.add_cookies(cookies)
    other = replay.new_page()
    other.goto(live_server.url + "/admin/")
    expect(other.locator("h1")).to_have_text("Connexion à l'espace équipe")
    replay.close()
    context.close()
