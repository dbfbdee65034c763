"""Form of the accessibility plan page (multi-year plan and this year's action plan)."""

from __future__ import annotations

from wtforms import TextAreaField
from wtforms.validators import ValidationError

from irev.admin.forms import (
    DateField,
    IntegerField,
    StaffForm,
    _max,
    _required,
    within_date_range,
)
from irev.services.accessibility_plan import MAX_TEXT


def year_range(form, field) -> None:
    """Refuse a year outside 2000-2100 (not NumberRange: its min/max would make the text
    input invalid HTML, and the field is a text input so a typo is shown as typed)."""
    if field.data is not None and not 2000 <= field.data <= 2100:
        raise ValidationError("Saisissez une année entre 2000 et 2100.")


def _year(label: str, message: str) -> IntegerField:
    """Return a required year field."""
    return IntegerField(label, validators=[_required(message), year_range])


class AccessibilityPlanForm(StaffForm):
    """The multi-year plan (three years at most) and this year's actions, as text."""

    first_year = _year("Première année du schéma", "Saisissez la première année, par exemple 2027.")
    last_year = _year("Dernière année du schéma", "Saisissez la dernière année, par exemple 2029.")
    schema_text = TextAreaField(
        "Texte du schéma pluriannuel",
        validators=[_required("Saisissez le texte du schéma."), _max(MAX_TEXT)],
    )
    actions_year = _year("Année du plan d’actions", "Saisissez l’année du plan d’actions.")
    actions_text = TextAreaField(
        "Actions de l’année",
        validators=[_required("Saisissez les actions de l’année."), _max(MAX_TEXT)],
    )
    adopted_on = DateField(
        "Date d’adoption",
        validators=[
            _required("Saisissez la date d’adoption, par exemple 01/12/2026."),
            within_date_range,
        ],
    )
