"""The staff list of registrations, rendered the fast way, is the page it was.

The reference is the list as it was rendered before the speed work: its templates are kept
under tests/reference_templates/ and rendered here with the route's former context (one
url_for per link, the whole waiting list read, nothing kept). Every case compares the bytes the
route serves now with the reference's, CSRF tokens aside (each render makes its own); the tokens
and the kept rows are checked apart.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import g, render_template, request
from flask_login import login_user
from freezegun import freeze_time
from jinja2 import ChoiceLoader, FileSystemLoader

from irev.admin.common import fragment
from irev.admin.forms import EmptyForm, ReasonForm
from irev.admin.kept_rows import kept_rows
from irev.extensions import db
from irev.models import (
    ApprovalMode,
    AssistantLink,
    Meeting,
    Person,
    RegistrationState,
    StaffRole,
    StaffUser,
    utcnow,
)
from irev.services import moderation
from irev.services.moderation import STATE_LABELS, RegistrationFilters
from tests.admin_helpers import create_staff, csrf_token, sign_in
from tests.sql_counting import counted

S = RegistrationState
REFERENCE = Path(__file__).with_name("reference_templates")
_TOKENS = re.compile(r'(name="csrf_token" value=")[^"]+|("X-CSRFToken": ")[^"]+')


def _without_tokens(html: str) -> str:
    """Return html with every CSRF token replaced by the same mark."""
    return _TOKENS.sub(lambda m: (m.group(1) or m.group(2)) + "<jeton>", html)


def reference_page(app, path: str, *, htmx: bool = False) -> str:
    """Render path the way the list route did before the speed work."""
    headers = {"HX-Request": "true", "HX-Target": "resultats"} if htmx else {}
    loader = app.jinja_env.loader
    app.jinja_env.loader = ChoiceLoader([FileSystemLoader(REFERENCE), loader])
    try:
        with app.test_request_context(path, headers=headers, base_url="https://localhost"):
            login_user(db.session.scalars(db.select(StaffUser)).first())
            meeting = db.session.get(Meeting, request.view_args["meeting_id"])
            counters = moderation.meeting_counters(meeting)
            filters = RegistrationFilters.from_args(request.args)
            page = moderation.list_registrations(meeting, filters)
            context = dict(
                meeting=meeting,
                counters=counters,
                filters=filters,
                page=page,
                form=EmptyForm(),
                reason_form=ReasonForm(),
                labels=STATE_LABELS,
                mandates=moderation.mandate_choices(),
                departments=moderation.department_choices(),
            )
            if htmx:
                noun = "inscription trouvée" if page.total == 1 else "inscriptions trouvées"
                response = fragment(
                    "admin/_registrations_results.html",
                    announce=f"{page.total} {noun}.",
                    **context,
                )
                return response.get_data(as_text=True)
            return render_template("admin/registrations.html", **context)
    finally:
        app.jinja_env.loader = loader


@pytest.fixture
def varied(create_meeting, create_person, create_registration):
    """A moderated meeting holding every state, assistants, long names, two pages of rows."""
    meeting = create_meeting(approval_mode=ApprovalMode.MODERATED, capacity=30)
    now = utcnow()
    states = [S.REQUESTED, S.SEATED, S.PENDING_APPROVAL, S.WAITING, S.REJECTED]
    states += [S.CANCELLED_BY_PERSON, S.CANCELLED_BY_ORGANISER]
    departments = ["Nord", "Aisne", "Oise", "Pas-de-Calais", "Somme"]
    for n in range(75):
        person = create_person(
            first_name="Marie-Ève" if n % 3 else "Jean",
            last_name=f"D'Artagnan-Longuenesse{n}" if n % 7 == 0 else f"Élu{n:03d}",
            organisation=f"Commune n° {n} « Les Près »",
            mandate=["maire", "adjoint", "conseiller_municipal"][n % 3],
            department=departments[n % 5],
            commune_code="59512" if n % 4 == 0 else "",
            epci_siren="245900410" if n % 6 == 0 else "",
            department_code="59" if n % 4 == 0 else "",
            accessibility_options="sous_titrage,lsf" if n % 9 == 0 else "",
            accessibility_needs="Boucle magnétique & <b>gros caractères</b>" if n % 10 == 0 else "",
        )
        state = states[n % len(states)]
        create_registration(
            meeting=meeting,
            person=person,
            state=state,
            requested_at=now - timedelta(days=n, minutes=7 * n),
            state_changed_at=now - timedelta(hours=n),
            source="equipe" if n % 8 == 0 else "formulaire",
            reconfirmed_at=now if state is S.SEATED and n % 2 else None,
        )
        if n % 11 == 0:
            assistant = create_person(first_name="Sam", last_name=f"Assistant{n}")
            db.session.add(AssistantLink(assistant=assistant, official=person))
    db.session.commit()
    return meeting


def _paths(meeting_id: int) -> list[str]:
    base = f"/admin/seances/{meeting_id}/inscriptions"
    return [
        base,
        base + "?page=2",
        base + "?page=9",
        base + "?etat=waiting",
        base + "?etat=pending_approval",
        base + "?etat=seated&departement=Nord",
        base + "?mandat=adjoint&q=marie",
        base + "?q=artagnan",
        base + "?q=personne-inconnue",
    ]


def test_the_list_is_the_page_it_was(app, staff_client, varied):
    for path in _paths(varied.id):
        served = staff_client.get(path)
        assert served.status_code == 200
        expected = _without_tokens(reference_page(app, path))
        assert _without_tokens(served.get_data(as_text=True)) == expected, path


def test_the_htmx_results_are_the_fragment_they_were(app, staff_client, varied):
    headers = {"HX-Request": "true", "HX-Target": "resultats"}
    for path in _paths(varied.id):
        served = staff_client.get(path, headers=headers)
        expected = _without_tokens(reference_page(app, path, htmx=True))
        assert _without_tokens(served.get_data(as_text=True)) == expected, path


def test_a_past_meeting_lists_no_cancellation(app, staff_client, varied):
    varied.starts_at = utcnow() - timedelta(hours=1)
    varied.ends_at = utcnow() + timedelta(hours=1)
    db.session.commit()
    path = f"/admin/seances/{varied.id}/inscriptions"
    html = staff_client.get(path).get_data(as_text=True)
    assert "/annuler?" not in html
    assert _without_tokens(html) == _without_tokens(reference_page(app, path))


def reference_row(app, registration_id: int, path: str, message: str) -> str:
    """Render the row an htmx action answers with, the way the route did before."""
    from irev.models import Registration

    loader = app.jinja_env.loader
    app.jinja_env.loader = ChoiceLoader([FileSystemLoader(REFERENCE), loader])
    try:
        with app.test_request_context(path, method="POST", base_url="https://localhost"):
            login_user(db.session.scalars(db.select(StaffUser)).first())
            registration = db.session.get(Registration, registration_id)
            response = fragment(
                "admin/_registration_row.html",
                announce=message,
                registration=registration,
                labels=STATE_LABELS,
                positions=moderation.waiting_positions(registration.meeting),
                focus=True,
                form=EmptyForm(),
            )
            return response.get_data(as_text=True)
    finally:
        app.jinja_env.loader = loader


@pytest.mark.parametrize(
    ("state", "action", "message"),
    [
        (S.PENDING_APPROVAL, "valider", "Inscription de {name} validée."),
        (S.WAITING, "placer", "{name} a reçu une place."),
    ],
)
def test_the_row_an_action_answers_with_is_the_row_it_was(
    app, staff_client, varied, state, action, message
):
    from irev.models import Registration

    registration = db.session.scalars(
        db.select(Registration).filter_by(meeting_id=varied.id, state=state)
    ).first()
    name = registration.person.full_name
    path = f"/admin/inscriptions/{registration.id}/{action}"
    served = staff_client.post(path, headers={"HX-Request": "true"})
    assert served.status_code == 200
    db.session.expire_all()
    expected = reference_row(app, registration.id, path, message.format(name=name))
    assert _without_tokens(served.get_data(as_text=True)) == _without_tokens(expected)


# --- The rows kept between requests (irev.admin.kept_rows) --------------------------------------


def _rows(html: str) -> str:
    """Return the table body of a list page."""
    return html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def test_kept_rows_are_served_again_and_follow_every_commit(staff_client, varied):
    path = f"/admin/seances/{varied.id}/inscriptions"
    with counted() as cold:
        first = staff_client.get(path).get_data(as_text=True)
    with counted() as warm:
        again = staff_client.get(path).get_data(as_text=True)
    assert _without_tokens(again) == _without_tokens(first)
    # The rows, their count, their waiting positions and their assistants: not read again.
    assert len(warm) <= len(cold) - 4
    assert not [s for s in warm if "person" in s or "assistant_link" in s]

    from irev.models import Registration

    registration = db.session.scalars(
        db.select(Registration).filter_by(meeting_id=varied.id, state=S.PENDING_APPROVAL)
    ).first()
    registration.person.first_name = "Renommée"
    db.session.commit()
    assert "Renommée" in _rows(staff_client.get(path).get_data(as_text=True))

    assert f'formaction="/admin/inscriptions/{registration.id}/valider"' in _rows(
        staff_client.get(path).get_data(as_text=True)
    )
    before = staff_client.get(path).get_data(as_text=True)
    assert "<strong>11</strong> à valider" in before
    approve = staff_client.post(f"/admin/inscriptions/{registration.id}/valider")
    assert approve.status_code == 303
    after = staff_client.get(path).get_data(as_text=True)
    assert f'formaction="/admin/inscriptions/{registration.id}/valider"' not in _rows(after)
    assert "<strong>10</strong> à valider" in after  # the kept meeting head follows too


def test_a_meeting_that_is_not_there_is_a_404_and_nothing_is_kept(staff_client, varied):
    missing = f"/admin/seances/{varied.id + 1000}/inscriptions"
    assert staff_client.get(missing).status_code == 404
    assert staff_client.get(missing, headers={"HX-Request": "true"}).status_code == 404
    assert ("meeting", varied.id + 1000) not in kept_rows()._entries


def test_a_change_made_elsewhere_shows_within_the_delay(app, staff_client, varied, db_url):
    path = f"/admin/seances/{varied.id}/inscriptions"
    assert "ÉLU001" in _rows(staff_client.get(path).get_data(as_text=True))
    db.session.rollback()  # the test shares the requests' session: let the other one write
    engine = sa.create_engine(db_url)
    with engine.begin() as connection:  # as psql or the mail worker would: no commit seen here
        connection.execute(
            sa.update(Person).where(Person.last_name == "Élu001").values(last_name="Ailleurs")
        )
    engine.dispose()
    db.session.rollback()
    with freeze_time(utcnow() + timedelta(seconds=2)):
        rows = _rows(staff_client.get(path).get_data(as_text=True))
    assert "AILLEURS" in rows and "ÉLU001" not in rows


def test_the_kept_rows_hold_nothing_of_the_visitor(app, varied):
    create_staff("admin@irev.fr", role=StaffRole.ADMIN)
    create_staff("moderation@irev.fr", role=StaffRole.MODERATION)
    path = f"/admin/seances/{varied.id}/inscriptions"
    pages = {}
    for email in ("admin@irev.fr", "moderation@irev.fr"):
        for left_by_the_last_visitor in ("csrf_token", "_login_user"):
            g.pop(left_by_the_last_visitor, None)
        client = app.test_client()
        assert sign_in(client, email).status_code == 303
        pages[email] = client.get(path).get_data(as_text=True)
    admin_page, moderator_page = pages.values()
    assert "connecté·e en tant que admin@irev.fr" in admin_page
    assert "connecté·e en tant que moderation@irev.fr" in moderator_page
    assert _rows(admin_page) == _rows(moderator_page)  # the same kept rows, for both roles
    tokens = [csrf_token(page) for page in (admin_page, moderator_page)]
    assert tokens[0] and tokens[1] and tokens[0] != tokens[1]
    kept = [value for _, value in kept_rows()._entries.values()]
    assert {type(value).__name__ for value in kept} == {"RowsPage", "MeetingHead", "tuple"}
    pieces = [value.rows_html for value in kept if hasattr(value, "rows_html")]
    pieces += [value[1] for value in kept if isinstance(value, tuple)]  # the page's head
    assert len(pieces) == 2
    for html in pieces:
        assert "csrf" not in html.lower()
        assert not any(token in html for token in tokens)
        assert "admin@irev.fr" not in html and "moderation@irev.fr" not in html


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_a_row_action_needs_the_visitors_own_token(app, varied):
    from irev.models import Registration

    registration = db.session.scalars(
        db.select(Registration).filter_by(meeting_id=varied.id, state=S.PENDING_APPROVAL)
    ).first()
    path = f"/admin/seances/{varied.id}/inscriptions"
    create_staff()
    client = app.test_client()
    assert sign_in(client).status_code == 303
    html = client.get(path).get_data(as_text=True)
    action = f"/admin/inscriptions/{registration.id}/valider"
    assert f'formaction="{action}"' in _rows(html)
    refused = client.post(action, data={"csrf_token": "not-the-token"})
    db.session.expire_all()
    assert refused.status_code == 400 and registration.state is S.PENDING_APPROVAL
    assert client.post(action, data={"csrf_token": csrf_token(html)}).status_code == 303
    db.session.expire_all()
    assert registration.state is not S.PENDING_APPROVAL
