"""What the pages every registrant loads cost in SQL, and the form's kept meeting parts.

Not timed (timings belong to `make bench`): SQL statements per request are exact, and they must
not grow with the data. Each route is counted at two sizes of programme, first right after a
commit (nothing kept is trusted: the real work) and then again (what the caches spare).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import g

from irev.extensions import db
from irev.models import Meeting, RegistrationState, StaffUser, utcnow
from irev.services import cache
from tests.admin_helpers import create_staff, sign_in
from tests.http_client import csrf_token
from tests.registration_support import form_data
from tests.sql_counting import counted


@pytest.fixture
def app_config() -> dict:
    """CSRF on, as served: its token and session are part of what a request costs.

    What was read is trusted for a minute unless something commits (a second when served), so
    that a slow machine does not turn a count "once kept" into a version check.
    """
    return {"WTF_CSRF_ENABLED": True, "IREV_CACHE_SECONDS": 60}


def build_programme(create_programme, create_meeting, create_person, create_registration, size):
    """Load a programme of `size` meetings, each with seated people, every other one full."""
    programme = create_programme(year=2099)
    meetings = []
    for n in range(size):
        meeting = create_meeting(programme=programme, capacity=3, title=f"Séance {n + 1}")
        meeting.starts_at += timedelta(days=7 * n)
        meeting.ends_at += timedelta(days=7 * n)
        meetings.append(meeting)
        for _ in range(3 if n % 2 else 2):
            create_registration(meeting=meeting, person=create_person())
        if n % 2:  # full: one person waits
            create_registration(
                meeting=meeting, person=create_person(), state=RegistrationState.WAITING
            )
    db.session.commit()
    return meetings


def visitor(app):
    """Return a new browser (the app fixture's app context, hence flask.g, spans requests)."""
    for left_by_the_last_visitor in ("csrf_token", "_login_user"):
        g.pop(left_by_the_last_visitor, None)
    return app.test_client()


def route_counts(client, meetings: list[Meeting]) -> dict[str, tuple[int, int]]:
    """Return (after a commit, again) statement counts of each route, for one visitor."""
    slug = meetings[0].slug
    form_page = client.get("/inscription")  # the visitor now carries a session with a token
    token = csrf_token(form_page.get_data(as_text=True))
    numbers = iter(range(1, 1000))

    def submit():
        data = form_data(slug, email=f"camille{len(meetings)}-{next(numbers)}@roubaix.example")
        response = client.post("/inscription", data={**data, "csrf_token": token})
        assert response.status_code == 303, response.get_data(True)[:300]
        return response

    routes = {
        "registration form": lambda: client.get("/inscription"),
        "programme, cookie": lambda: client.get("/"),
        "seat fragment, cookie": lambda: client.get(
            f"/seances/{slug}/places", headers={"HX-Request": "true"}
        ),
        "registration submit": submit,
        # A visitor holding nothing yet: the kept token-free page, their own token written in
        # (last: the app context, hence flask.g, spans these requests).
        "registration form, new visitor": lambda: visitor(client.application).get("/inscription"),
        "registration form, a meeting ticked": lambda: visitor(client.application).get(
            f"/inscription?seance={slug}"
        ),
    }
    results = {}
    for name, call in routes.items():
        pair = []
        for fresh in (True, False):
            if fresh:
                cache.freshness().bump()  # as after any commit: what was read is asked again
            with counted() as statements:
                response = call()
            assert response.status_code < 400, name
            pair.append(len(statements))
        results[name] = tuple(pair)
    return results


def staff_counts(client, meetings: list[Meeting]) -> tuple[int, int]:
    """Return the statement counts of the staff list of a meeting's registrations."""
    if not db.session.scalar(db.select(db.func.count(StaffUser.id))):
        create_staff()
    assert sign_in(client).status_code == 303
    pair = []
    for _ in range(2):
        with counted() as statements:
            response = client.get(f"/admin/seances/{meetings[1].id}/inscriptions")
        assert response.status_code == 200
        pair.append(len(statements))
    return tuple(pair)


def test_statements_per_request_do_not_grow_with_the_programme(
    app, create_programme, create_meeting, create_person, create_registration
):
    factories = (create_programme, create_meeting, create_person, create_registration)
    small = build_programme(*factories, size=2)
    counts_small = route_counts(visitor(app), small)
    staff_small = staff_counts(visitor(app), small)
    # A programme five times larger replaces it: more meetings, people, seats, waiting lists.
    small[0].programme.published = False
    db.session.commit()
    large = build_programme(*factories, size=10)
    counts_large = route_counts(visitor(app), large)
    staff_large = staff_counts(visitor(app), large)

    assert counts_small == counts_large
    assert staff_small == staff_large
    # The staff list's rows are kept until the next commit: their count, page, waiting
    # positions and assistants are not read again (irev.admin.kept_rows).
    assert staff_large[1] <= staff_large[0] - 4
    # What the caches spare: the form, programme and seats read nothing once kept.
    assert counts_large["registration form"][1] == 0
    assert counts_large["registration form, new visitor"][1] == 0
    assert counts_large["registration form, a meeting ticked"][1] == 0
    assert counts_large["programme, cookie"][1] == 0
    assert counts_large["seat fragment, cookie"][1] == 0


def test_the_form_shows_a_seat_change_at_once(client, create_meeting, create_registration):
    meeting = create_meeting(capacity=1, title="Mixité sociale")
    db.session.commit()
    assert "Complet" not in client.get("/inscription").get_data(as_text=True)
    create_registration(meeting=meeting)
    db.session.commit()
    assert "Complet" in client.get("/inscription").get_data(as_text=True)


def test_each_visitor_gets_a_token_of_their_own(app, create_meeting):
    create_meeting()
    db.session.commit()
    tokens, cookies = set(), set()
    for _ in range(3):
        response = visitor(app).get("/inscription")
        tokens.add(csrf_token(response.get_data(as_text=True)))
        cookies.add(response.headers.get("Set-Cookie", "").split(";")[0])
    assert len(tokens) == 3 and "" not in tokens
    assert len(cookies) == 3 and "" not in cookies
    # The form is never replayed as a finished response, whoever asks.
    assert app.extensions["irev_response_cache"].hits == 0


def test_a_ticked_meeting_comes_from_the_address_only_when_it_is_open(client, create_meeting):
    open_one = create_meeting(title="Ouverte")
    # Registration closed (a full meeting still takes requests, on its waiting list).
    closed = create_meeting(
        programme=open_one.programme,
        title="Close",
        registration_closes_at=utcnow() - timedelta(days=1),
    )
    db.session.commit()
    ticked = re.compile(r'name="meetings" value="([^"]+)" checked')
    assert ticked.findall(client.get(f"/inscription?seance={open_one.slug}").get_data(True)) == [
        open_one.slug
    ]
    assert ticked.findall(client.get(f"/inscription?seance={closed.slug}").get_data(True)) == []
    assert ticked.findall(client.get("/inscription?seance=" + "x" * 500).get_data(True)) == []
    # Kept parts differ by what was ticked: the plain form still ticks nothing.
    assert ticked.findall(client.get("/inscription").get_data(True)) == []


def test_a_visitor_who_opened_the_form_gets_the_shared_programme(app, create_meeting):
    create_meeting(title="Mixité sociale")
    db.session.commit()
    replayed = app.extensions["irev_response_cache"]
    anonymous = visitor(app).get("/").get_data()  # kept for every anonymous visitor
    reader = visitor(app)
    reader.get("/inscription")  # now carries a session holding its CSRF token
    before = replayed.hits
    response = reader.get("/")
    assert replayed.hits == before + 1
    assert response.get_data() == anonymous
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("other", "1"),  # a cookie that is not the session
        ("session", "eyJjc3JmX3Rva2VuIjoiYSJ9.forged.signature"),  # a bad signature
        ("remember_token", "1|abc"),  # a staff member's remember cookie
    ],
)
def test_other_cookies_go_through_flask(app, create_meeting, name, value):
    create_meeting()
    db.session.commit()
    replayed = app.extensions["irev_response_cache"]
    visitor(app).get("/")
    before = replayed.hits
    browser = visitor(app)
    browser.set_cookie(name, value)
    assert browser.get("/").status_code == 200
    assert replayed.hits == before


def test_a_session_holding_more_than_a_token_goes_through_flask(app, staff_client, create_meeting):
    create_meeting()
    db.session.commit()
    replayed = app.extensions["irev_response_cache"]
    visitor(app).get("/")
    before = replayed.hits
    assert staff_client.get("/").status_code == 200  # signed in: _user_id in the session
    assert replayed.hits == before


def test_kept_form_parts_follow_the_seats_of_every_published_cycle(
    client, create_programme, create_meeting
):
    """The form offers an archived cycle's coming meetings too: their seats must not go stale."""
    archived = create_meeting(programme=create_programme(year=2026), capacity=2)
    create_meeting(programme=create_programme(year=2027))
    db.session.commit()
    seats = re.compile(r'id="inscription-places-' + archived.slug + r'">(.*?)</div>', re.S)
    before = seats.search(client.get("/inscription").get_data(True)).group(1)
    assert "2\u00a0places restantes sur 2" in before
    archived.seats_taken = 1
    db.session.commit()
    after = seats.search(client.get("/inscription").get_data(True)).group(1)
    assert "1\u00a0place restante sur 2" in after


@pytest.mark.parametrize(
    ("organisation", "code"),
    [
        ("Amiens", ""),  # a unique name: its codes
        ("Nulle-sur-Rien", ""),  # no such name: none
        ("Amiens", "texte"),  # « keep the typed name »: looked up again when saved, as before
        ("Saint-Martin", "texte"),  # homonyms kept as typed: no code
    ],
)
def test_a_submission_stores_the_codes_the_lookup_of_its_name_gives(
    app, territories, create_meeting, organisation, code
):
    """The form matched the name already, so saving does not look it up again: same codes."""
    from irev.models import Person
    from irev.services.people import PersonDetails, with_territory

    meeting = create_meeting()
    db.session.commit()
    browser = visitor(app)
    token = csrf_token(browser.get("/inscription").get_data(as_text=True))
    data = form_data(meeting.slug, organisation=organisation, department="Somme")
    data = {**data, "organisation_code": code, "csrf_token": token}
    with counted() as statements:
        response = browser.post("/inscription", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    stored = db.session.scalar(db.select(Person).where(Person.email == data["email"]))
    looked_up = with_territory(
        PersonDetails(
            email="x@example.org", first_name="x", last_name="x", organisation=stored.organisation
        )
    )
    assert (stored.commune_code, stored.epci_siren, stored.department_code) == (
        looked_up.commune_code,
        looked_up.epci_siren,
        looked_up.department_code,
    )
    territory_reads = [s for s in statements if "FROM territory_" in s]
    # The form's match (its exact names, then the broad search when none), read once each.
    assert len(territory_reads) <= 4
