"""The team's accounts as deployed: invite a colleague, who sets a password from the e-mail and
signs in; « Mot de passe oublié » without JavaScript; moderation kept off the accounts page.

Links are read from what the mail worker delivered to the SMTP server, never from the outbox.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from irev.extensions import db
from irev.services import staff
from tests.browser.conftest import assert_accessible

ADMIN_EMAIL = "direction@irev.fr"
ADMIN_PASSWORD = "la phrase de passe de la direction"
INVITED = "nouvelle.collegue@irev.fr"
INVITED_PASSWORD = "ma toute nouvelle phrase de passe"
RESET_PASSWORD = "encore une autre phrase de passe"


@pytest.fixture(scope="module")
def admin_account(live_server) -> str:
    """Add the administration account that invites (as `flask staff add` would)."""
    with live_server.app.app_context():
        staff.create_staff(ADMIN_EMAIL, ADMIN_PASSWORD, "Direction")
        db.session.commit()
        db.session.remove()
    return ADMIN_EMAIL


def without_tokens(html: str) -> str:
    """Return the page without its CSRF token values (signed anew at each rendering)."""
    return re.sub(r"[\w-]+\.[\w-]{6}\.[\w-]{27}", "<jeton>", html)


def sign_in(page, url: str, email: str, password: str) -> None:
    """Sign in from the sign-in page with the keyboard only."""
    page.goto(url + "/admin/connexion")
    page.focus("#email")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Tableau de bord")


def test_invite_set_password_then_sign_in(page, new_context, live_server, admin_account):
    sign_in(page, live_server.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.click("nav >> text=Comptes")
    expect(page.locator("h1")).to_have_text("Comptes de l'équipe")
    assert_accessible(page)

    page.click("text=Inviter un ou une collègue")
    assert_accessible(page)
    page.click("button:has-text('Envoyer l\\'invitation')")  # nothing filled in
    expect(page.locator(".error-summary")).to_be_focused()
    assert page.title().startswith("Erreur : ")
    assert_accessible(page)
    page.fill("#email", INVITED)
    page.fill("#display_name", "Nina Nouvelle")
    page.check("text=Modération : inscriptions")
    page.click("button:has-text('Envoyer l\\'invitation')")
    expect(page.locator(".notice--success")).to_contain_text(f"Invitation envoyée à {INVITED}")
    expect(page.locator("tr", has_text=INVITED)).to_contain_text("Invitation en attente")

    # The colleague, in a browser of their own, opens the e-mailed link.
    link = live_server.mail_link(INVITED, "/admin/invitation/")
    colleague = new_context().new_page()
    response = colleague.goto(link)
    assert response.status == 200
    assert response.headers["referrer-policy"] == "same-origin"
    expect(colleague.locator("h1")).to_have_text("Choisir votre mot de passe")
    assert_accessible(colleague)
    colleague.fill("#password", INVITED_PASSWORD)
    colleague.fill("#confirm", "pas la même phrase de passe")
    colleague.click("button:has-text('Enregistrer le mot de passe')")
    expect(colleague.locator(".error-summary")).to_contain_text("différents")
    assert_accessible(colleague)
    colleague.fill("#password", INVITED_PASSWORD)
    colleague.fill("#confirm", INVITED_PASSWORD)
    colleague.click("button:has-text('Enregistrer le mot de passe')")
    expect(colleague.locator(".notice--success")).to_contain_text("mot de passe est enregistré")
    assert_accessible(colleague)

    sign_in(colleague, live_server.url, INVITED, INVITED_PASSWORD)
    # Moderation: no « Comptes » in the menu, and a French 403 on the page itself.
    expect(colleague.locator("nav a", has_text="Comptes")).to_have_count(0)
    refused = colleague.goto(live_server.url + "/admin/comptes")
    assert refused.status == 403
    expect(colleague.locator("h1")).to_contain_text("Accès refusé")
    assert_accessible(colleague)

    # The link served once.
    again = colleague.goto(link)
    assert again.status == 410
    expect(colleague.locator("h1")).to_have_text("Ce lien ne peut pas être utilisé")
    assert_accessible(colleague)

    page.reload()
    expect(page.locator("tr", has_text=INVITED)).to_contain_text("Actif")
    page.goto(live_server.url + "/admin/mot-de-passe-oublie")  # axe runs with JavaScript only
    assert_accessible(page)
    page.click("button:has-text('Recevoir un lien par e-mail')")
    expect(page.locator(".error-summary")).to_be_focused()
    assert_accessible(page)


def test_forgotten_password_without_javascript(js_off_page, live_server, admin_account):
    page = js_off_page
    page.goto(live_server.url + "/admin/connexion")
    page.click("text=Mot de passe oublié ?")
    expect(page.locator("h1")).to_have_text("Mot de passe oublié")
    page.fill("#email", ADMIN_EMAIL)
    page.click("button:has-text('Recevoir un lien par e-mail')")
    expect(page.locator(".notice--success")).to_contain_text("Si un compte actif correspond")
    known = without_tokens(page.content())
    page.goto(live_server.url + "/admin/mot-de-passe-oublie")
    page.fill("#email", "personne@irev.fr")
    page.click("button:has-text('Recevoir un lien par e-mail')")
    assert without_tokens(page.content()) == known  # the same, whether the address is known

    link = live_server.mail_link(ADMIN_EMAIL, "/admin/nouveau-mot-de-passe/")
    page.goto(link)
    page.fill("#password", RESET_PASSWORD)
    page.fill("#confirm", RESET_PASSWORD)
    page.click("button:has-text('Enregistrer le mot de passe')")
    expect(page.locator(".notice--success")).to_contain_text("mot de passe est enregistré")
    sign_in(page, live_server.url, ADMIN_EMAIL, RESET_PASSWORD)
