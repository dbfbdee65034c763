"""The export of everything held on a person (GDPR access request, article 15), as JSON data.

Staff download it from the person's page (/admin/personnes/<id>/export.json). It holds the
person, their assistants and officials, registrations, questions to the speaker, the fact of
having answered a questionnaire (never the answers: they are kept without any link to anyone),
the e-mails with their exact bytes, and the audit events about them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_

from irev.extensions import db
from irev.models import AuditEvent, OutboundEmail, Person, Registration, utcnow
from irev.services import assistants, questionnaire, speaker_questions
from irev.services.reference import split_needs


def export(person: Person) -> dict[str, Any]:
    """Return everything held about a person, as JSON-ready data (access request, art. 15)."""
    registrations = db.session.scalars(
        db.select(Registration)
        .where(Registration.person_id == person.id)
        .order_by(Registration.requested_at)
    ).all()
    emails = db.session.scalars(
        db.select(OutboundEmail)
        .where(
            or_(
                OutboundEmail.person_id == person.id,
                OutboundEmail.registration_id.in_([r.id for r in registrations]),
                OutboundEmail.to_address == person.email,  # copies received as an assistant
            )
        )
        .order_by(OutboundEmail.id)
    ).all()
    events = db.session.scalars(
        db.select(AuditEvent)
        .where(
            or_(
                and_(AuditEvent.object_type == "person", AuditEvent.object_id == person.id),
                and_(AuditEvent.actor_type == "person", AuditEvent.actor_id == person.id),
                and_(
                    AuditEvent.object_type == "registration",
                    AuditEvent.object_id.in_([r.id for r in registrations]),
                ),
            )
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    return {
        "exporte_le": utcnow().isoformat(),
        "responsable": "IREV – Institut régional de la ville",
        "personne": {
            "id": person.id,
            "civilite": person.civilite,
            "prenom": person.first_name,
            "nom": person.last_name,
            "email": person.email,
            "telephone": person.phone,
            "collectivite": person.organisation,
            "mandat": person.mandate,
            "departement": person.department,
            "code_commune_insee": person.commune_code,
            "siren_epci": person.epci_siren,
            "code_departement": person.department_code,
            "besoins_accessibilite_coches": split_needs(person.accessibility_options),
            "besoins_accessibilite": person.accessibility_needs,
            "cree_le": _iso(person.created_at),
            "modifie_le": _iso(person.updated_at),
            "anonymise_le": _iso(person.anonymised_at),
        },
        # Who manages their registrations, and whose they manage (irev.services.assistants).
        "assistants": [
            {
                "nom": link.assistant.full_name,
                "email": link.assistant.email,
                "fonction": link.function,
            }
            for link in assistants.assistants_of(person)
        ],
        "assistant_de": [
            {
                "nom": link.official.full_name,
                "email": link.official.email,
                "fonction": link.function,
            }
            for link in assistants.officials_of(person)
        ],
        "inscriptions": [
            {
                "id": r.id,
                "seance": r.meeting.title,
                "date_seance": _iso(r.meeting.starts_at),
                "programme": r.meeting.programme.title,
                "etat": r.state.value,
                "demandee_le": _iso(r.requested_at),
                "confirmee_le": _iso(r.confirmed_at),
                "etat_depuis": _iso(r.state_changed_at),
                "motif": r.reason,
                "presence": r.attended,
                "origine": r.source,
                "coordonnees_en_attente_de_confirmation": r.submitted_details,
            }
            for r in registrations
        ],
        "questions_intervenant": [
            {
                "id": q.id,
                "seance": q.meeting.title,
                "question": q.text,
                "etat": q.state.value,
                "posee_le": _iso(q.asked_at),
            }
            for q in speaker_questions.of_person(person)
        ],
        # Only the fact of having answered is linked to the person: the answers are kept
        # without any link to anyone, so none can be exported (services.questionnaire).
        "questionnaire_repondu": [
            r.meeting.title for r in registrations if questionnaire.has_answered(r)
        ],
        "emails": [
            {
                "id": e.id,
                "type": e.kind,
                "destinataire": e.to_address,
                "objet": e.subject,
                "etat": e.status.value,
                "cree_le": _iso(e.created_at),
                "envoye_le": _iso(e.sent_at),
                "message": e.raw_message,
            }
            for e in emails
        ],
        "journal": [
            {
                "quand": _iso(e.at),
                "auteur": e.actor_label,
                "action": e.action,
                "objet": f"{e.object_type}:{e.object_id}",
                "avant": e.before,
                "apres": e.after,
            }
            for e in events
        ],
    }


def _iso(moment: datetime | None) -> str | None:
    """Return an ISO 8601 string, or None."""
    return moment.isoformat() if moment else None
