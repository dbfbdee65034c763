"""Helpers shared by the registration tests: a valid form, the outbox, links from e-mails."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from irev.extensions import db
from irev.models import (
    ApprovalMode,
    Meeting,
    MeetingStatus,
    OutboundEmail,
    Person,
    Programme,
    Registration,
    RegistrationState,
    utcnow,
)
from tests import factories


def season(capacity: int = 50) -> dict[str, Meeting]:
    """Create the current programme with meetings in every state the form must handle."""
    programme = factories.create_programme(year=2100, title="Saison de test")
    soon = utcnow().replace(microsecond=0) + timedelta(days=10)

    def meeting(key: str, days: int, **values) -> Meeting:
        return factories.create_meeting(
            programme=programme,
            slug=f"seance-{key}",
            title=f"Séance {key}",
            starts_at=soon + timedelta(days=days),
            capacity=values.pop("capacity", capacity),
            **values,
        )

    meetings = {
        "open": meeting("ouverte", 0),
        "second": meeting("seconde", 30),
        "moderated": meeting("moderee", 60, approval_mode=ApprovalMode.MODERATED),
        "closed": meeting("close", 5, registration_closes_at=utcnow() - timedelta(hours=1)),
        "cancelled": meeting("annulee", 6, status=MeetingStatus.CANCELLED),
        "draft": meeting("brouillon", 7, status=MeetingStatus.DRAFT),
        "past": factories.create_meeting(
            programme=programme,
            slug="seance-passee",
            title="Séance passée",
            starts_at=utcnow().replace(microsecond=0) - timedelta(days=3),
        ),
    }
    db.session.commit()
    return meetings


def form_data(*slugs: str, **overrides) -> dict:
    """Return a valid form submission for the given meetings."""
    data = {
        "first_name": "Camille",
        "last_name": "Durand",
        "email": "camille.durand@roubaix.example",
        "phone": "06 12 34 56 78",
        "organisation": "Ville de Roubaix",
        "mandate": "adjoint",
        "department": "Nord",
        "meetings": list(slugs),
        "accessibility_needs": "",
        "data_notice": "y",
        "website": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def emails(kind: str | None = None, to: str | None = None) -> list[OutboundEmail]:
    """Return the queued e-mails, optionally of one kind or to one address, oldest first."""
    query = db.select(OutboundEmail).order_by(OutboundEmail.id)
    if kind:
        query = query.where(OutboundEmail.kind == kind)
    if to:
        query = query.where(OutboundEmail.to_address == to)
    return list(db.session.scalars(query))


def rows(**where) -> list[OutboundEmail]:
    """Return the outbox rows matching where, oldest first."""
    statement = db.select(OutboundEmail).order_by(OutboundEmail.id)
    for name, value in where.items():
        statement = statement.where(getattr(OutboundEmail, name) == value)
    db.session.expire_all()
    return list(db.session.scalars(statement))


def path_of(url: str) -> str:
    """Return the path of an absolute link from an e-mail (the test client wants a path)."""
    return urlsplit(url).path


def confirm_path(to: str = "camille.durand@roubaix.example") -> str:
    """Return the confirmation path of the last request e-mail sent to an address."""
    sent = emails("request_to_registrant", to)
    assert sent, f"no request e-mail to {to}"
    return path_of(sent[-1].context["confirm_url"])


def registrations(state: RegistrationState | None = None) -> list[Registration]:
    """Return every registration, optionally in one state."""
    query = db.select(Registration).order_by(Registration.id)
    if state is not None:
        query = query.where(Registration.state == state)
    return list(db.session.scalars(query))


def counts() -> dict[str, int]:
    """Return how many people, registrations and e-mails exist (to prove nothing was saved)."""
    return {
        "people": db.session.scalar(db.select(db.func.count(Person.id))),
        "registrations": db.session.scalar(db.select(db.func.count(Registration.id))),
        "emails": db.session.scalar(db.select(db.func.count(OutboundEmail.id))),
        "programmes": db.session.scalar(db.select(db.func.count(Programme.id))),
    }


def fresh(obj):
    """Reload a row from the database (the request ran in another session state)."""
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)
