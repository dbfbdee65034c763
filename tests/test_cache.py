"""The programme page is rendered once and reused until something it shows changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import flash, render_template_string
from freezegun import freeze_time

from irev.extensions import db
from irev.models import Meeting, RegistrationState, utcnow
from irev.services import cache


@pytest.fixture
def meeting(create_programme, create_meeting):
    """A published programme with one open meeting of two seats."""
    programme = create_programme(year=2099)
    found = create_meeting(programme=programme, title="Mixité sociale dans l’habitat", capacity=2)
    db.session.commit()
    return found


def page(client) -> str:
    """Return the programme page's HTML."""
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_second_view_is_served_from_the_cache(app, client, meeting):
    first = page(client)
    assert "Mixité sociale dans l’habitat" in first
    pages = cache.pages()
    assert (pages.misses, pages.hits) == (1, 0)
    assert page(client) == first
    assert (pages.misses, pages.hits) == (1, 1)


def test_an_edited_meeting_shows_at_once(client, meeting):
    page(client)
    meeting.title = "Transitions et quartiers"
    db.session.commit()
    assert "Transitions et quartiers" in page(client)


def test_a_change_made_in_sql_outside_the_orm_shows_at_once(client, meeting):
    page(client)
    # Another process (a worker, a command, psql) moves the seat count.
    db.session.execute(sa.update(Meeting).where(Meeting.id == meeting.id).values(seats_taken=2))
    db.session.commit()
    assert "Complet" in page(client)


def test_seat_counts_and_waiting_list_stay_live(client, meeting, create_registration):
    assert "2 places restantes sur 2" in page(client)
    create_registration(meeting=meeting)
    db.session.commit()
    assert "1 place restante sur 2" in page(client)
    create_registration(meeting=meeting)
    create_registration(meeting=meeting, state=RegistrationState.WAITING)
    db.session.commit()
    assert "1 personne est sur la liste d'attente" in page(client)
    create_registration(meeting=meeting, state=RegistrationState.WAITING)
    db.session.commit()
    assert "2 personnes sont sur la liste d'attente" in page(client)


def test_the_page_follows_the_clock(client, meeting):
    assert "Inscriptions ouvertes" in page(client)
    with freeze_time(meeting.starts_at + timedelta(minutes=5)):
        assert "Séance en cours" in page(client)
    with freeze_time(meeting.ends_at + timedelta(minutes=5)):
        assert "Séance passée" in page(client)


def test_a_render_with_a_csrf_token_is_never_shared(app):
    pages = cache.PageCache()
    bodies = []
    for _ in range(2):
        with app.app_context(), app.test_request_context():
            bodies.append(
                pages.get_or_render("k", 1, lambda: render_template_string("{{ csrf_token() }}"))
            )
    assert bodies[0] != bodies[1]
    assert pages.hits == 0


def test_a_visitor_with_a_message_gets_a_fresh_page(app):
    pages = cache.PageCache()
    with app.app_context(), app.test_request_context():
        assert pages.get_or_render("k", 1, lambda: "anonymous") == "anonymous"
    with app.app_context(), app.test_request_context():
        flash("Votre inscription est annulée.")
        assert pages.get_or_render("k", 1, lambda: "with message") == "with message"
    assert pages.hits == 0


def test_version_is_one_statement_whatever_the_size(app, create_programme, create_meeting):
    programme = create_programme(year=2099)
    for n in range(12):
        create_meeting(programme=programme, starts_at=utcnow() + timedelta(days=10 + n))
    db.session.commit()
    statements = []
    sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    version = cache.programme_version()
    assert len([s for s in statements if s.startswith("SELECT")]) == 1
    assert len(version[2]) == 12
