"""French names of the kinds and states of e-mail, for the staff's e-mail log."""

from __future__ import annotations

from irev.admin import bp

#: What each kind of message is, as staff say it (a pending message has no subject yet).
KIND_LABELS: dict[str, str] = {
    "request_to_registrant": "Lien de confirmation d’inscription",
    "already_registered_to_registrant": "Rappel : déjà inscrit·e",
    "seated_to_registrant": "Place réservée",
    "summary_to_registrant": "Récapitulatif de plusieurs inscriptions",
    "pending_to_registrant": "Inscription en attente de validation",
    "waiting_to_registrant": "Inscription sur liste d’attente",
    "promoted_to_registrant": "Place libérée (sortie de la liste d’attente)",
    "cancelled_to_registrant": "Annulation par la personne",
    "approved_to_registrant": "Inscription validée",
    "rejected_to_registrant": "Inscription refusée",
    "cancelled_by_organiser_to_registrant": "Annulation par l’IREV",
    "video_link_to_registrant": "Lien de visioconférence",
    "reconfirm_to_registrant": "Séance complète : présence à confirmer",
    "meeting_changed_to_registrant": "Séance modifiée",
    "meeting_cancelled_to_registrant": "Séance annulée",
    "details_changed_to_registrant": "Coordonnées modifiées",
    "followup_attended_to_registrant": "Après la séance : merci (présent·e)",
    "followup_absent_to_registrant": "Après la séance : nous vous avons manqué (absent·e)",
    "assistant_confirmed_to_registrant": "Inscription confirmée par l’assistant·e",
    "new_request_to_staff": "Notification à l’équipe : inscription à valider",
    "invitation_to_staff": "Invitation à l’espace équipe",
    "password_reset_to_staff": "Espace équipe : nouveau mot de passe",
}


#: French names of the e-mail states (unknown ones are shown as stored).
STATUS_LABELS: dict[str, str] = {
    "pending": "En attente",
    "sent": "Envoyé",
    "failed": "Échec",
    "skipped": "Non envoyé (plus d'actualité)",
}


@bp.app_template_filter("email_kind")
def email_kind_label(kind: str) -> str:
    """Return the French name of a kind of e-mail (the technical name if it is unknown)."""
    return KIND_LABELS.get(kind, kind)


@bp.app_template_filter("email_status")
def email_status_label(status) -> str:
    """Return the French name of an e-mail state (an EmailStatus or its value)."""
    value = getattr(status, "value", status)
    return STATUS_LABELS.get(value, value)
