"""Resources and follow-up of a meeting in Chromium, served as in production: axe in every
state, the same forms without JavaScript, and the two e-mails as the SMTP server got them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from irev.extensions import db
from irev.models import Meeting, Person, Registration, RegistrationState
from irev.services import staff
from tests.browser.conftest import STAFF_PASSWORD, assert_accessible, past_meeting, poll, sign_in

EMAIL = "suivi@irev.fr"
PRESENT = "camille@roubaix.example"
ABSENT = "noel@lille.example"
#: Set it to keep screenshots of the pages and e-mails (e.g. /work/wt/shots/followup).
SHOTS = os.environ.get("IREV_SHOTS_DIR", "")


@pytest.fixture(scope="module")
def live_server_env(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("ressources")
    return {"FLASK_IREV_RESOURCES_DIR": str(folder), "FLASK_IREV_ATTESTATION_BY_EMAIL": "true"}


@pytest.fixture(scope="module")
def data(live_server, tmp_path_factory) -> dict:
    """A meeting that ended two days ago: Camille was there, Noël was not; two files to add."""
    with live_server.app.app_context():
        staff.create_staff(EMAIL, STAFF_PASSWORD, "Équipe suivi")
        programme_id = db.session.scalar(db.select(Meeting.programme_id).limit(1))
        meeting = past_meeting(
            programme_id, "seance-suivi", "Les conseils citoyens", 2, seats_taken=2
        )
        camille = Person(
            email=PRESENT,
            first_name="Camille",
            last_name="Martin",
            civilite="madame",
            mandate="maire",
            organisation="Commune de Roubaix",
        )
        noel = Person(email=ABSENT, first_name="Noël", last_name="Dubois", civilite="monsieur")
        db.session.add_all([meeting, camille, noel])
        db.session.add_all(
            [
                Registration(
                    person=camille,
                    meeting=meeting,
                    state=RegistrationState.SEATED,
                    attended=True,
                    attended_minutes=110,
                    attendance_source="import",
                ),
                Registration(
                    person=noel,
                    meeting=meeting,
                    state=RegistrationState.SEATED,
                    attended=False,
                    attendance_source="manual",
                ),
            ]
        )
        db.session.commit()
        meeting_id = meeting.id
        db.session.remove()
    folder = tmp_path_factory.mktemp("fichiers")
    good, renamed = folder / "Diaporama – conseils citoyens.pdf", folder / "programme.pdf"
    good.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
    renamed.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 60)
    return {"meeting": meeting_id, "good": str(good), "renamed": str(renamed)}


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_resources_and_follow_up_pages_pass_axe_and_work_without_javascript(
    browser, live_server, data
):
    base = f"{live_server.url}/admin/seances/{data['meeting']}"
    # Without JavaScript: add the replay link, refused first (http), then accepted.
    plain = browser.new_context(java_script_enabled=False).new_page()
    sign_in(plain, live_server.url, EMAIL)
    plain.goto(base + "/ressources")
    plain.fill("#replay_url", "http://video.exemple.fr/replay")
    plain.click("button:has-text('Enregistrer le lien du replay')")
    expect(plain.locator(".error-summary")).to_contain_text("commençant par https://")
    plain.fill("#replay_url", "https://video.exemple.fr/replay")
    plain.click("button:has-text('Enregistrer le lien du replay')")
    expect(plain.locator(".notice--success")).to_contain_text("Lien du replay enregistré.")
    plain.context.close()

    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    sign_in(page, live_server.url, EMAIL)
    page.goto(base + "/ressources")
    assert_accessible(page)
    page.set_input_files("#file", data["renamed"])
    page.click("button:has-text('Ajouter le fichier')")
    expect(page.locator(".error-summary")).to_contain_text("il a peut-être été renommé")
    assert page.title().startswith("Erreur : ")
    assert poll(page, "document.activeElement.classList.contains('error-summary')")
    assert_accessible(page)
    _shot(page, "ressources-erreur")
    page.set_input_files("#file", data["good"])
    page.fill("#title", "Diaporama de l’intervention")
    page.click("button:has-text('Ajouter le fichier')")
    expect(page.locator(".notice--success")).to_contain_text("Diaporama de l’intervention")
    expect(page.locator("table")).to_contain_text("PDF")
    assert_accessible(page)
    _shot(page, "ressources")

    page.goto(base + "/suivi")
    expect(page.locator(".mass-summary")).to_contain_text("1 personne présente")
    expect(page.locator(".mass-summary")).to_contain_text("1 personne absente")
    expect(page.locator("body")).to_contain_text("Pièce jointe : attestation-")
    assert_accessible(page)
    _shot(page, "suivi-apercu")
    page.click("button:has-text('Envoyer 2 messages de suivi')")
    expect(page.locator(".notice--success")).to_contain_text("2 messages de suivi mis")
    assert_accessible(page)
    _shot(page, "suivi-envoye")
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(base + "/suivi")
    assert page.evaluate("document.documentElement.scrollWidth <= 320")

    thanks = live_server.wait_for_mail(PRESENT, "Merci d’avoir participé")
    missed = live_server.wait_for_mail(ABSENT, "le plaisir de vous y retrouver")
    [attachment] = list(thanks.message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert list(missed.message.iter_attachments()) == []
    for name, received in (("courriel-present", thanks), ("courriel-absent", missed)):
        html = received.message.get_body(preferencelist=("html",)).get_content()
        mail = context.new_page()
        mail.set_viewport_size({"width": 700, "height": 900})
        mail.set_content(html)
        assert_accessible(mail)
        _shot(mail, name)
        mail.close()
    # The file link of the e-mail downloads the file (the person's own link, over TLS).
    link = next(
        word
        for word in thanks.message.get_body(preferencelist=("plain",)).get_content().split()
        if "/ressources/" in word
    )
    fetched = page.evaluate(
        """async (url) => {
            const r = await fetch(url);
            const body = new Uint8Array(await r.arrayBuffer());
            return {status: r.status, start: String.fromCharCode(...body.slice(0, 5)),
                    nosniff: r.headers.get("x-content-type-options"),
                    disposition: r.headers.get("content-disposition")};
        }""",
        link,
    )
    assert fetched["status"] == 200 and fetched["start"] == "%PDF-"
    assert fetched["nosniff"] == "nosniff"
    assert "filename*=UTF-8''Diaporama" in fetched["disposition"]
    # The self-service link of the message lists the meeting's file and replay.
    own = context.new_page()
    own.goto(link.rsplit("/ressources/", 1)[0])
    expect(own.locator(".registration__resources")).to_contain_text("Diaporama de l’intervention")
    expect(own.locator(".registration__resources")).to_contain_text("Replay de la séance")
    assert_accessible(own)
    _shot(own, "gerer-ressources")
    context.close()
