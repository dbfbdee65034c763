"""The assistant's path in Chromium: the choice on the form (JavaScript on and off, keyboard,
320 px), e-mails to both as a real SMTP server receives them, confirmation by the assistant
and the assistant's own page; axe finds 0 violations in every state.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

from irev.extensions import db
from irev.models import AssistantLink, Person, Registration, RegistrationState
from tests.browser.conftest import assert_accessible, plain_text, poll

S = RegistrationState
FIRST = "rencontre-1-mixite-sociale-habitat"
SHOTS = Path(os.environ.get("IREV_ASSISTANT_SCREENSHOTS", "/tmp/irev-screenshots/assistants"))


def shoot(page, name: str) -> None:
    """Save a full-page screenshot for a human look (never asserted)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def fill_assistant(page, assistant: str, official: str) -> None:
    """Fill the assistant's fields and the official's, as a cabinet assistant would."""
    page.check("#assistant_civilite-0")
    page.fill("#assistant_first_name", "Samia")
    page.fill("#assistant_last_name", "Benali")
    page.fill("#assistant_email", assistant)
    page.fill("#assistant_function", "Assistante de direction")
    page.check("#civilite-0")
    page.fill("#first_name", "Claire")
    page.fill("#last_name", "Dupont")
    page.fill("#email", official)
    page.fill("#organisation", "Ville de Roubaix")
    page.select_option("#mandate", "maire")
    page.check("#department-1")
    page.check(f"#meetings-{FIRST}")
    page.check("#data_notice")


def render_email(page, received, name: str) -> None:
    """Show a received HTML e-mail in Chromium, as a mail client would, and screenshot it."""
    html = received.message.get_body(preferencelist=("html",)).get_content()
    page.goto("about:blank")  # not on the site: its CSP would drop the e-mail's inline styles
    page.set_viewport_size({"width": 800, "height": 900})
    page.set_content(html)
    shoot(page, name)


def test_the_choice_reveals_the_assistant_fields_by_keyboard(page, live_server):
    page.goto(live_server.url + "/inscription")
    assert page.is_checked("#for_whom-0")
    assert not page.is_visible("#assistant_first_name")  # hidden while « moi-même »
    assert_accessible(page)
    page.focus("#for_whom-0")
    page.keyboard.press("ArrowDown")  # radios move by arrow keys: « J’inscris un ou une élue »
    assert page.is_checked("#for_whom-1")
    assert poll(
        page, "getComputedStyle(document.querySelector('#assistant-fields')).display !== 'none'"
    )
    # RGAA 11.13: the official's fields are no longer the user's own, the assistant's are.
    purposes = "[...document.querySelectorAll('[data-own-autocomplete]')].map(e => e.autocomplete)"
    assert set(page.evaluate(purposes)) == {"off"}
    assert page.get_attribute("#assistant_first_name", "autocomplete") == (
        "section-assistant given-name"
    )
    page.keyboard.press("Tab")  # the next stop is in the assistant's fields
    assert page.evaluate("document.activeElement.name") == "assistant_civilite"
    assert_accessible(page)
    shoot(page, "form-assistant-desktop")
    page.set_viewport_size({"width": 320, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth <= 320")
    assert_accessible(page)
    shoot(page, "form-assistant-320px")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.check("#for_whom-0")  # back to « moi-même »: the user's purposes come back
    assert page.get_attribute("#first_name", "autocomplete") == "given-name"
    assert page.get_attribute("#organisation", "autocomplete") == "organization"
    page.check("#for_whom-1")
    page.fill("#assistant_email", "claire.dupont@navigateur.example")
    page.fill("#email", "claire.dupont@navigateur.example")
    page.click("button[type=submit]")
    page.wait_for_selector(".error-summary")
    assert "Saisissez votre prénom." in page.inner_text(".error-summary")
    assert "doit être différente" in page.inner_text(".error-summary")
    assert page.evaluate("document.activeElement.id") == "erreurs"
    assert page.is_checked("#for_whom-1")  # what was chosen is kept
    assert page.get_attribute("#organisation", "autocomplete") == "off"  # the swapped form too
    assert page.get_attribute("#organisation", "role") == "combobox"
    assert_accessible(page)
    shoot(page, "form-assistant-errors")


def test_without_javascript_an_assistant_registers_and_confirms(js_off_page, page, live_server):
    assistant, official = "samia.benali@navigateur.example", "claire.dupont@navigateur.example"
    js_off_page.goto(live_server.url + "/inscription?pour=elu")
    assert js_off_page.is_checked("#for_whom-1")
    assert js_off_page.is_visible("#assistant_first_name")
    fill_assistant(js_off_page, assistant, official)
    js_off_page.click("button[type=submit]")
    js_off_page.wait_for_url("**/inscription/envoyee")
    assert official in js_off_page.inner_text("main") and assistant in js_off_page.inner_text(
        "main"
    )

    to_official = live_server.wait_for_mail(official, "/inscription/confirmer/")
    assert plain_text(to_official).startswith("Madame la Maire,")
    link = live_server.mail_link(assistant, "/inscription/confirmer/", "en tant qu’assistante")
    page.goto(link)  # axe needs JavaScript: it checks the same page in the other context
    assert_accessible(page)
    js_off_page.goto(link)
    assert "Confirmer l’inscription de Claire Dupont" in js_off_page.inner_text("h1")
    js_off_page.click("button[type=submit]")
    js_off_page.wait_for_selector("h1")
    assert "L’inscription de Claire Dupont est enregistrée" in js_off_page.inner_text("h1")

    with live_server.app.app_context():
        state = db.session.scalar(
            sa.select(Registration.state).join(Registration.person).where(Person.email == official)
        )
        assert state is S.SEATED
        assert db.session.scalar(sa.select(sa.func.count(AssistantLink.id))) == 1

    told = live_server.wait_for_mail(official, "a confirmé votre inscription")
    assert "Votre assistante, Mme Benali" in plain_text(told)
    seat_for_assistant = live_server.wait_for_mail(
        assistant, "Message adressé à Claire Dupont", "votre place est réservée pour"
    )
    seat_for_official = live_server.wait_for_mail(official, "votre place est réservée pour")
    render_email(page, seat_for_official, "email-as-the-maire-sees-it")
    render_email(page, seat_for_assistant, "email-as-the-assistant-sees-it")

    own_page = live_server.mail_link(assistant, "/inscription/assistant/")
    js_off_page.goto(own_page)
    assert "Madame la Maire, Claire Dupont" in js_off_page.inner_text("main")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(own_page)
    assert_accessible(page)
    shoot(page, "assistant-self-service-page")
    page.set_viewport_size({"width": 320, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth <= 320")
    assert_accessible(page)
    shoot(page, "assistant-self-service-page-320px")
