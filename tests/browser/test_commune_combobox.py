"""« Commune ou intercommunalité » in Chromium: the ARIA 1.2 combobox by keyboard, the code
stored, axe on the open listbox, 320 px, and the choice page with JavaScript off."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from irev.extensions import db
from irev.models import Person
from irev.services.territories_load import load_territories
from tests.browser.conftest import assert_accessible, poll

FIRST = "rencontre-1-mixite-sociale-habitat"
SHOTS = Path(os.environ.get("IREV_SCREENSHOTS", "/tmp/irev-screenshots"))
_counter = itertools.count(1)


@pytest.fixture(scope="module", autouse=True)
def loaded(live_server, territory_subset_dir):
    """Load the communes and EPCI into the live server's database."""
    with live_server.app.app_context():
        load_territories(territory_subset_dir)
        db.session.commit()


def address() -> str:
    return f"combobox{next(_counter)}@navigateur.example"


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def stored(live_server, email: str) -> tuple[str, str, str, str]:
    with live_server.app.app_context():
        person = db.session.scalar(sa.select(Person).where(Person.email == email))
        assert person is not None, f"no person {email}"
        return (person.organisation, person.commune_code, person.epci_siren, person.department)


def fill_the_rest(page, email: str) -> None:
    page.fill("#first_name", "Camille")
    page.fill("#last_name", "Durand")
    page.fill("#email", email)
    page.select_option("#mandate", "maire")
    page.check(f"#meetings-{FIRST}")
    page.check("#data_notice")


def attr(page, selector: str, name: str):
    return page.get_attribute(selector, name)


def test_type_arrows_and_enter_choose_amiens(page, live_server):
    email = address()
    page.goto(live_server.url + "/inscription")
    fill_the_rest(page, email)
    combobox = "#organisation"
    assert attr(page, combobox, "role") == "combobox"  # the script enhanced the field
    assert attr(page, combobox, "aria-autocomplete") == "list"
    assert attr(page, combobox, "aria-controls") == "organisation-listbox"
    assert attr(page, combobox, "aria-expanded") == "false"
    # RGAA 11.13: the script keeps the field's purpose (the user's organisation).
    assert attr(page, combobox, "autocomplete") == "organization"
    page.focus(combobox)
    page.keyboard.type("Ami")
    page.wait_for_selector("#organisation-listbox:not([hidden]) [role=option]")
    assert attr(page, combobox, "aria-expanded") == "true"
    assert poll(
        page, "document.querySelector('#organisation-status').textContent.includes('suggestions')"
    )
    assert page.evaluate("document.activeElement.id") == "organisation"
    page.keyboard.press("ArrowDown")
    assert attr(page, combobox, "aria-activedescendant") == "organisation-option-0"
    assert attr(page, "#organisation-option-0", "aria-selected") == "true"
    assert "Amiens" in page.inner_text("#organisation-option-0")
    # What a screen reader is given: the expanded combobox, the named listbox, the active
    # option selected, the number of suggestions in the status region.
    tree = page.locator(".combobox").aria_snapshot()
    assert 'combobox "Commune ou intercommunalité" [expanded]' in tree
    assert 'listbox "Suggestions de communes et d’intercommunalités"' in tree
    assert 'option "Amiens , commune, Somme (80)" [selected]' in tree
    assert "suggestions : flèches haut et bas pour parcourir, Entrée pour choisir." in tree
    assert_accessible(page)  # the open combobox, an option active
    shoot(page, "combobox-open-desktop")
    page.keyboard.press("ArrowDown")
    assert attr(page, combobox, "aria-activedescendant") == "organisation-option-1"
    page.keyboard.press("ArrowUp")
    assert attr(page, combobox, "aria-activedescendant") == "organisation-option-0"
    page.keyboard.press("Enter")  # chooses, does not send the form
    assert page.input_value(combobox) == "Amiens"
    assert page.input_value("#organisation_code") == "80021"
    assert attr(page, combobox, "aria-expanded") == "false"
    assert page.is_hidden("#organisation-listbox")
    # The département follows from the code: its question gives way to what was derived.
    assert page.is_hidden("#department-question")
    assert "Somme" in page.inner_text("#department-derived")
    assert page.url.endswith("/inscription")
    assert_accessible(page)
    page.click("button[type=submit]")
    page.wait_for_url("**/inscription/envoyee")
    assert stored(live_server, email) == ("Amiens", "80021", "248000531", "Somme")


def test_escape_closes_and_editing_forgets_the_code(page, live_server):
    page.goto(live_server.url + "/inscription")
    page.focus("#organisation")
    page.keyboard.type("Lille")
    page.wait_for_selector("#organisation-listbox:not([hidden]) [role=option]")
    page.keyboard.press("Escape")
    assert attr(page, "#organisation", "aria-expanded") == "false"
    assert page.is_hidden("#organisation-listbox")
    page.keyboard.press("ArrowDown")  # opens again on the first option
    assert attr(page, "#organisation", "aria-activedescendant") == "organisation-option-0"
    page.keyboard.press("Enter")
    assert page.input_value("#organisation_code") == "59350"
    page.keyboard.type("s")  # « Lilles »: no longer the commune chosen
    assert page.input_value("#organisation_code") == ""
    assert page.is_visible("#department-question")


def test_open_combobox_at_320_px(page, live_server):
    page.set_viewport_size({"width": 320, "height": 700})
    page.goto(live_server.url + "/inscription")
    page.focus("#organisation")
    page.keyboard.type("Saint-Martin")
    page.wait_for_selector("#organisation-listbox:not([hidden]) [role=option]")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.locator("#organisation").scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, 120)")
    assert_accessible(page)
    shoot(page, "combobox-open-320px")


def test_without_javascript_homonyms_lead_to_the_choice_page(js_off_page, live_server):
    page = js_off_page
    email = address()
    page.goto(live_server.url + "/inscription")
    assert attr(page, "#organisation", "role") is None  # a plain text field
    fill_the_rest(page, email)
    page.fill("#organisation", "Saint Martin")
    page.check("#department-5")  # « Autre »
    page.click("button[type=submit]")
    page.wait_for_selector("h2:has-text('Précisez votre collectivité')")
    assert page.title().startswith("Précisez votre collectivité")
    assert poll(page, "document.activeElement.id === 'collectivite'")  # autofocus
    # No axe here: axe needs JavaScript; the htmx test below checks the same choice form.
    page.set_viewport_size({"width": 1000, "height": 900})
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "choice-page.png"), full_page=True)
    page.check("label:has-text('Bas-Rhin')")
    page.click("button:has-text('Continuer mon inscription')")
    page.wait_for_url("**/inscription/envoyee")
    assert stored(live_server, email)[1] == "67426"


def test_with_javascript_a_name_typed_without_choosing_asks_too(page, live_server):
    email = address()
    page.goto(live_server.url + "/inscription")
    fill_the_rest(page, email)
    page.focus("#organisation")
    page.keyboard.type("Saint Martin")
    page.wait_for_selector("#organisation-listbox:not([hidden]) [role=option]")
    page.keyboard.press("Escape")
    page.check("#department-5")
    page.click("button[type=submit]")  # htmx swaps the choice form in place of the form
    page.wait_for_selector("h2:has-text('Précisez votre collectivité')")
    assert poll(page, "document.activeElement.id === 'collectivite'")
    assert page.title().startswith("Précisez votre collectivité")
    assert_accessible(page)
    page.click("button:has-text('Continuer mon inscription')")  # no choice: asked again
    page.wait_for_selector(".error-summary")
    assert_accessible(page)
    page.check("label:has-text('Gers')")
    page.click("button:has-text('Continuer mon inscription')")
    page.wait_for_url("**/inscription/envoyee")
    assert stored(live_server, email)[1] == "32389"


def test_without_javascript_a_unique_name_is_matched(js_off_page, live_server):
    page = js_off_page
    email = address()
    page.goto(live_server.url + "/inscription")
    fill_the_rest(page, email)
    page.fill("#organisation", "métropole européenne de lille")
    page.check("#department-1")
    page.click("button[type=submit]")
    page.wait_for_url("**/inscription/envoyee")
    assert stored(live_server, email) == (
        "Métropole Européenne de Lille",
        "",
        "200093201",
        "Nord",
    )
