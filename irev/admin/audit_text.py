"""The audit log in French: each stored row told as a sentence, with its people and meetings.

Rows keep what their writers stored (a dotted action, object type and id, raw before/after
values); this module reads them at display time, so every writer, old or new, shows without
change there. Known actions get a sentence; an unknown one still gets a French line naming the
object. States, statuses and fields get their French names; request keys and tokens are never
shown (they are live secrets, valid for days).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from irev.admin.email_labels import STATUS_LABELS as EMAIL_STATUS_LABELS
from irev.dates import date_time
from irev.extensions import db
from irev.models import AuditEvent, Meeting, Person, Programme, Registration

#: What each action did, said of its object (the object's name follows, or the person's).
REGISTRATION_VERBS: dict[str, str] = {
    "registration.confirm": "Inscription confirmée",
    "registration.approve": "Inscription validée",
    "registration.reject": "Inscription refusée",
    "registration.cancel": "Inscription annulée",
    "registration.promote": "Place attribuée depuis la liste d’attente",
    "registration.reconfirm": "Présence confirmée par la personne (séance complète)",
    "registration.attendance": "Présence mise à jour",
    "attendance.match": "Participant du rapport de Zoom rapproché à la main",
    "question.ask": "Question pour l’intervenant posée",
    "question.update": "Question pour l’intervenant modifiée",
    "question.withdraw": "Question pour l’intervenant retirée",
}
PERSON_VERBS: dict[str, str] = {
    "registration.request": "Demande d’inscription envoyée",
    "person.update": "Coordonnées modifiées par la personne",
    "person.correct": "Coordonnées corrigées",
    "person.erase": "Données personnelles effacées",
    "person.export": "Données personnelles exportées",
    "attestation.issue": "Attestation de participation délivrée",
}
MEETING_VERBS: dict[str, str] = {
    "meeting.create": "Séance créée",
    "meeting.update": "Séance modifiée",
    "meeting.publish": "Séance publiée",
    "meeting.unpublish": "Séance dépubliée (repassée en brouillon)",
    "meeting.cancel": "Séance annulée",
    "attendance.import": "Rapport des participants de Zoom importé",
    "attendance.unmatch": "Rapprochement d’un participant du rapport de Zoom annulé",
    "export.csv": "Inscriptions exportées (CSV)",
    "export.xlsx": "Inscriptions exportées (tableur)",
    "resource.add": "Support ajouté à la séance",
    "resource.remove": "Support retiré de la séance",
    "replay.set": "Lien du replay enregistré",
    "replay.remove": "Lien du replay retiré",
    "followup.send": "Messages de suivi envoyés après la séance",
    "question.keep": "Question pour l’intervenant retenue",
    "question.merge": "Question pour l’intervenant fusionnée",
    "question.answer": "Question pour l’intervenant marquée comme répondue",
    "question.reopen": "Question pour l’intervenant remise en nouvelle",
    "question.export": "Questions pour l’intervenant exportées (tableur)",
}
OTHER_VERBS: dict[str, str] = {
    "programme.update": "Programme modifié",
    "cycle.create": "Cycle créé",
    "cycle.duplicate": "Cycle créé par duplication",
    "cycle.publish": "Cycle publié",
    "cycle.unpublish": "Cycle retiré du site",
    "email.send_again": "E-mail renvoyé",
    "settings.update": "Réglages modifiés (mentions légales, données personnelles)",
    "staff.create": "Compte de l’équipe créé",
    "staff.disable": "Compte de l’équipe désactivé",
    "staff.invite": "Collègue invité·e dans l’équipe",
    "staff.invite_again": "Invitation envoyée de nouveau",
    "staff.invitation_accept": "Invitation acceptée : mot de passe choisi",
    "staff.reset_request": "Nouveau mot de passe demandé (lien envoyé par e-mail)",
    "staff.password_reset": "Mot de passe changé depuis le lien reçu par e-mail",
    "registration.purge": "Demandes non confirmées effacées (automatique)",
    "gdpr.purge": "Données personnelles effacées à la fin de leur durée de conservation",
    "questionnaire.export": "Résultats du questionnaire de satisfaction exportés (tableur)",
    "accessibility_plan.update": "Schéma pluriannuel ou plan d’actions d’accessibilité modifié",
}
ACTION_LABELS: dict[str, str] = {
    **REGISTRATION_VERBS,
    **PERSON_VERBS,
    **MEETING_VERBS,
    **OTHER_VERBS,
}

#: French names of the object types, for the filter and for unknown actions.
OBJECT_LABELS: dict[str, str] = {
    "registration": "Inscription",
    "person": "Personne",
    "meeting": "Séance",
    "programme": "Programme",
    "outboundemail": "E-mail",
    "staffuser": "Compte de l’équipe",
    "accessibilityplan": "Plan d’accessibilité",
}

#: French names of the stored fields (a field missing here is shown under its stored name).
FIELD_LABELS: dict[str, str] = {
    "state": "État",
    "reason": "Motif",
    "attended": "Présence",
    "status": "Statut",
    "title": "Titre",
    "topic_announced": "Sujet annoncé",
    "starts_at": "Début",
    "ends_at": "Fin",
    "mode": "Format",
    "address": "Adresse",
    "description": "Description",
    "speakers": "Intervenants",
    "partners": "Partenaires",
    "capacity": "Places",
    "approval_mode": "Validation des inscriptions",
    "registration_opens_at": "Ouverture des inscriptions",
    "registration_closes_at": "Clôture des inscriptions",
    "video_url": "Lien de visioconférence",
    "video_meeting_id": "Identifiant de visioconférence",
    "video_passcode": "Code de visioconférence",
    "video_dial_in": "Accès par téléphone",
    "audience": "Public",
    "format_line": "Format",
    "introduction": "Présentation",
    "planned_topics": "Sujets prévus",
    "contact_name": "Contact",
    "contact_role": "Fonction du contact",
    "contact_email": "E-mail du contact",
    "contact_phone": "Téléphone du contact",
    "retention_months": "Conservation (mois)",
    "reconfirm_days_before": "Confirmation de présence (jours avant une séance complète)",
    "reconfirmed_at": "Présence confirmée le",
    "first_name": "Prénom",
    "last_name": "Nom",
    "email": "Adresse e-mail",
    "phone": "Téléphone",
    "organisation": "Commune ou structure",
    "mandate": "Mandat",
    "department": "Département",
    "civilite": "Civilité",
    "accessibility_options": "Besoins d’accessibilité cochés",
    "accessibility_needs": "Précisions sur les besoins d’accessibilité",
    "fields": "Champs",
    "cancelled": "Inscriptions annulées",
    "rows": "Lignes exportées",
    "requested": "Séances demandées",
    "already": "Déjà inscrit·e à",
    "registrations": "Inscriptions",
    "people": "Personnes",
    "active": "Actif",
    "role": "Rôle",
    "queued_id": "Nouvel envoi",
    "original_name": "Fichier",
    "size": "Taille (octets)",
    "resource": "Support n°",
    "url": "Lien",
    "present": "Présents prévenus",
    "absent": "Absents prévenus",
    "not_marked": "Présence non renseignée (non prévenus)",
    "attestation_attached": "Attestation jointe",
    "question_id": "Question n°",
    "question_state": "État de la question",
    "merged_into": "Fusionnée dans la question n°",
    "communes": "Avec les communes",
    "first_year": "Première année du schéma",
    "last_year": "Dernière année du schéma",
    "schema_text": "Texte du schéma pluriannuel",
    "actions_year": "Année du plan d’actions",
    "actions_text": "Actions de l’année",
    "adopted_on": "Date d’adoption",
    "IREV_PUBLISHER_ADDRESS": "Adresse postale de l'éditeur",
    "IREV_HOST_NAME": "Nom de l'hébergeur",
    "IREV_HOST_ADDRESS": "Adresse de l'hébergeur",
    "IREV_HOST_PHONE": "Téléphone de l'hébergeur",
    "IREV_DPO_EMAIL": "E-mail du délégué à la protection des données",
}

#: Stored values that are live secrets or mean nothing to staff: never shown.
HIDDEN_FIELDS = frozenset({"request_key", "token", "confirm_url", "manage_url", "cancel_url"})

MEETING_STATUS_LABELS = {"draft": "brouillon", "published": "publiée", "cancelled": "annulée"}


@dataclass(frozen=True)
class Part:
    """A piece of a sentence: plain text, or the name of a person or meeting to link to."""

    text: str
    person_id: int | None = None
    meeting_id: int | None = None


@dataclass
class Change:
    """One stored value, before and after, in French ("" when absent)."""

    label: str
    before: str
    after: str


@dataclass
class EventView:
    """An audit row as staff read it."""

    event: AuditEvent
    actor: list[Part]
    sentence: list[Part]
    changes: list[Change] = field(default_factory=list)


def action_label(action: str) -> str:
    """Return the French name of an action (for the filter list)."""
    return ACTION_LABELS.get(action, f"Autre action ({action})")


def object_label(object_type: str) -> str:
    """Return the French name of an object type (for the filter list)."""
    return OBJECT_LABELS.get(object_type, object_type)


def describe(events: Sequence[AuditEvent]) -> list[EventView]:
    """Return the French view of each event, loading the rows they name in a few queries."""
    known = _Known.load(events)
    return [_describe_one(event, known) for event in events]


@dataclass
class _Known:
    """The people, registrations, meetings and programmes the events name, by id."""

    people: dict[int, Person]
    registrations: dict[int, Registration]
    meetings: dict[int, Meeting]
    programmes: dict[int, Programme]
    meeting_by_slug: dict[str, Meeting]

    @classmethod
    def load(cls, events: Sequence[AuditEvent]) -> _Known:
        """Load what the events refer to."""
        ids: dict[str, set[int]] = {name: set() for name in OBJECT_LABELS}
        slugs: set[str] = set()
        for event in events:
            if event.object_id is not None and event.object_type in ids:
                ids[event.object_type].add(event.object_id)
            if event.actor_type == "person" and event.actor_id is not None:
                ids["person"].add(event.actor_id)
            for key in ("requested", "already"):
                slugs.update(str(s) for s in (event.after or {}).get(key) or [])
        registrations = _by_id(Registration, ids["registration"])
        ids["person"].update(r.person_id for r in registrations.values())
        ids["meeting"].update(r.meeting_id for r in registrations.values())
        by_slug = {}
        if slugs:
            for meeting in db.session.scalars(select(Meeting).where(Meeting.slug.in_(slugs))):
                by_slug[meeting.slug] = meeting
        return cls(
            people=_by_id(Person, ids["person"]),
            registrations=registrations,
            meetings=_by_id(Meeting, ids["meeting"]),
            programmes=_by_id(Programme, ids["programme"]),
            meeting_by_slug=by_slug,
        )


def _by_id(model, ids: Iterable[int]) -> dict[int, Any]:
    """Return the rows of model with these ids, by id."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(wanted)))}


def _person_part(person: Person | None, missing: str = "une personne effacée") -> Part:
    """Return the person's name, linked to their page (or a plain text if gone)."""
    if person is None:
        return Part(missing)
    return Part(person.full_name or person.email, person_id=person.id)


def _meeting_part(meeting: Meeting | None) -> Part:
    """Return the meeting's title and date, linked to its registrations page."""
    if meeting is None:
        return Part("une séance supprimée")
    return Part(f"« {meeting.title} » du {date_time(meeting.starts_at)}", meeting_id=meeting.id)


def _actor(event: AuditEvent, known: _Known) -> list[Part]:
    """Return who acted: a staff member, the person themself, or the site."""
    if event.actor_type == "staff":
        return [Part(event.actor_label or "un membre de l’équipe")]
    if event.actor_type == "person":
        return [_person_part(known.people.get(event.actor_id or -1))]
    if event.action == "registration.request":  # stored without actor: the public form
        return [_person_part(known.people.get(event.object_id or -1)), Part(" (formulaire)")]
    return [Part("Le site (automatique)")]


def _describe_one(event: AuditEvent, known: _Known) -> EventView:
    """Return the sentence and the changes of one event."""
    action, oid = event.action, event.object_id or -1
    after = event.after or {}
    sentence: list[Part]
    if event.object_type == "registration":
        registration = known.registrations.get(oid)
        verb = REGISTRATION_VERBS.get(action, "Inscription modifiée")
        if registration is None:
            sentence = [Part(f"{verb} (inscription supprimée depuis)")]
        else:
            sentence = [
                Part(f"{verb} : "),
                _person_part(known.people.get(registration.person_id)),
                Part(", "),
                _meeting_part(known.meetings.get(registration.meeting_id)),
            ]
    elif event.object_type == "person":
        verb = PERSON_VERBS.get(action, "Fiche modifiée")
        sentence = [Part(f"{verb} : "), _person_part(known.people.get(oid))]
        if action == "registration.request":
            sentence += _meeting_list(" pour ", after.get("requested"), known)
            sentence += _meeting_list(" ; déjà inscrit·e à ", after.get("already"), known)
    elif event.object_type == "meeting":
        verb = MEETING_VERBS.get(action, "Séance modifiée")
        sentence = [Part(f"{verb} : "), _meeting_part(known.meetings.get(oid))]
    elif event.object_type == "programme":
        programme = known.programmes.get(oid)
        verb = ACTION_LABELS.get(action, "Programme modifié")
        sentence = [Part(f"{verb} : « {programme.title} »" if programme else verb)]
    elif action in ACTION_LABELS:
        sentence = [Part(ACTION_LABELS[action])]
    else:
        what = OBJECT_LABELS.get(event.object_type, event.object_type or "le site")
        sentence = [Part(f"Autre action ({action}) : {what}")]
    return EventView(
        event=event,
        actor=_actor(event, known),
        sentence=sentence,
        changes=_changes(event, known),
    )


def _meeting_list(prefix: str, slugs: Any, known: _Known) -> list[Part]:
    """Return prefix and the linked meetings named by their slugs (nothing if none)."""
    if not slugs:
        return []
    parts = [Part(prefix)]
    for position, slug in enumerate(slugs):
        if position:
            parts.append(Part(", "))
        meeting = known.meeting_by_slug.get(str(slug))
        parts.append(_meeting_part(meeting) if meeting else Part(f"« {slug} »"))
    return parts


def _changes(event: AuditEvent, known: _Known) -> list[Change]:
    """Return the stored values, before and after, in French, secrets left out."""
    before, after = event.before or {}, event.after or {}
    if event.action == "registration.request":
        after = {}  # told in the sentence; the request key stays out
    changes = []
    for key in [*before, *(k for k in after if k not in before)]:
        if key in HIDDEN_FIELDS or key.endswith(("_key", "_token")):
            continue
        old, new = _value(key, before.get(key)), _value(key, after.get(key))
        if old or new:
            changes.append(Change(FIELD_LABELS.get(key, key), old, new))
    return changes


def _value(key: str, value: Any) -> str:
    """Return a stored value in French ("" for none)."""
    from irev.services.moderation import STATE_LABELS

    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if key == "state":
        labels = {state.value: label for state, label in STATE_LABELS.items()}
        return labels.get(str(value), str(value))
    if key == "status":
        text = str(value)
        return MEETING_STATUS_LABELS.get(text) or EMAIL_STATUS_LABELS.get(text, text)
    if key == "question_state":
        from irev.models.feedback import QUESTION_STATE_LABELS, QuestionState

        return (
            QUESTION_STATE_LABELS.get(QuestionState(value), str(value))
            if value in set(QuestionState)
            else str(value)
        )
    if key == "queued_id":
        return f"e-mail n° {value}"
    if key == "role":
        from irev.models.staff import ROLE_LABELS, StaffRole

        return ROLE_LABELS.get(StaffRole(value), str(value)) if value in set(StaffRole) else value
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, str) and key.endswith("_at"):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return date_time(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return str(value)
