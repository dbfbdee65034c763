"""Reading the links e-mailed to registrants: signature and age first, then the database."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from irev.extensions import db
from irev.models import Person, Registration
from irev.tokens import ExpiredToken, InvalidToken, read_token


@dataclass
class LinkProblem(Exception):
    """An e-mailed link cannot be used; status and French texts for the page that says so."""

    status: int
    title: str
    message: str


def _tampered() -> LinkProblem:
    return LinkProblem(
        400,
        "Lien incorrect",
        "Ce lien est incomplet ou a été modifié. Copiez l’adresse complète depuis le courriel, "
        "ou recommencez votre inscription.",
    )


def _revoked() -> LinkProblem:
    return LinkProblem(
        404,
        "Lien plus valable",
        "Ce lien n’est plus valable. Le dernier courriel que vous avez reçu de l’IREV "
        "contient un lien à jour ; vous pouvez aussi vous inscrire de nouveau.",
    )


def _expired(what: str) -> LinkProblem:
    return LinkProblem(
        410,
        "Lien expiré",
        f"Ce lien {what} a expiré. Recommencez votre inscription : vous recevrez un nouveau "
        "lien par courriel.",
    )


def manage_max_age_days() -> float:
    """Return how long a self-service link works.

    Every e-mail carries one, and people keep them: a link from the first message of the
    season must still work at its last meeting, so it lives longer than the programme (about
    a year) plus a margin. Raising Person.link_version revokes every link at once, and the
    person's data are erased after the retention period anyway.
    """
    return float(current_app.config["IREV_MANAGE_LINK_MAX_AGE_DAYS"])


def read_confirm_link(token: str) -> tuple[str, int]:
    """Return (request key, person id) of a confirmation link, or raise LinkProblem."""
    payload = _read("confirm", token, None, "de confirmation")
    key, person_id = payload.get("k"), payload.get("p")
    if not isinstance(key, str) or not isinstance(person_id, int):
        raise _tampered()
    return key, person_id


def read_manage_link(token: str) -> Person:
    """Return the person of a self-service link, or raise LinkProblem."""
    payload = _read("manage", token, manage_max_age_days(), "de gestion de vos inscriptions")
    person_id, version = payload.get("p"), payload.get("v")
    if not isinstance(person_id, int) or not isinstance(version, int):
        raise _tampered()
    person = db.session.get(Person, person_id)
    if person is None or person.anonymised_at is not None or person.link_version != version:
        raise _revoked()
    return person


def read_cancel_link(token: str) -> Registration:
    """Return the registration named by a cancellation link, or raise LinkProblem."""
    return _registration_of(_read("cancel", token, manage_max_age_days(), "d’annulation"))


def read_reconfirm_link(token: str) -> Registration:
    """Return the registration named by a reconfirmation link, or raise LinkProblem."""
    return _registration_of(
        _read("reconfirm", token, manage_max_age_days(), "de confirmation de présence")
    )


def _registration_of(payload: dict) -> Registration:
    """Return the registration a link's payload names, checked against the database."""
    registration_id, version = payload.get("r"), payload.get("v")
    if not isinstance(registration_id, int):
        raise _tampered()
    # Past 64 bits no row can exist (and the driver refuses the number): not found.
    in_range = 0 < registration_id < 2**63
    registration = db.session.get(Registration, registration_id) if in_range else None
    if registration is None or registration.person.anonymised_at is not None:
        raise LinkProblem(
            404,
            "Inscription introuvable",
            "Cette inscription n’existe plus. Pour vous inscrire de nouveau, utilisez le "
            "formulaire d’inscription.",
        )
    # A link made before links carried the version cannot be checked against a revocation:
    # it is refused like a revoked one (every later e-mail carries a fresh link).
    if not isinstance(version, int) or registration.person.link_version != version:
        raise _revoked()
    return registration


def _read(purpose: str, token: str, max_age_days: float | None, what: str) -> dict:
    """Check signature, purpose and age of a token; translate failures into LinkProblem."""
    if len(token) > 2000:
        raise _tampered()
    try:
        return read_token(purpose, token, max_age_days)
    except ExpiredToken as error:
        raise _expired(what) from error
    except InvalidToken as error:
        raise _tampered() from error


def read_confirming_assistant(token: str, official_id: int) -> Person | None:
    """Return the assistant a confirmation link was sent to (None: the official's own link).

    The assistant's copy names them; it confirms only while they still manage the official.
    """
    from irev.services.assistants import link_between

    assistant_id = _read("confirm", token, None, "de confirmation").get("a")
    if assistant_id is None:
        return None
    if not isinstance(assistant_id, int):
        raise _tampered()
    link = link_between(assistant_id, official_id)
    if link is None or link.assistant.anonymised_at is not None:
        raise _revoked()
    return link.assistant


def read_assistant_link(token: str) -> Person:
    """Return the assistant of a self-service link for assistants, or raise LinkProblem."""
    payload = _read("assistant", token, manage_max_age_days(), "de gestion des inscriptions")
    assistant_id, version = payload.get("a"), payload.get("v")
    if not isinstance(assistant_id, int) or not isinstance(version, int):
        raise _tampered()
    person = db.session.get(Person, assistant_id)
    if person is None or person.anonymised_at is not None or person.link_version != version:
        raise _revoked()
    return person
