"""Zoom report import and attestation check in Chromium: axe in every state (axe needs
JavaScript), and the same steps with JavaScript off."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from irev.dates import to_paris
from irev.extensions import db
from irev.models import Meeting, Person, Registration, RegistrationState
from irev.services import attestations, staff
from tests.browser.conftest import STAFF_PASSWORD, assert_accessible, past_meeting, poll, sign_in

EMAIL = "presence@irev.fr"


@pytest.fixture(scope="module")
def data(live_server, tmp_path_factory) -> dict:
    """A past meeting with two seated officials, one attestation, and a report file."""
    with live_server.app.app_context():
        staff.create_staff(EMAIL, STAFF_PASSWORD, "Équipe présence")
        programme_id = db.session.scalar(db.select(Meeting.programme_id).limit(1))
        meeting = past_meeting(
            programme_id, "seance-rapport", "Séance du rapport", 3, seats_taken=2
        )
        starts = meeting.starts_at
        camille = Person(email="camille@roubaix.example", first_name="Camille", last_name="Martin")
        noel = Person(email="noel@lille.example", first_name="Noël", last_name="Dubois")
        db.session.add_all([meeting, camille, noel])
        regs = [
            Registration(person=p, meeting=meeting, state=RegistrationState.SEATED)
            for p in (camille, noel)
        ]
        db.session.add_all(regs)
        db.session.flush()
        regs[0].attended = True
        code = attestations.for_meeting(regs[0], None).code
        db.session.commit()
        meeting_id = meeting.id
        db.session.remove()
    local = to_paris(starts)

    def at(minutes: int) -> str:
        return (local + timedelta(minutes=minutes)).strftime("%d/%m/%Y %H:%M:%S")

    report = (
        "Nom (nom d'origine),E-mail de l'utilisateur,Heure d'arrivée,Heure de départ,"
        "Durée (minutes),Invité\n"
        f"Camille Martin,camille@roubaix.example,{at(0)},{at(110)},110,Oui\n"
        f"Tablette mairie,,{at(5)},{at(100)},95,Oui\n"
    )
    folder = tmp_path_factory.mktemp("rapport")
    good, bad = folder / "participants.csv", folder / "casse.csv"
    good.write_text("\ufeff" + report, encoding="utf-8")
    bad.write_text(report.replace(at(5), "hier"), encoding="utf-8")
    return {"meeting": meeting_id, "code": code, "good": str(good), "bad": str(bad)}


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "sans-js"])
def test_report_import_and_hand_match_pass_axe(browser, live_server, data, javascript):
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    sign_in(page, live_server.url, EMAIL)

    def check(page) -> None:
        if javascript:  # axe runs in the page
            assert_accessible(page)

    page.goto(f"{live_server.url}/admin/seances/{data['meeting']}/presence/rapport")
    check(page)

    page.set_input_files("#report", data["bad"])
    page.click("button:has-text('Importer le rapport')")
    expect(page.locator(".error-summary")).to_contain_text("Ligne 3")
    assert page.title().startswith("Erreur : ")
    if javascript:
        assert poll(page, "document.activeElement.classList.contains('error-summary')")
    check(page)

    page.set_input_files("#report", data["good"])
    page.click("button:has-text('Importer le rapport')")
    # The second run finds the hand match of the first one kept.
    expect(page.locator(".notice--success")).to_contain_text("2 participants sur 2 lignes")
    check(page)

    row = page.locator("tr", has_text="Tablette mairie")
    row.locator("select").select_option(label="DUBOIS Noël – noel@lille.example")
    row.locator("button").click()
    expect(page.locator(".notice--success")).to_contain_text("« Tablette mairie » rapproché·e.")
    check(page)
    page.goto(f"{live_server.url}/admin/seances/{data['meeting']}/presence")
    expect(page.locator("tr", has_text="DUBOIS")).to_contain_text("Zoom : 95 min")
    assert page.locator("tr", has_text="DUBOIS").locator("input[value='present']").is_checked()
    context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "sans-js"])
def test_verification_page_passes_axe_in_every_state(browser, live_server, data, javascript):
    page = browser.new_context(java_script_enabled=javascript).new_page()

    def check(page) -> None:
        if javascript:
            assert_accessible(page)

    page.goto(live_server.url + "/attestations/verifier")
    check(page)
    page.fill("#code", "pas un code")
    page.click("button:has-text('Vérifier l’attestation')")
    expect(page.locator(".error-summary")).to_contain_text("Saisissez le code")
    check(page)
    page.fill("#code", attestations.format_code(data["code"]).lower())
    page.click("button:has-text('Vérifier l’attestation')")
    expect(page.locator("section.verification")).to_contain_text("Attestation authentique")
    expect(page.locator("table")).to_contain_text("Séance du rapport")
    check(page)
