"""Finished responses of the shared pages are replayed to cookie-less visitors, and only to them."""

from __future__ import annotations

import logging

import pytest

from irev import page_cache
from irev.extensions import db
from irev.response_cache import EXTENSION
from irev.typography import french

HX = {"HX-Request": "true"}


@pytest.fixture
def meeting(create_programme, create_meeting):
    """A published programme with one open meeting of two seats."""
    found = create_meeting(programme=create_programme(year=2099), capacity=2)
    db.session.commit()
    return found


def replayed(app) -> int:
    """Return how many answers the middleware sent without running Flask."""
    return app.extensions[EXTENSION].hits


def test_a_kept_response_is_the_same_bytes_and_headers_and_is_logged(app, client, meeting, caplog):
    first = client.get("/")
    assert replayed(app) == 0
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="irev.request"):
        second = client.get("/")
    assert replayed(app) == 1
    assert second.status_code == 200 and second.data == first.data
    assert sorted(second.headers.items()) == sorted(first.headers.items())
    assert second.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "HX-Request" in second.headers["Vary"]
    assert [r.getMessage().rsplit(" ", 1)[0] for r in caplog.records] == ["GET / 200"]


def test_the_htmx_fragment_and_the_page_are_kept_apart(app, client, meeting):
    fragment = client.get(f"/seances/{meeting.slug}/places", headers=HX)
    assert fragment.status_code == 200 and b"<html" not in fragment.data
    redirected = client.get(f"/seances/{meeting.slug}/places")
    assert redirected.status_code == 303  # not htmx: the meeting page, never a kept fragment
    assert client.get(f"/seances/{meeting.slug}/places").status_code == 303
    assert client.get(f"/seances/{meeting.slug}/places", headers=HX).data == fragment.data
    assert replayed(app) == 1


def test_a_visitor_with_a_cookie_always_goes_through_flask(app, client, meeting):
    client.get("/")
    client.set_cookie("session", "anything")
    client.get("/")
    client.get("/")
    assert replayed(app) == 0
    assert page_cache.pages().hits == 2  # the page itself is still reused inside Flask


def test_signed_in_staff_never_get_a_kept_response(app, staff_client, meeting):
    app.test_client().get("/")
    staff_client.get("/")
    staff_client.get("/")
    assert replayed(app) == 0


def test_head_and_errors_are_not_kept(app, client, meeting):
    assert client.head("/").status_code == 200
    assert client.head("/").status_code == 200
    assert client.get("/seances/inconnue").status_code == 404
    assert client.get("/seances/inconnue").status_code == 404
    assert replayed(app) == 0


def test_a_commit_ends_the_replay_at_once(app, client, meeting):
    assert french("2 places restantes sur 2").encode() in client.get("/").data
    assert french("2 places restantes sur 2").encode() in client.get("/").data
    assert replayed(app) == 1
    meeting.seats_taken = 1
    db.session.commit()
    assert french("1 place restante sur 2").encode() in client.get("/").data
    assert replayed(app) == 1
