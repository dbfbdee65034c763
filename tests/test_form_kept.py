"""The registration form's kept token-free page (irev.kept_pages, irev.registration.form_page).

The kept copy must give every visitor the bytes a normal render gives them, with their own
token and cookie; hold nothing of any visitor; follow every commit at once; and be used only
by visitors who hold nothing but a CSRF token.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import g

from irev import kept_pages
from irev.extensions import db
from irev.models import OutboundEmail, Person, utcnow
from irev.registration.routes import SENT_TO
from tests.http_client import csrf_token
from tests.registration_support import form_data
from tests.sql_counting import counted


@pytest.fixture
def app_config() -> dict:
    """CSRF on, as served: the token and the session cookie are what this is about.

    What was read stays trusted for a minute unless something commits (as it does for a
    second when served): a slow machine must not turn "no SQL once kept" into a version check.
    """
    return {"WTF_CSRF_ENABLED": True, "IREV_CACHE_SECONDS": 60}


@pytest.fixture
def offer(create_programme, create_meeting):
    """Two open meetings (one full), one whose registration has closed, in one cycle."""
    programme = create_programme()
    open_one = create_meeting(programme=programme, title="Mixité sociale")
    full = create_meeting(programme=programme, title="Rénovation urbaine", capacity=1)
    full.seats_taken = 1
    closed = create_meeting(
        programme=programme,
        title="Emploi des jeunes",
        registration_closes_at=utcnow() - timedelta(days=1),
    )
    db.session.commit()
    return {"open": open_one, "full": full, "closed": closed}


def visitor(app):
    """Return a new browser (the app fixture's app context, hence flask.g, spans requests)."""
    for left_by_the_last_visitor in ("csrf_token", "_login_user"):
        g.pop(left_by_the_last_visitor, None)
    return app.test_client()


def kept(app):
    """Return the page cache holding the token-free copies."""
    return app.extensions[kept_pages.KEPT]


def normal_render(app, monkeypatch, path: str, **kwargs):
    """Return the response of a normal render (the kept path closed to everyone)."""
    with monkeypatch.context() as patched:
        patched.setattr(kept_pages, "holds_nothing", lambda: False)
        return visitor(app).get(path, **kwargs)


def without_token(response) -> tuple[str, int]:
    """Return the body with this visitor's token replaced, and how many times it was there."""
    body = response.get_data(as_text=True)
    token = csrf_token(body)
    assert token and kept_pages.PLACEHOLDER not in body
    return body.replace(token, "TOKEN"), body.count(token)


def session_of(app, response) -> dict:
    """Return what the response's session cookie holds, the raw CSRF token left out."""
    value = response.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    held = app.session_interface.get_signing_serializer(app).loads(value)
    assert held.pop("csrf_token")
    return held


def headers_without_cookie_value(response) -> list[tuple[str, str]]:
    """Return the headers, the session cookie's value left out (its attributes kept)."""
    shown = []
    for name, value in response.headers.items():
        if name == "Set-Cookie":
            name_value, _, attributes = value.partition(";")
            value = name_value.split("=")[0] + "=…;" + attributes
        elif name == "Content-Length":
            continue  # the token's signature may differ in length by a character
        shown.append((name, value))
    return sorted(shown)


VARIANTS = [
    "/inscription",
    "/inscription?seance={open}",
    "/inscription?seance={full}",
    "/inscription?seance={closed}",
    "/inscription?seance=nulle-part",
    "/inscription?seance=" + "x" * 500,
    "/inscription?pour=elu",
    "/inscription?pour=moi",
    "/inscription?seance={open}&pour=elu",
    "/inscription?autre=1",
]


@pytest.mark.parametrize("template", VARIANTS)
@pytest.mark.parametrize("htmx", [False, True])
def test_the_kept_page_equals_a_normal_render_but_for_the_token(
    app, offer, monkeypatch, template, htmx
):
    path = template.format(**{name: m.slug for name, m in offer.items()})
    headers = {"HX-Request": "true"} if htmx else {}
    expected = normal_render(app, monkeypatch, path, headers=headers)
    first = visitor(app).get(path, headers=headers)  # renders the token-free copy
    hits = kept(app).hits
    again = visitor(app).get(path, headers=headers)  # served from it
    assert kept(app).hits == hits + 1
    for response in (first, again):
        assert response.status_code == expected.status_code == 200
        assert without_token(response) == without_token(expected)
        assert headers_without_cookie_value(response) == headers_without_cookie_value(expected)
        assert session_of(app, response) == session_of(app, expected)


def test_a_ticked_meeting_is_ticked_and_only_there(app, offer):
    ticked = re.compile(r'name="meetings" value="([^"]+)" checked')
    for _ in range(2):  # rendered, then kept
        page = visitor(app).get(f"/inscription?seance={offer['open'].slug}").get_data(True)
        assert ticked.findall(page) == [offer["open"].slug]
        plain = visitor(app).get("/inscription").get_data(True)
        assert ticked.findall(plain) == []
        assert (
            ticked.findall(visitor(app).get("/inscription?seance=nulle-part").get_data(True)) == []
        )
    elected = visitor(app).get("/inscription?pour=elu").get_data(True)
    assert re.search(r'name="for_whom" value="elu" checked', elected)
    assert not re.search(r'name="for_whom" value="elu" checked', plain)


def test_three_visitors_get_their_own_token_and_cookie_and_only_theirs_works(app, offer):
    slug = offer["open"].slug
    visitors, tokens, cookies = [], [], []
    for _ in range(3):
        browser = visitor(app)
        response = browser.get("/inscription")
        visitors.append(browser)
        tokens.append(csrf_token(response.get_data(as_text=True)))
        cookies.append(response.headers["Set-Cookie"].split(";")[0])
    assert kept(app).hits >= 2  # the second and third visitors were served the kept copy
    assert len(set(tokens)) == 3 and len(set(cookies)) == 3
    for entry in kept(app)._entries.values():  # nothing of any visitor is kept
        assert kept_pages.PLACEHOLDER in entry.body
        assert not any(token in entry.body for token in tokens)
    for n, browser in enumerate(visitors):
        other = tokens[(n + 1) % 3]
        data = form_data(slug, email=f"camille{n}@roubaix.example")
        g.pop("csrf_token", None)
        refused = browser.post("/inscription", data={**data, "csrf_token": other})
        assert refused.status_code == 400
        assert "Le formulaire a expiré" in refused.get_data(as_text=True)
        g.pop("csrf_token", None)
        sent = browser.post("/inscription", data={**data, "csrf_token": tokens[n]})
        assert sent.status_code == 303, sent.get_data(as_text=True)[:300]
    assert db.session.scalar(db.select(db.func.count(OutboundEmail.id))) == 3
    assert db.session.scalar(db.select(db.func.count(Person.id))) == 3


def test_a_commit_shows_at_once(app, offer):
    seats = re.compile(r'id="inscription-places-' + offer["open"].slug + r'">(.*?)</div>', re.S)
    page = visitor(app).get("/inscription").get_data(True)
    assert "50\u00a0places restantes sur 50" in seats.search(page).group(1)
    assert "Mixité sociale" in visitor(app).get("/inscription").get_data(True)  # kept now
    offer["open"].seats_taken = 49
    db.session.commit()
    page = visitor(app).get("/inscription").get_data(True)
    assert "1\u00a0place restante sur 50" in seats.search(page).group(1)
    offer["open"].title = "Mixité sociale et logement"
    db.session.commit()
    assert "Mixité sociale et logement" in visitor(app).get("/inscription").get_data(True)
    offer["full"].programme.is_demo = True
    db.session.commit()
    assert "Site de démonstration" in visitor(app).get("/inscription").get_data(True)


def test_no_sql_once_kept(app, offer):
    for path in ("/inscription", f"/inscription?seance={offer['open'].slug}"):
        visitor(app).get(path)
        hits = kept(app).hits
        with counted() as statements:
            response = visitor(app).get(path)
        assert response.status_code == 200
        assert statements == []
        assert kept(app).hits == hits + 1


def test_a_flash_is_rendered_normally(app, offer, monkeypatch):
    visitor(app).get("/inscription")  # the kept copy exists
    browser = visitor(app)
    with browser.session_transaction() as session:
        session["_flashes"] = [("success", "Un message à montrer")]
    before = (kept(app).hits, kept(app).misses)
    response = browser.get("/inscription")
    assert response.status_code == 200
    assert (kept(app).hits, kept(app).misses) == before
    assert (
        without_token(response)[0]
        == without_token(normal_render(app, monkeypatch, "/inscription"))[0]
    )


def test_the_address_a_form_was_sent_for_is_rendered_normally(app, offer):
    browser = visitor(app)
    token = csrf_token(browser.get("/inscription").get_data(as_text=True))
    data = form_data(offer["open"].slug, email="camille@roubaix.example", csrf_token=token)
    g.pop("csrf_token", None)
    assert browser.post("/inscription", data=data).status_code == 303
    with browser.session_transaction() as session:
        assert session[SENT_TO] == "camille@roubaix.example"
    before = (kept(app).hits, kept(app).misses)
    g.pop("csrf_token", None)
    response = browser.get("/inscription")
    assert response.status_code == 200 and csrf_token(response.get_data(as_text=True))
    assert (kept(app).hits, kept(app).misses) == before


def test_staff_are_rendered_normally(app, offer, staff_client):
    visitor(app).get("/inscription")
    before = (kept(app).hits, kept(app).misses)
    g.pop("csrf_token", None)
    response = staff_client.get("/inscription")
    assert response.status_code == 200
    assert (kept(app).hits, kept(app).misses) == before


def test_a_post_re_render_carries_its_own_token(app, offer):
    browser = visitor(app)
    token = csrf_token(browser.get("/inscription").get_data(as_text=True))
    g.pop("csrf_token", None)
    data = form_data(offer["open"].slug, email="pas-une-adresse", csrf_token=token)
    response = browser.post("/inscription", data=data)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert kept_pages.PLACEHOLDER not in body
    assert csrf_token(body)


def test_the_placeholder_stays_out_of_other_pages(app, offer, staff_client):
    """csrf_token() gives the placeholder only while a kept copy renders."""
    page = staff_client.get("/admin/").get_data(as_text=True)
    assert kept_pages.PLACEHOLDER not in page
    assert re.search(r'"X-CSRFToken": "[^"]+"', page)
