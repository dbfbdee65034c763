"""The programme page is rendered once and reused until something it shows changes."""

from __future__ import annotations

import multiprocessing
import os
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import flash, render_template_string
from freezegun import freeze_time

from irev import page_cache
from irev.extensions import db
from irev.models import Meeting, RegistrationState, utcnow
from irev.services import cache
from irev.typography import french


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


def hits(app) -> int:
    """Return how many answers came from a kept page or a kept finished response."""
    return page_cache.pages().hits + app.extensions["irev_response_cache"].hits


def test_second_view_is_served_from_the_cache(app, client, meeting):
    first = page(client)
    assert "Mixité sociale dans l’habitat" in first
    pages = page_cache.pages()
    assert (pages.misses, hits(app)) == (1, 0)
    assert page(client) == first
    assert (pages.misses, hits(app)) == (1, 1)


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
    assert french("2 places restantes sur 2") in page(client)
    create_registration(meeting=meeting)
    db.session.commit()
    assert french("1 place restante sur 2") in page(client)
    create_registration(meeting=meeting)
    create_registration(meeting=meeting, state=RegistrationState.WAITING)
    db.session.commit()
    assert french("1 personne est sur la liste d'attente") in page(client)
    create_registration(meeting=meeting, state=RegistrationState.WAITING)
    db.session.commit()
    assert french("2 personnes sont sur la liste d'attente") in page(client)


def test_the_page_follows_the_clock(client, meeting):
    assert "Inscriptions ouvertes" in page(client)
    with freeze_time(meeting.starts_at + timedelta(minutes=5)):
        assert "Séance en cours" in page(client)
    with freeze_time(meeting.ends_at + timedelta(minutes=5)):
        assert "Séance passée" in page(client)


def test_a_render_with_a_csrf_token_is_never_shared(app):
    pages = page_cache.PageCache()
    bodies = []
    for _ in range(2):
        with app.app_context(), app.test_request_context():
            bodies.append(
                pages.get_or_render("k", 1, lambda: render_template_string("{{ csrf_token() }}"))
            )
    assert bodies[0] != bodies[1]
    assert pages.hits == 0


def test_a_visitor_with_a_message_gets_a_fresh_page(app):
    pages = page_cache.PageCache()
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


# --- Between database reads: trusted for IREV_CACHE_SECONDS, and never after a commit -----------

HX = {"HX-Request": "true"}


def seats(client, meeting) -> str:
    """Return the seat fragment of a meeting, as the page's poll asks for it."""
    response = client.get(f"/seances/{meeting.slug}/places", headers=HX)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def other_process_update(db_url: str, meeting, **values) -> None:
    """Change a meeting through a connection of its own, as psql or another machine would."""
    engine = sa.create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(sa.update(Meeting).where(Meeting.id == meeting.id).values(**values))
    engine.dispose()
    # The test shares its session with the requests; a real request starts a new transaction.
    # A rollback, not a commit: a commit here would tell the cache, which is not the point.
    db.session.rollback()


def test_the_seat_fragment_is_served_from_the_cache_and_announces_changes(app, client, meeting):
    first = seats(client, meeting)
    assert french("2 places restantes sur 2") in first and 'id="annonces"' not in first
    pages = page_cache.pages()
    misses = pages.misses
    assert seats(client, meeting) == first
    assert pages.misses == misses and hits(app) >= 1
    # What the page showed differs from the count: the same kept block, announced.
    announced = client.get(f"/seances/{meeting.slug}/places?dernier=open:1", headers=HX)
    assert '<div id="annonces" data-hx-swap-oob="innerHTML">' in announced.get_data(as_text=True)
    quiet = client.get(f"/seances/{meeting.slug}/places?dernier=open:2", headers=HX)
    assert 'id="annonces"' not in quiet.get_data(as_text=True)
    assert pages.misses == misses


def test_a_registration_shows_at_once_in_the_seat_fragment_and_the_page(app, client, meeting):
    from tests.registration_support import confirm_path, form_data

    visitor = app.test_client()  # no cookie: answered from kept responses when fresh
    for reader in (client, visitor):
        assert french("2 places restantes sur 2") in seats(reader, meeting)
        assert french("2 places restantes sur 2") in page(reader)
    assert client.post("/inscription", data=form_data(meeting.slug)).status_code == 303
    assert client.post(confirm_path()).status_code in (200, 303)
    # The registrant's own action: the very next request shows it, inside the second; and
    # to everybody else too.
    for reader in (client, visitor):
        assert french("1 place restante sur 2") in seats(reader, meeting)
        assert french("1 place restante sur 2") in page(reader)
        meeting_page = reader.get(f"/seances/{meeting.slug}").get_data(as_text=True)
        assert french("1 place restante sur 2") in meeting_page


def test_a_cancellation_frees_the_seat_at_once(app, client, meeting, create_registration):
    from irev.notifications import cancel_url
    from tests.registration_support import path_of

    registration = create_registration(meeting=meeting)
    db.session.commit()
    visitor = app.test_client()
    for reader in (client, visitor):
        assert french("1 place restante sur 2") in seats(reader, meeting)
        assert french("1 place restante sur 2") in page(reader)
    assert client.post(path_of(cancel_url(registration))).status_code == 200
    for reader in (client, visitor):
        assert french("2 places restantes sur 2") in seats(reader, meeting)
        assert french("2 places restantes sur 2") in page(reader)


def test_a_staff_change_shows_at_once_to_visitors(app, staff_client, meeting):
    visitor = app.test_client()
    assert "Inscriptions ouvertes" in seats(visitor, meeting)
    assert "Inscriptions ouvertes" in page(visitor)
    assert "Cette séance est annulée" not in visitor.get(f"/seances/{meeting.slug}").get_data(
        as_text=True
    )
    cancel = {"reason": "Salle indisponible", "confirmer": "1"}
    assert staff_client.post(f"/admin/seances/{meeting.id}/annuler", data=cancel).status_code == 303
    assert "Séance annulée" in seats(visitor, meeting)
    assert "Séance annulée" in page(visitor)
    assert "Cette séance est annulée" in visitor.get(f"/seances/{meeting.slug}").get_data(
        as_text=True
    )


def test_a_change_made_by_another_process_shows_within_the_delay(app, client, db_url, meeting):
    assert app.config["IREV_CACHE_SECONDS"] == 1.0
    assert french("2 places restantes sur 2") in page(client)
    assert french("2 places restantes sur 2") in seats(client, meeting)
    other_process_update(db_url, meeting, seats_taken=1)
    # Nothing committed here: what was read is trusted until the delay has passed ...
    with freeze_time(utcnow() + timedelta(seconds=2)):
        # ... after which the version is read again and the change shows.
        assert french("1 place restante sur 2") in page(client)
        assert french("1 place restante sur 2") in seats(client, meeting)


@pytest.mark.parametrize("app_config", [{"IREV_CACHE_SECONDS": 0}])
def test_with_no_delay_every_request_asks_the_database(client, db_url, meeting):
    assert french("2 places restantes sur 2") in page(client)
    assert french("2 places restantes sur 2") in seats(client, meeting)
    other_process_update(db_url, meeting, seats_taken=1)
    assert french("1 place restante sur 2") in page(client)
    assert french("1 place restante sur 2") in seats(client, meeting)


def test_a_commit_in_another_worker_shows_at_once(app, client, meeting):
    """Gunicorn forks its workers from the master: a commit in one is seen by all at once."""
    clock = freeze_time(utcnow())  # a stopped clock: only the shared counter can tell
    clock.start()
    assert french("2 places restantes sur 2") in page(client)

    def other_worker() -> None:
        for engine in db.engines.values():
            engine.dispose(close=False)  # as deploy/gunicorn.conf.py's post_fork does
        found = db.session.get(Meeting, meeting.id)
        found.seats_taken = 1
        db.session.commit()
        os._exit(0)

    process = multiprocessing.get_context("fork").Process(target=other_worker)
    process.start()
    process.join(30)
    assert process.exitcode == 0
    db.session.rollback()  # this test's session: see the other worker's commit
    try:
        assert french("1 place restante sur 2") in page(client)
    finally:
        clock.stop()


def test_the_programme_page_reads_the_waiting_lists_in_one_statement(
    app, client, create_programme, create_meeting, create_registration
):
    programme = create_programme(year=2099)

    def full_meeting(days: int) -> None:
        found = create_meeting(
            programme=programme, capacity=1, starts_at=utcnow() + timedelta(days=days)
        )
        create_registration(meeting=found)
        create_registration(meeting=found, state=RegistrationState.WAITING)

    def statements_of_a_render() -> int:
        db.session.commit()
        page_cache.pages().clear()
        counted = []
        listener = lambda *args: counted.append(args[2])  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert french("1 personne est sur la liste d'attente") in page(client)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(counted)

    full_meeting(10)
    one = statements_of_a_render()
    for days in (11, 12, 13):
        full_meeting(days)
    assert statements_of_a_render() == one


def test_data_cache_in_services_knows_nothing_of_the_web() -> None:
    """irev.services.cache imports neither request/session/current_user nor the WSGI layer."""
    import ast
    from pathlib import Path

    source = Path(cache.__file__).read_text(encoding="utf-8")
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            imported |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
    web = {"flask.request", "flask.session", "flask_login.current_user"}
    assert not imported & web
    assert not [name for name in imported if "response_cache" in name or "page_cache" in name]
