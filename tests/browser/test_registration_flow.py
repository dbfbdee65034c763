"""Registration in Chromium, end to end: JavaScript on and off, keyboard only, axe in every state.

The live server runs as in production (gunicorn over TLS, CSRF with its strict HTTPS referrer
check, rate limits, Secure cookies); the mail worker delivers to a real SMTP server, where the
tests read the links a person would click.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from irev.extensions import db
from irev.models import Meeting, Person, Registration, RegistrationState
from tests.browser.conftest import assert_accessible, poll

S = RegistrationState
FIRST = "rencontre-1-mixite-sociale-habitat"
#: The seat-count test shrinks this meeting; the flows register for FIRST, which stays roomy.
SHRUNK = "rencontre-5"
SHOTS = Path(os.environ.get("IREV_SCREENSHOTS", "/tmp/irev-screenshots"))
_counter = itertools.count(1)


def address() -> str:
    """Return a fresh e-mail address (the server's rate limits count per address)."""
    return f"elu{next(_counter)}@navigateur.example"


def focus_is_somewhere(page) -> bool:
    """Return True when focus sits on an element, not lost on <body>."""
    return page.evaluate(
        "document.activeElement !== document.body && document.activeElement !== null"
    )


def shoot(page, name: str) -> None:
    """Save a full-page screenshot for a human look (never asserted)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def confirm_link(live_server, to: str) -> str:
    """Return the confirmation link of the request e-mail received for an address."""
    return live_server.mail_link(to, "/inscription/confirmer/")


def states_of(live_server, to: str) -> dict[str, S]:
    """Return {meeting slug: state} of a person's registrations."""
    with live_server.app.app_context():
        rows = db.session.execute(
            sa.select(Meeting.slug, Registration.state)
            .join(Registration.meeting)
            .join(Registration.person)
            .where(Person.email == to)
        )
        return dict(rows.all())


def fill_valid(page, email: str, slug: str = FIRST) -> None:
    """Fill every field correctly with the mouse-free Playwright helpers."""
    page.fill("#first_name", "Camille")
    page.fill("#last_name", "Durand")
    page.fill("#email", email)
    page.fill("#organisation", "Ville de Roubaix")
    page.select_option("#mandate", "maire")
    page.check("#department-1")
    page.check(f"#meetings-{slug}")
    page.check("#data_notice")


# --- JavaScript on ------------------------------------------------------------------------


def test_with_javascript_checks_fields_in_place_and_keeps_focus(page, live_server):
    page.goto(live_server.url + "/inscription")
    assert page.title() == "Inscription – Rencontres des élus – IREV"
    assert_accessible(page)  # the empty form
    shoot(page, "form-desktop")

    page.fill("#email", "pas-une-adresse")
    page.keyboard.press("Tab")  # change fires, focus moves on to the phone field
    page.wait_for_selector("#email-error:not(:empty)")
    # registration.js marks the field once htmx has settled the new message.
    assert poll(page, "document.querySelector('#email').getAttribute('aria-invalid') === 'true'")
    assert page.evaluate("document.activeElement.id") == "phone"
    assert "Saisissez une adresse électronique valide" in page.inner_text("#email-error")
    assert page.inner_text("#annonces").startswith("Adresse électronique\u202f: Saisissez")
    assert focus_is_somewhere(page)
    assert_accessible(page)  # after an htmx swap

    page.fill("#email", "camille@navigateur.example")
    page.keyboard.press("Tab")
    page.wait_for_selector("#email-error:empty", state="attached")
    assert poll(page, "!document.querySelector('#email').hasAttribute('aria-invalid')")
    assert page.inner_text("#annonces") == ""

    page.click("button[type=submit]")
    page.wait_for_selector(".error-summary")
    assert page.title().startswith("Erreur\u202f: ")  # typeset (irev.typography)
    assert page.evaluate("document.activeElement.id") == "erreurs"  # the summary has focus
    assert page.input_value("#email") == "camille@navigateur.example"  # values kept
    assert_accessible(page)  # with errors
    shoot(page, "form-errors-desktop")

    page.click('.error-summary a[href="#first_name"]')
    assert page.evaluate("document.activeElement.id") == "first_name"


def test_with_javascript_the_whole_flow(page, live_server):
    email = address()
    page.goto(live_server.url + f"/inscription?seance={FIRST}")
    assert page.is_checked(f"#meetings-{FIRST}")
    fill_valid(page, email)
    page.click("button[type=submit]")
    page.wait_for_url("**/inscription/envoyee")
    assert "Vérifiez votre messagerie" in page.inner_text("h1")
    assert email in page.inner_text("main")
    assert_accessible(page)
    assert states_of(live_server, email) == {FIRST: S.REQUESTED}

    page.goto(confirm_link(live_server, email))
    assert states_of(live_server, email) == {FIRST: S.REQUESTED}  # opening changes nothing
    assert_accessible(page)
    page.click("text=Confirmer mon inscription")
    page.wait_for_selector("text=Votre place est réservée.")
    assert states_of(live_server, email) == {FIRST: S.SEATED}
    assert_accessible(page)  # the confirmation page
    shoot(page, "confirmed-desktop")

    page.click("text=Gérer mes inscriptions")
    page.wait_for_selector("h1:has-text('Mes inscriptions')")
    assert_accessible(page)  # the self-service page
    page.click("text=Annuler mon inscription")
    assert_accessible(page)
    page.click("text=Oui, annuler mon inscription")
    page.wait_for_selector(".notification")
    assert "est annulée" in page.inner_text(".notification")
    assert states_of(live_server, email) == {FIRST: S.CANCELLED_BY_PERSON}
    assert_accessible(page)


def test_seat_counts_refresh_without_a_reload(page, live_server):
    page.goto(live_server.url + "/inscription")
    block = f"#inscription-places-{SHRUNK}"
    before = page.inner_text(block)
    with live_server.app.app_context():
        meeting = db.session.scalar(sa.select(Meeting).where(Meeting.slug == SHRUNK))
        meeting.capacity = meeting.seats_taken + 1
        db.session.commit()
    page.evaluate("htmx.trigger(document.body, 'seats-changed')")  # what HX-Trigger does
    assert poll(page, f"document.querySelector('{block}').innerText !== {before!r}")
    assert "1\u00a0place restante" in page.inner_text(block)
    assert "1\u00a0place restante" in page.inner_text("#annonces")
    assert focus_is_somewhere(page) or page.evaluate("document.activeElement === document.body")
    assert_accessible(page)


def test_on_a_phone(page, live_server):
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(live_server.url + "/inscription")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, "the form scrolls sideways on a phone"
    shoot(page, "form-phone")
    page.click("button[type=submit]")
    page.wait_for_selector(".error-summary")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shoot(page, "form-errors-phone")
    assert_accessible(page)


# --- keyboard only --------------------------------------------------------------------------


def test_keyboard_only(page, live_server):
    email = address()
    page.goto(live_server.url + "/inscription")
    page.focus("#first_name")
    order = []
    for _ in range(40):
        order.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
        if order[-1] == "BUTTON":
            break
        page.keyboard.press("Tab")
    assert "website" not in order, "the honeypot must not be reachable"
    expected_start = ["first_name", "last_name", "email", "phone", "organisation", "mandate"]
    assert order[:6] == expected_start
    assert order[6] == "department-0"  # one tab stop for the radio group
    assert order.index(f"meetings-{FIRST}") < order.index("whole_season")
    assert order.index("whole_season") < order.index("accessibility_needs")
    assert order[-3:-1] == ["data_notice", "A"]  # the checkbox, then the notice link

    page.focus("#first_name")
    page.keyboard.type("Dominique")
    page.keyboard.press("Tab")
    page.keyboard.type("Leroy")
    page.keyboard.press("Tab")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # phone is optional
    page.keyboard.type("Communauté d’agglomération du Douaisis")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # the mandate list
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowRight")  # the first département, then Nord
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # the first meeting
    assert page.is_checked(f"#meetings-{FIRST}")
    assert page.is_checked("#department-1")
    page.focus("#data_notice")
    page.keyboard.press("Space")
    page.focus("button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/inscription/envoyee")
    assert states_of(live_server, email) == {FIRST: S.REQUESTED}

    page.goto(confirm_link(live_server, email))
    page.focus("button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Votre place est réservée.")
    assert states_of(live_server, email) == {FIRST: S.SEATED}


# --- JavaScript off -------------------------------------------------------------------------


def test_without_javascript(js_off_page, live_server):
    page = js_off_page
    email = address()
    page.goto(live_server.url + "/inscription")
    page.click("button[type=submit]")  # a plain POST
    assert page.title().startswith("Erreur\u202f: ")  # typeset (irev.typography)
    # The browser itself focuses the summary (autofocus), at its next rendering step.
    assert poll(page, "document.activeElement.id === 'erreurs'")
    assert page.get_attribute("#first_name", "aria-invalid") == "true"
    # No axe here: axe needs JavaScript. The same server-rendered page is checked by axe in
    # test_with_javascript_checks_fields_in_place_and_keeps_focus.
    shoot(page, "form-errors-nojs")
    fill_valid(page, email)
    page.click("button[type=submit]")
    page.wait_for_url("**/inscription/envoyee")
    page.goto(confirm_link(live_server, email))
    page.click("text=Confirmer mon inscription")
    page.wait_for_selector("text=Votre place est réservée.")
    assert states_of(live_server, email) == {FIRST: S.SEATED}
    page.click("text=Gérer mes inscriptions")
    page.click("text=Annuler mon inscription")
    page.click("text=Oui, annuler mon inscription")
    assert "est annulée" in page.inner_text(".notification")
    assert states_of(live_server, email) == {FIRST: S.CANCELLED_BY_PERSON}


@pytest.mark.parametrize("width", [375, 1280])
def test_pages_behind_links_look_right(page, live_server, width):
    """Screenshots of the confirmation and self-service pages, for a human look; axe on each."""
    email = address()
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + "/inscription")
    fill_valid(page, email)
    page.check("#whole_season")
    page.click("button[type=submit]")
    page.wait_for_url("**/inscription/envoyee")
    page.goto(confirm_link(live_server, email))
    shoot(page, f"confirm-{width}")
    page.click("text=Confirmer mon inscription")
    page.wait_for_selector(".results")
    shoot(page, f"confirmed-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.click("text=Gérer mes inscriptions")
    shoot(page, f"manage-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert_accessible(page)


# --- as a maire registers -------------------------------------------------------------------


def test_a_maire_registers_for_the_season_and_is_addressed_formally(page, live_server):
    """Civilité and needs on the form (320 px, axe), then the one summary, as she reads it."""
    email = address()
    page.set_viewport_size({"width": 320, "height": 900})
    page.goto(live_server.url + "/inscription")
    page.check("#civilite-0")  # Madame
    fill_valid(page, email)
    page.uncheck(f"#meetings-{FIRST}")
    page.check("#whole_season")
    page.check("#accessibility_options-0")  # sous-titrage
    page.check("#accessibility_options-1")  # LSF
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert_accessible(page)
    shoot(page, "form-maire-320")
    page.click("button[type=submit]")
    page.wait_for_url("**/inscription/envoyee")
    page.goto(confirm_link(live_server, email))
    page.click("text=Confirmer mon inscription")
    page.wait_for_selector("h1")

    summary = live_server.wait_for_mail(email, "Voici où en est chacune")
    text = summary.message.get_body(preferencelist=("plain",)).get_content()
    assert text.splitlines()[0] == "Madame la Maire,"
    # One request and one summary for the whole season: no message per meeting.
    # (A meeting of the demo season is tomorrow: its video link is due and comes on its own.)
    subjects = [str(m.message["Subject"]) for m in live_server.smtp.to(email)]
    about_registering = [s for s in subjects if not s.startswith("Lien de connexion")]
    assert len(about_registering) == 2, subjects
    html = summary.message.get_body(preferencelist=("html",)).get_content()
    page.set_viewport_size({"width": 375, "height": 900})
    page.goto("about:blank")  # not under the site's CSP: a mail client applies inline styles
    page.set_content(html)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shoot(page, "email-summary-maire-phone")
    with live_server.app.app_context():
        person = db.session.scalar(sa.select(Person).where(Person.email == email))
        assert (person.civilite, person.accessibility_options) == ("madame", "sous_titrage,lsf")
