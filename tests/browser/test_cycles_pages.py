"""Cycles in Chromium: create (with its errors), duplicate onto new dates and publish, each
page passing axe; the same duplicate and publish with the keyboard and with JavaScript off;
the public archive of past cycles."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from irev.extensions import db
from irev.models import MeetingStatus, Programme
from irev.services import staff
from tests.browser.conftest import STAFF_PASSWORD, assert_accessible, sign_in

EMAIL = "cycles@irev.fr"
SHOTS = Path("test-results/cycles")


@pytest.fixture(scope="module")
def account(live_server) -> None:
    """Add a staff account to the live server's database (with the demo programme)."""
    with live_server.app.app_context():
        staff.create_staff(EMAIL, STAFF_PASSWORD, "Équipe IREV")
        db.session.commit()


def _shot(page, name: str) -> None:
    """Keep a screenshot for a human look (test-results/cycles/)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _programme(live_server, title: str) -> Programme | None:
    with live_server.app.app_context():
        found = db.session.scalar(db.select(Programme).filter_by(title=title))
        if found is not None:
            found.meetings  # noqa: B018  (loaded before the session closes)
        return found


def test_create_duplicate_and_publish_a_cycle(page, live_server, account):
    base = live_server.url
    sign_in(page, base, EMAIL)
    page.click("nav >> text=Cycles")
    expect(page.locator("h1")).to_have_text("Cycles")
    _shot(page, "cycles")
    assert_accessible(page)

    # Create: the empty form is explained, with the focus on the summary.
    page.click("text=Créer un cycle")
    assert page.input_value("#default_start") == "17:00"
    page.fill("#year", "")
    page.click("button:has-text('Créer le cycle')")
    expect(page.locator(".error-summary")).to_be_focused()
    assert page.title().startswith("Erreur : ")
    _shot(page, "cycle-nouveau-erreurs")
    assert_accessible(page)
    page.fill("#title", "Cycle d’essai")
    page.fill("#year", "2031")
    page.click("button:has-text('Créer le cycle')")
    expect(page.locator(".notice--success")).to_contain_text("Cycle « Cycle d’essai » créé")
    assert _programme(live_server, "Cycle d’essai").published is False

    # Duplicate the demo onto the suggested dates, changing one.
    demo = page.locator("section.cycle", has_text="préparer les contrats de ville")
    demo.locator("a", has_text="Dupliquer sur de nouvelles dates").click()
    expect(page.locator("h1")).to_contain_text("sur de nouvelles dates")
    _shot(page, "cycle-dupliquer")
    assert_accessible(page)
    page.fill("#title", "Cycle de démonstration, suite")
    page.fill("#day_1", "")
    page.click("button:has-text('Créer le nouveau cycle')")
    expect(page.locator(".error-summary")).to_be_focused()
    assert_accessible(page)
    page.fill("#day_1", "2031-01-08")
    page.click("button:has-text('Créer le nouveau cycle')")
    expect(page.locator(".notice--success")).to_contain_text("séances en brouillon")
    copy = _programme(live_server, "Cycle de démonstration, suite")
    assert copy.published is False
    assert [m.starts_at.year for m in copy.meetings][-1] == 2031  # in date order
    _shot(page, "cycles-apres-duplication")
    assert_accessible(page)

    # Publish it with its meetings, from the keyboard.
    section = page.locator("section.cycle", has_text="Cycle de démonstration, suite")
    section.locator("button", has_text="Publier le cycle").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".notice--success")).to_contain_text("publié, avec")
    copy = _programme(live_server, "Cycle de démonstration, suite")
    assert copy.published and all(m.status is MeetingStatus.PUBLISHED for m in copy.meetings)

    # The public site: the new cycle at home, the demo in the archive with its pages.
    page.goto(base + "/")
    expect(page.locator("h1")).to_have_text("Cycle de démonstration, suite")
    page.click("footer >> text=Cycles précédents")
    expect(page.locator("h1")).to_have_text("Cycles précédents")
    _shot(page, "cycles-precedents")
    assert_accessible(page)
    page.locator(".archive-list h2 a").first.click()
    expect(page.locator(".notice--archive")).to_contain_text("cycle précédent")
    _shot(page, "cycle-precedent")
    assert_accessible(page)
    page.locator(".meeting-list a[href^='/seances/']").first.click()
    assert page.url.startswith(base + "/seances/")


def test_duplicate_and_unpublish_work_without_javascript(js_off_page, live_server, account):
    page, base = js_off_page, live_server.url
    sign_in(page, base, EMAIL)
    page.goto(base + "/admin/cycles")
    page.locator("a", has_text="Dupliquer sur de nouvelles dates").last.click()
    page.fill("#title", "Copie sans JavaScript")
    page.click("button:has-text('Créer le nouveau cycle')")
    expect(page.locator(".notice--success")).to_contain_text("Copie sans JavaScript")
    section = page.locator("section.cycle", has_text="Copie sans JavaScript")
    section.locator("button", has_text="Publier le cycle").click()
    expect(page.locator(".notice--success")).to_contain_text("publié")
    section = page.locator("section.cycle", has_text="Copie sans JavaScript")
    section.locator("button", has_text="Retirer du site").click()
    expect(page.locator(".notice--success")).to_contain_text("retiré du site")
    assert _programme(live_server, "Copie sans JavaScript").published is False
