"""Forms of the staff area (Flask-WTF: CSRF on every one).

Every form derives from StaffForm, which gives each text field two rules wherever it is
declared: a field missing from the body (a script, an old page) reads as empty text, never
None, and control characters are refused with a French message (NUL, which PostgreSQL
refuses in text, and the others, which break exports; tabs and line breaks stay allowed in
multi-line fields).
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.meta import DefaultMeta
from wtforms.validators import (
    URL,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import TextArea

from irev.registration.forms import NeedsField
from irev.salutations import CIVILITES
from irev.services.moderation import department_choices, mandate_choices
from irev.services.people import InvalidEmail, normalise_email

#: The dates a meeting or a registration window may take (the calendars need real years).
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)
DATE_RANGE_MESSAGE = "Saisissez une date entre le 1er janvier 2000 et le 31 décembre 2100."


def options(*pairs: tuple[str, str]) -> list[SelectChoice]:
    """Return a field's choices from (value, label) pairs (WTForms 3.4 refuses bare tuples)."""
    return [SelectChoice(value, label) for value, label in pairs]


def empty_if_absent(value):
    """Read a text field missing from the submitted form as empty text."""
    return "" if value is None else value


def no_control_characters(form, field) -> None:
    """Refuse control characters (tab and line breaks only in a multi-line field)."""
    multiline = isinstance(field, TextAreaField)
    allowed = {"\t", "\n", "\r"} if multiline else {"\t"}
    text = field.data if isinstance(field.data, str) else ""
    if not multiline and ("\r" in text or "\n" in text):
        single_line(form, field)  # says why: the value would end up in e-mail headers
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in text):
        raise ValidationError(f"« {field.label.text} » contient un caractère non autorisé.")


def within_date_range(form, field) -> None:
    """Refuse a date outside FIRST_DAY to LAST_DAY (year 1 or 9999 break the calendars)."""
    value = field.data
    day = value.date() if isinstance(value, datetime) else value
    if isinstance(day, date) and not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(DATE_RANGE_MESSAGE)


def deliverable_email(form, field) -> None:
    """Refuse an address the site could not deliver to (see normalise_email)."""
    if field.data:
        try:
            normalise_email(field.data)
        except InvalidEmail as error:
            raise ValidationError(str(error)) from error


class StaffForm(FlaskForm):
    """Base of the staff forms: the text-field rules of the module docstring, in one place."""

    class Meta:
        #: WTForms' own messages ("Not a valid choice") in French, without Flask-Babel.
        locales = ("fr",)

        def get_translations(self, form):
            """Use WTForms' bundled French catalogue (Flask-WTF's needs Flask-Babel)."""
            return DefaultMeta.get_translations(self, form)

        def bind_field(self, form, unbound_field, options):
            """Add empty_if_absent and no_control_characters to every text field."""
            if issubclass(unbound_field.field_class, StringField):
                kwargs = unbound_field.kwargs
                options["filters"] = [*kwargs.get("filters", ()), empty_if_absent]
                options["validators"] = [
                    no_control_characters,
                    *(kwargs.get("validators") or ()),
                ]
            return unbound_field.bind(form=form, **options)


def single_line(form, field) -> None:
    """Refuse line breaks in a one-line field (they would end up in e-mail headers)."""
    if field.data and ("\r" in field.data or "\n" in field.data):
        raise ValidationError(f"« {field.label.text} » doit tenir sur une ligne.")


def joined_lines(value):
    """Join the lines of a title typed in a wrapping text box into one line."""
    return " ".join(value.split()) if isinstance(value, str) else value


def _title_field(label: str, message: str, length: int) -> StringField:
    """Return a one-line title shown in a wrapping box, so a long title stays readable."""
    return StringField(
        label,
        widget=TextArea(),
        filters=[joined_lines],
        validators=[_required(message), _max(length), single_line],
    )


def _required(message: str) -> InputRequired:
    """Return a required-field validator with a French message."""
    return InputRequired(message)


def _max(length: int) -> Length:
    """Return a maximum-length validator with a French message."""
    return Length(max=length, message=f"Saisissez au plus {length} caractères.")


def _french(field_class: type, message: str) -> type:
    """Return a subclass of a WTForms field whose conversion error is message (in French)."""

    def process_formdata(self, valuelist) -> None:
        try:
            field_class.process_formdata(self, valuelist)
        except ValueError as error:
            raise ValueError(message) from error

    return type(
        f"French{field_class.__name__}", (field_class,), {"process_formdata": process_formdata}
    )


IntegerField = _french(IntegerField, "Saisissez un nombre entier, par exemple 80.")
DateField = _french(DateField, "Saisissez une date valide, par exemple 27/03/2030.")
TimeField = _french(TimeField, "Saisissez une heure valide, par exemple 17:00.")
DateTimeLocalField = _french(
    DateTimeLocalField, "Saisissez une date et une heure valides, par exemple 01/02/2030 09:00."
)


class SignInForm(StaffForm):
    """Staff sign-in."""

    email = EmailField(
        "Adresse e-mail", validators=[_required("Saisissez votre adresse e-mail."), _max(254)]
    )
    password = PasswordField(
        "Mot de passe", validators=[_required("Saisissez votre mot de passe."), _max(200)]
    )


class ForgotPasswordForm(StaffForm):
    """« Mot de passe oublié » : the address to send a new-password link to."""

    email = EmailField(
        "Adresse e-mail", validators=[_required("Saisissez votre adresse e-mail."), _max(254)]
    )


class NewPasswordForm(StaffForm):
    """Choose a password from an e-mailed link (invitation or forgotten password)."""

    password = PasswordField(
        "Nouveau mot de passe",
        validators=[_required("Saisissez un mot de passe."), _max(200)],
    )
    confirm = PasswordField(
        "Confirmez le mot de passe",
        validators=[_required("Saisissez le mot de passe une seconde fois."), _max(200)],
    )

    def validate_confirm(self, field) -> None:
        """Refuse two different entries."""
        if field.data != self.password.data:
            raise ValidationError("Les deux mots de passe saisis sont différents.")


class InviteForm(StaffForm):
    """Invite a colleague: address, name and role of the new account."""

    email = EmailField(
        "Adresse e-mail",
        validators=[
            _required("Saisissez l'adresse e-mail de votre collègue."),
            _max(254),
            deliverable_email,
        ],
    )
    display_name = StringField(
        "Nom affiché", validators=[_required("Saisissez le nom de votre collègue."), _max(120)]
    )
    role = RadioField(
        "Rôle",
        choices=options(
            ("moderation", "Modération : inscriptions, séances, e-mails, journal"),
            ("admin", "Administration : en plus, comptes de l'équipe, cycles et réglages"),
        ),
        validators=[_required("Choisissez un rôle.")],
    )


class EmptyForm(StaffForm):
    """A form with only its CSRF token: one-button actions."""


class ReasonForm(StaffForm):
    """Reject or cancel with an optional reason that goes into the e-mail."""

    reason = TextAreaField("Motif", validators=[Optional(), _max(1000)])


class CancelMeetingForm(StaffForm):
    """Cancel a meeting: the reason is required and goes into every cancellation e-mail."""

    reason = TextAreaField(
        "Motif de l'annulation",
        validators=[InputRequired("Saisissez le motif de l'annulation."), _max(1000)],
    )

    def validate_reason(self, field) -> None:
        """Refuse a reason made only of spaces."""
        if not (field.data or "").strip():
            raise ValidationError("Saisissez le motif de l'annulation.")


DATE_TIME_FORMAT = "%Y-%m-%dT%H:%M"


class MeetingForm(StaffForm):
    """Every field of a meeting; dates and times are Paris wall-clock times."""

    title = _title_field("Titre (thème de la séance)", "Saisissez le titre de la séance.", 300)
    topic_announced = BooleanField("Le thème est annoncé (sinon « Thème à venir » est affiché)")
    day = DateField(
        "Date",
        validators=[_required("Saisissez la date de la séance (jj/mm/aaaa)."), within_date_range],
    )
    start = TimeField("Heure de début", validators=[_required("Saisissez l'heure de début.")])
    end = TimeField("Heure de fin", validators=[_required("Saisissez l'heure de fin.")])
    mode = RadioField(
        "Format",
        choices=options(("video", "En visioconférence"), ("on_site", "En présentiel")),
        default="video",
        validators=[_required("Choisissez le format de la séance.")],
    )
    address = StringField("Adresse du lieu", validators=[Optional(), _max(300), single_line])
    description = TextAreaField("Présentation", validators=[Optional(), _max(5000)])
    speakers = TextAreaField("Intervenantes et intervenants", validators=[Optional(), _max(3000)])
    partners = TextAreaField("Partenaires", validators=[Optional(), _max(2000)])
    capacity = IntegerField(
        "Nombre de places",
        validators=[
            _required("Saisissez le nombre de places (un nombre entier)."),
            NumberRange(0, 10000, "Saisissez un nombre de places entre 0 et 10 000."),
        ],
    )
    approval_mode = RadioField(
        "Validation des inscriptions",
        choices=options(
            ("automatic", "Automatique : une place libre est attribuée aussitôt"),
            ("moderated", "Par l'équipe : chaque demande attend une validation"),
        ),
        default="automatic",
        validators=[_required("Choisissez le mode de validation.")],
    )
    registration_opens_at = DateTimeLocalField(
        "Ouverture des inscriptions",
        format=DATE_TIME_FORMAT,
        validators=[Optional(), within_date_range],
    )
    registration_closes_at = DateTimeLocalField(
        "Clôture des inscriptions",
        format=DATE_TIME_FORMAT,
        validators=[Optional(), within_date_range],
    )
    video_url = StringField(
        "Lien de la visioconférence",
        validators=[
            Optional(),
            _max(500),
            single_line,
            URL(message="Saisissez une adresse complète commençant par https://."),
        ],
    )
    video_meeting_id = StringField("ID de réunion", validators=[Optional(), _max(60), single_line])
    video_passcode = StringField("Code secret", validators=[Optional(), _max(60), single_line])
    video_dial_in = StringField(
        "Accès par téléphone", validators=[Optional(), _max(200), single_line]
    )


class ProgrammeForm(StaffForm):
    """The programme's texts, contact person and retention period."""

    title = _title_field("Titre du programme", "Saisissez le titre du programme.", 200)
    audience = StringField("Public", validators=[Optional(), _max(200), single_line])
    format_line = StringField("Format", validators=[Optional(), _max(300), single_line])
    introduction = TextAreaField("Présentation", validators=[Optional(), _max(10000)])
    planned_topics = TextAreaField("Thèmes à venir", validators=[Optional(), _max(5000)])
    contact_name = StringField("Nom du contact", validators=[Optional(), _max(120), single_line])
    contact_role = StringField(
        "Fonction du contact", validators=[Optional(), _max(120), single_line]
    )
    contact_email = EmailField(
        "E-mail du contact",
        validators=[
            Optional(),
            _max(254),
            Email("Saisissez une adresse e-mail valide, par exemple nom@irev.fr."),
            deliverable_email,
        ],
    )
    contact_phone = StringField(
        "Téléphone du contact", validators=[Optional(), _max(40), single_line]
    )
    retention_months = IntegerField(
        "Durée de conservation des données personnelles (en mois)",
        validators=[
            _required("Saisissez une durée en mois."),
            NumberRange(1, 120, "Saisissez une durée entre 1 et 120 mois."),
        ],
    )


class PersonForm(StaffForm):
    """A person's details, as staff take them on the phone or correct them."""

    civilite = SelectField(
        "Civilité",
        choices=options(("", "Non précisée"), *CIVILITES),
        default="",
        validators=[Optional()],
        validate_choice=False,
    )
    first_name = StringField(
        "Prénom", validators=[_required("Saisissez le prénom."), _max(100), single_line]
    )
    last_name = StringField(
        "Nom", validators=[_required("Saisissez le nom."), _max(100), single_line]
    )
    email = EmailField(
        "Adresse e-mail",
        validators=[
            _required("Saisissez l'adresse e-mail."),
            _max(254),
            Email("Saisissez une adresse e-mail valide, par exemple prenom.nom@mairie.fr."),
            deliverable_email,
        ],
    )
    phone = StringField("Téléphone", validators=[Optional(), _max(40), single_line])
    organisation = StringField(
        "Collectivité (commune ou intercommunalité)",
        validators=[_required("Saisissez la collectivité."), _max(200), single_line],
    )
    mandate = SelectField("Mandat", validators=[_required("Choisissez le mandat.")])
    department = SelectField("Département", validators=[_required("Choisissez le département.")])
    accessibility_options = NeedsField("Besoins d’accessibilité")
    accessibility_needs = TextAreaField(
        "Précisions sur les besoins d’accessibilité", validators=[Optional(), _max(1000)]
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.mandate.choices = options(("", "Choisir…"), *mandate_choices())
        self.department.choices = options(("", "Choisir…"), *department_choices())

    def validate_civilite(self, field) -> None:
        """Accept Madame, Monsieur or nothing."""
        if field.data not in ("", *dict(CIVILITES)):
            raise ValidationError("Choisissez une civilité dans la liste.")

    def validate_mandate(self, field) -> None:
        """Refuse the empty placeholder choice."""
        if not field.data:
            raise ValidationError("Choisissez le mandat.")

    def validate_department(self, field) -> None:
        """Refuse the empty placeholder choice."""
        if not field.data:
            raise ValidationError("Choisissez le département.")


class HandRegistrationForm(PersonForm):
    """Staff registering someone who phoned; a known person's details need an explicit choice."""

    known_details = RadioField(
        "Cette personne est déjà connue : que faire de ses coordonnées ?",
        choices=options(
            ("garder", "Garder ses coordonnées enregistrées"),
            (
                "mettre-a-jour",
                "Les mettre à jour avec celles saisies ci-dessus "
                "(un champ laissé vide ne change pas)",
            ),
        ),
        validators=[Optional()],
        validate_choice=False,
    )


class EraseForm(StaffForm):
    """Confirmation before erasing a person's data."""

    confirm = BooleanField(
        "Je confirme l'effacement définitif des données personnelles de cette personne",
        validators=[_required("Cochez la case pour confirmer l'effacement.")],
    )
