"""The « plan du site » (RGAA 12.1, 12.3, 12.4): a second way to reach every public page,
linked from the same place in every page's footer."""

from __future__ import annotations

from flask import url_for

from irev.extensions import db
from irev.models import MeetingStatus
from tests import test_public
from tests.test_public import get, link_texts

programme = test_public.programme

#: Public pages every visitor may open without a personal link, by endpoint.
PUBLIC_ENDPOINTS = (
    "public.index",
    "registration.form",
    "public.archives",
    "public.accessibility",
    "public.accessibility_plan",
    "public.personal_data",
    "public.legal_notice",
    "public.verify_attestation",
    "public.programme_calendar",
    "admin.sign_in",
)


def test_the_site_map_lists_every_public_page_and_each_meeting(
    app, client, programme, create_programme, create_meeting
):
    shown = create_meeting(programme=programme, title="Habitat et mixité")
    cancelled = create_meeting(
        programme=programme, title="Séance annulée", status=MeetingStatus.CANCELLED
    )
    draft = create_meeting(programme=programme, title="Brouillon", status=MeetingStatus.DRAFT)
    past = create_programme(slug="cycle-2020", title="Cycle 2020", year=2020)
    db.session.commit()
    _, page = get(client, "/plan-du-site")
    assert page.find("h1").text == "Plan du site"
    assert page.find("title").text.startswith("Plan du site – ")
    hrefs = {a.attrs["href"] for a in page.find("main").find_all("a")}
    with app.test_request_context():
        expected = {url_for(endpoint) for endpoint in PUBLIC_ENDPOINTS}
        expected |= {url_for("public.meeting", slug=m.slug) for m in (shown, cancelled)}
        expected.add(url_for("public.archived_programme", slug=past.slug))
        unpublished = url_for("public.meeting", slug=draft.slug)
    assert expected <= hrefs, expected - hrefs
    assert unpublished not in hrefs  # a draft is not public
    texts = link_texts(page.find("main"))
    assert any(t.startswith("Habitat et mixité – ") for t in texts)
    assert any(t.startswith("Agenda de toutes les séances (fichier .ics, ") for t in texts)
    # The lists are real nested lists, the structure a screen reader announces (RGAA 9.3).
    nested = [ul for ul in page.find("main").find_all("ul") if ul.parent.tag == "li"]
    assert nested


def test_every_page_reaches_the_site_map_from_the_same_footer_link(client, programme):
    for path in ("/", "/inscription", "/accessibilite", "/mentions-legales", "/admin/connexion"):
        _, page = get(client, path)
        footer = link_texts(page.find("footer"))
        assert footer.get("Plan du site") == "/plan-du-site", path
        links = [a.text for a in page.find("footer").find_all("a")]
        assert links[-1] == "Plan du site", path  # same place on every page (RGAA 12.4)
    _, itself = get(client, "/plan-du-site")
    current = itself.find("footer").find("a", href="/plan-du-site")
    assert current.attrs.get("aria-current") == "page"


def test_the_site_map_works_without_a_programme(client):
    _, page = get(client, "/plan-du-site")
    hrefs = {a.attrs["href"] for a in page.find("main").find_all("a")}
    assert "/calendrier.ics" not in hrefs  # no programme: no calendar to offer
    assert "/accessibilite" in hrefs and "/mentions-legales" in hrefs
