"""The optional « question for the speaker » field, shared by the form and the self-service page."""

from __future__ import annotations

import unicodedata

from wtforms import TextAreaField
from wtforms.validators import ValidationError

from irev.services.speaker_questions import QUESTION_MAX

QUESTION_LABEL = "Une question pour l’intervenant ou l’intervenante ?"


def check_question(form, field) -> None:
    """Refuse control characters (NUL: PostgreSQL refuses it) and questions past the maximum."""
    text = field.data or ""
    if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in text):
        raise ValidationError("Votre question contient des caractères non autorisés : retirez-les.")
    if len(text) > QUESTION_MAX:
        raise ValidationError(
            f"Votre question fait {len(text)} caractères : elle doit en faire 1 000 au plus."
        )


def question_field(label: str = f"{QUESTION_LABEL} (facultatif)") -> TextAreaField:
    """Return the question field (stripped, checked; empty allowed)."""
    return TextAreaField(
        label,
        filters=[lambda v: v.strip() if isinstance(v, str) else ""],
        validators=[check_question],
    )
