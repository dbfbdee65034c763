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
from flask import render_template, request
from flask_login import login_user
from jinja2 import ChoiceLoader, FileSystemLoader

from irev.admin.common import fragment
from irev.admin.forms import EmptyForm, ReasonForm
from irev.extensions import db
from irev.models import (
    ApprovalMode,
    AssistantLink,
    Meeting,
    RegistrationState,
    StaffUser,
    utcnow,
)
from irev.services import moderation
from irev.services.moderation import STATE_LABELS, RegistrationFilters

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
