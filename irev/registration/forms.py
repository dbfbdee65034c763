"""The registration form: the only truth about what a valid submission is.

The full-page POST, the htmx submit and the htmx check of one field all run this class.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from irev.dates import short_date
from irev.models import Meeting
from irev.registration.question_field import question_field
from irev.salutations import CIVILITE_LABELS, CIVILITES
from irev.services import territories
from irev.services.assistants import FUNCTION_MAX, AssistantDetails
from irev.services.meetings import PublicState, public_state
from irev.services.people import InvalidEmail, PersonDetails, normalise_email
from irev.services.reference import (  # noqa: F401  (MANDATE_LABELS, mandate_label: old path)
    ACCESSIBILITY_NEEDS,
    DEPARTMENTS,
    MANDATE_LABELS,
    MANDATES,
    join_needs,
    mandate_label,
    split_needs,
)

#: Field lengths, matched to the database columns.
NAME_MAX = 100
ORGANISATION_MAX = 200
PHONE_MAX = 40
NEEDS_MAX = 1000

PHONE_PATTERN = re.compile(r"\+?[0-9 .()/-]+")


def strip(value):
    """Trim surrounding whitespace from text input; a field missing from the form reads as ''."""
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else value


def no_control_characters(subject: str, *, multiline: bool = False):
    """Refuse line breaks (header injection) and other control characters in a text field."""
    allowed = {"\n", "\r", "\t"} if multiline else set()

    def check(form, field) -> None:
        text = field.data or ""
        if any(unicodedata.category(c) == "Cc" and c not in allowed for c in text):
            if multiline:
                raise ValidationError(f"{subject} contiennent des caractères non autorisés.")
            raise ValidationError(f"{subject} doit tenir sur une seule ligne.")

    return check


class ErrorListMixin:
    """Errors in page order, for the error summary and the inline check."""

    FIELD_ORDER: tuple[str, ...] = ()

    def ordered_errors(self) -> list[tuple[str, str]]:
        """Return (field name, first message) in page order, for the error summary."""
        return [(name, self[name].errors[0]) for name in self.FIELD_ORDER if self[name].errors]

    def field_error(self, name: str) -> str:
        """Return the first message of one field, or ''."""
        errors = self[name].errors if name in self else []
        return errors[0] if errors else ""


def chosen_from(slugs: Sequence[str] | None, offered: Sequence[Meeting]) -> list[Meeting]:
    """Return the meetings named by slugs, or raise ValidationError saying which cannot be had."""
    by_slug = {m.slug: m for m in offered}
    chosen = []
    for slug in dict.fromkeys(slugs or []):  # a meeting ticked twice counts once
        meeting = by_slug.get(slug)
        if meeting is None:
            raise ValidationError(
                "Une des séances choisies n’existe pas : choisissez dans la liste."
            )
        refusal = _refusal(meeting)
        if refusal:
            raise ValidationError(refusal)
        chosen.append(meeting)
    return chosen


class NeedsField(SelectMultipleField):
    """Checkboxes of accessibility needs; `.data` is the text stored on the person.

    Data stay text (services.reference.join_needs) so that the needs travel like every other
    detail (PersonDetails, held details, corrections); values not in the list are dropped.
    """

    def __init__(self, label: str, **kwargs) -> None:
        choices = [SelectChoice(value, text) for value, text in ACCESSIBILITY_NEEDS]
        super().__init__(label, choices=choices, **kwargs)

    def process_data(self, value) -> None:
        """Read the stored text (or a list of values) of an object or a default."""
        self.data = join_needs(split_needs(value) if isinstance(value, str) else value)

    def process_formdata(self, valuelist) -> None:
        """Keep the known values ticked; none ticked reads as ''."""
        self.data = join_needs(valuelist)

    def pre_validate(self, form) -> None:
        """Nothing to refuse: unknown values were dropped."""

    def ticked(self, value: str) -> bool:
        """Return True when the need `value` is ticked."""
        return value in split_needs(self.data)

    def iter_choices(self):
        """Yield (value, label, checked, render_kw) for the checkbox widgets."""
        for value, label in ACCESSIBILITY_NEEDS:
            yield (value, label, self.ticked(value), {})


def validate_civilite(form, field) -> None:
    """Accept Madame, Monsieur or nothing."""
    if field.data not in ("", *CIVILITE_LABELS):
        raise ValidationError("Choisissez « Madame », « Monsieur » ou « Ne pas préciser ».")


class MeetingChoices(SelectMultipleField):
    """Checkboxes of meetings; the form checks the choices itself (with French messages)."""

    def pre_validate(self, form) -> None:
        """Skip WTForms' own choice check: validate_meetings explains each refusal."""


def civilite_field(label: str) -> RadioField:
    """Return the optional civilité question (Madame, Monsieur, or nothing said)."""
    return RadioField(
        label,
        choices=[
            *(SelectChoice(value, text) for value, text in CIVILITES),
            SelectChoice("", "Ne pas préciser"),
        ],
        filters=[strip],
        default="",
        validate_choice=False,
        validators=[validate_civilite],
    )


#: Who fills the form: the official themselves, or their assistant (cabinet, secrétariat).
FOR_SELF, FOR_OFFICIAL = "moi", "elu"

#: In the assistant's case the messages about the official's fields speak of the official.
OFFICIAL_MESSAGES = {
    "Saisissez votre prénom.": "Saisissez le prénom de l’élu ou de l’élue.",
    "Saisissez votre nom.": "Saisissez le nom de l’élu ou de l’élue.",
    "Saisissez votre adresse électronique.": (
        "Saisissez l’adresse électronique de l’élu ou de l’élue."
    ),
    "Saisissez le nom de votre commune ou de votre intercommunalité.": (
        "Saisissez le nom de la commune ou de l’intercommunalité de l’élu ou de l’élue."
    ),
    "Choisissez votre mandat dans la liste.": "Choisissez le mandat de l’élu ou de l’élue.",
    "Choisissez votre département.": "Choisissez le département de l’élu ou de l’élue.",
}


def assistant_text(subject: str, max_length: int):
    """Check a text field of the assistant: required (only in the assistant's case), short."""

    def check(form, field) -> None:
        if not form.for_official:
            return
        if not field.data:
            raise ValidationError(f"Saisissez {subject}.")
        if len(field.data) > max_length:
            raise ValidationError(f"Ce champ doit faire {max_length} caractères au plus.")

    return check


class RegistrationForm(ErrorListMixin, FlaskForm):
    """Who registers, for which meetings, and the acknowledgement of the data notice."""

    for_whom = RadioField(
        "Qui inscrivez-vous ?",
        choices=[
            SelectChoice(FOR_SELF, "Je m’inscris moi-même"),
            SelectChoice(FOR_OFFICIAL, "J’inscris un ou une élue (cabinet, secrétariat)"),
        ],
        filters=[strip],
        default=FOR_SELF,
        validate_choice=False,
    )
    assistant_civilite = civilite_field("Votre civilité (facultatif)")
    assistant_first_name = StringField(
        "Votre prénom",
        filters=[strip],
        validators=[assistant_text("votre prénom", NAME_MAX), no_control_characters("Le prénom")],
    )
    assistant_last_name = StringField(
        "Votre nom",
        filters=[strip],
        validators=[assistant_text("votre nom", NAME_MAX), no_control_characters("Le nom")],
    )
    assistant_email = StringField("Votre adresse électronique", filters=[strip])
    assistant_function = StringField(
        "Votre fonction (facultatif)",
        filters=[strip],
        validators=[
            Length(max=FUNCTION_MAX, message="La fonction doit faire 100 caractères au plus."),
            no_control_characters("La fonction"),
        ],
    )

    civilite = civilite_field("Civilité (facultatif)")
    first_name = StringField(
        "Prénom",
        filters=[strip],
        validators=[
            DataRequired("Saisissez votre prénom."),
            Length(max=NAME_MAX, message="Le prénom doit faire 100 caractères au plus."),
            no_control_characters("Le prénom"),
        ],
    )
    last_name = StringField(
        "Nom",
        filters=[strip],
        validators=[
            DataRequired("Saisissez votre nom."),
            Length(max=NAME_MAX, message="Le nom doit faire 100 caractères au plus."),
            no_control_characters("Le nom"),
        ],
    )
    email = StringField("Adresse électronique", filters=[strip])
    phone = StringField(
        "Téléphone (facultatif)",
        filters=[strip],
        validators=[
            Length(max=PHONE_MAX, message="Le numéro de téléphone est trop long."),
            no_control_characters("Le numéro de téléphone"),
        ],
    )
    organisation = StringField(
        "Commune ou intercommunalité",
        filters=[strip],
        validators=[
            DataRequired("Saisissez le nom de votre commune ou de votre intercommunalité."),
            Length(
                max=ORGANISATION_MAX,
                message="Le nom de la collectivité doit faire 200 caractères au plus.",
            ),
            no_control_characters("Le nom de la collectivité"),
        ],
    )
    #: Code INSEE or SIREN the combobox (or the choice page) set; checked against the name.
    organisation_code = StringField("Code de la collectivité", filters=[strip])
    mandate = SelectField(
        "Mandat",
        choices=[SelectChoice("", "Choisissez un mandat")]
        + [SelectChoice(value, label) for value, label in MANDATES],
        validate_choice=False,
    )
    department = RadioField(
        "Département",
        choices=[SelectChoice(value, label) for value, label in DEPARTMENTS],
        validate_choice=False,
    )
    meetings = MeetingChoices("Séances")
    whole_season = BooleanField("Toute la saison : toutes les séances ouvertes aux inscriptions")
    #: Optional; goes with the earliest meeting asked (irev.services.speaker_questions).
    speaker_question = question_field()
    accessibility_options = NeedsField("Besoins d’accessibilité (facultatif)")
    accessibility_needs = TextAreaField(
        "Précisions sur vos besoins (facultatif)",
        filters=[strip],
        validators=[
            Length(
                max=NEEDS_MAX,
                message="Les besoins d’accessibilité doivent faire 1 000 caractères au plus.",
            ),
            no_control_characters("Les besoins d’accessibilité", multiline=True),
        ],
    )
    data_notice = BooleanField("J’ai pris connaissance de la notice sur les données personnelles")
    #: Honeypot: hidden from people and screen readers; only robots fill it.
    website = StringField("Site web, ne pas remplir", filters=[strip])

    #: Order of the fields on the page (the error summary follows it).
    FIELD_ORDER = (
        "for_whom",
        "assistant_civilite",
        "assistant_first_name",
        "assistant_last_name",
        "assistant_email",
        "assistant_function",
        "civilite",
        "first_name",
        "last_name",
        "email",
        "phone",
        "organisation",
        "mandate",
        "department",
        "meetings",
        "speaker_question",
        "accessibility_options",
        "accessibility_needs",
        "data_notice",
    )

    def __init__(
        self,
        *args,
        offered: Sequence[Meeting] = (),
        season: Sequence[Meeting] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.offered = list(offered)
        #: The meetings of « toute la saison » (the current cycle's); None: every one offered.
        self.season = list(season) if season is not None else self.offered
        self.meetings.choices = [SelectChoice(m.slug, m.title) for m in self.offered]
        self._chosen: list[Meeting] = []
        self.resolution = territories.Resolution()
        #: True once validate_organisation() matched the organisation's name (resolve()): its
        #: codes, even empty, are then final, and need not be looked up again when saved.
        self.organisation_matched = False

    # --- field checks (French messages: what is wrong and how to fix it) ---

    def validate_organisation(self, field) -> None:
        """Match the name (and the code sent with it) to a commune or an EPCI, if any."""
        code = (self.organisation_code.data or "")[:20]
        if code == territories.KEEP_TEXT:  # the choice page's « none of these »
            self.resolution = territories.Resolution()
            return
        prefer = territories.departement_code_for(self.department.data or "")
        self.resolution = territories.resolve(field.data, code, prefer_departement=prefer)
        self.organisation_matched = True

    @property
    def territory(self) -> territories.Territory | None:
        """Return the commune or EPCI the organisation designates (after validate())."""
        return self.resolution.territory

    @property
    def needs_choice(self) -> bool:
        """Return True when several communes or EPCI may be meant: the person must choose."""
        return self.resolution.needs_choice

    @property
    def for_official(self) -> bool:
        """Return True when an assistant fills the form for an official."""
        return self.for_whom.data == FOR_OFFICIAL

    def validate(self, extra_validators=None) -> bool:
        """Validate; in the assistant's case, say « l’élu ou l’élue » in the official's fields."""
        valid = super().validate(extra_validators)
        if self.for_official:
            for name in ("first_name", "last_name", "email", "organisation", "mandate"):
                self[name].errors = [OFFICIAL_MESSAGES.get(e, e) for e in self[name].errors]
            self.department.errors = [OFFICIAL_MESSAGES.get(e, e) for e in self.department.errors]
        return valid

    def validate_for_whom(self, field) -> None:
        """Accept only the two choices offered."""
        if field.data not in (FOR_SELF, FOR_OFFICIAL):
            raise ValidationError(
                "Choisissez « Je m’inscris moi-même » ou « J’inscris un ou une élue »."
            )

    def validate_assistant_email(self, field) -> None:
        """Require the assistant's own address, different from the official's."""
        if not self.for_official:
            return
        if any(unicodedata.category(c) == "Cc" for c in field.data or ""):
            raise ValidationError("L’adresse électronique doit tenir sur une seule ligne.")
        try:
            self.normalised_assistant_email = normalise_email(field.data or "")
        except InvalidEmail as error:
            raise ValidationError(
                str(error).replace(
                    "Saisissez votre adresse électronique.", "Saisissez votre propre adresse."
                )
            ) from error
        official = (self.email.data or "").strip().lower()
        if self.normalised_assistant_email == official or (
            official and self.normalised_assistant_email == _normalised_or_empty(official)
        ):
            raise ValidationError(
                "Votre adresse doit être différente de celle de l’élu ou de l’élue : chacun "
                "reçoit ses propres courriels."
            )

    def validate_email(self, field) -> None:
        """Check and normalise the address (email-validator, no DNS lookup)."""
        if any(unicodedata.category(c) == "Cc" for c in field.data or ""):
            raise ValidationError("L’adresse électronique doit tenir sur une seule ligne.")
        try:
            self.normalised_email = normalise_email(field.data or "")
        except InvalidEmail as error:
            raise ValidationError(str(error)) from error

    def validate_phone(self, field) -> None:
        """Accept digits with the usual separators, or nothing."""
        if field.data and (
            not PHONE_PATTERN.fullmatch(field.data) or sum(c.isdigit() for c in field.data) < 6
        ):
            raise ValidationError(
                "Saisissez un numéro de téléphone valide, par exemple 06 12 34 56 78, "
                "ou laissez le champ vide."
            )

    def validate_mandate(self, field) -> None:
        """Require one of the listed mandates."""
        if field.data not in MANDATE_LABELS:
            raise ValidationError("Choisissez votre mandat dans la liste.")

    def validate_department(self, field) -> None:
        """Require one of the listed départements, unless the commune or EPCI gives it."""
        territory = getattr(self, "territory", None)
        if territory is not None:
            field.data = territory.department_label
            return
        if field.data not in dict(DEPARTMENTS):
            raise ValidationError("Choisissez votre département.")

    def validate_meetings(self, field) -> None:
        """Require at least one meeting (or the whole season), each open for registration."""
        chosen = chosen_from(field.data, self.offered)
        if self.whole_season.data:
            season = [m for m in self.season if m.registration_open()]
            if not season:
                raise ValidationError(
                    "Aucune séance n’est ouverte aux inscriptions pour le moment."
                )
            chosen = season
        if not chosen:
            raise ValidationError("Choisissez au moins une séance, ou cochez « Toute la saison ».")
        self._chosen = chosen

    def validate_data_notice(self, field) -> None:
        """Require the acknowledgement of the data notice."""
        if not field.data:
            raise ValidationError(
                "Cochez la case pour indiquer que vous avez pris connaissance de la notice "
                "sur les données personnelles."
            )

    # --- results ---

    @property
    def is_robot(self) -> bool:
        """Return True when the honeypot was filled: the submission is dropped silently."""
        return bool(self.website.data)

    def chosen_meetings(self) -> list[Meeting]:
        """Return the meetings asked for (after a successful validate())."""
        return list(self._chosen)

    def details(self) -> PersonDetails:
        """Return the person's details (after a successful validate())."""
        territory = self.territory
        return PersonDetails(
            email=self.normalised_email,
            civilite=self.civilite.data or "",
            first_name=self.first_name.data,
            last_name=self.last_name.data,
            phone=self.phone.data or "",
            organisation=territory.name if territory else self.organisation.data,
            mandate=self.mandate.data,
            department=self.department.data,
            accessibility_needs=self.accessibility_needs.data or "",
            accessibility_options=self.accessibility_options.data or "",
            commune_code=territory.commune_code if territory else "",
            epci_siren=territory.epci_siren if territory else "",
            department_code=territory.departement_code if territory else "",
        )

    def assistant_details(self) -> AssistantDetails | None:
        """Return the assistant's details in the assistant's case (after validate()), else None."""
        if not self.for_official:
            return None
        return AssistantDetails(
            email=self.normalised_assistant_email,
            first_name=self.assistant_first_name.data,
            last_name=self.assistant_last_name.data,
            civilite=self.assistant_civilite.data or "",
            function=self.assistant_function.data or "",
        )

    @property
    def first_meeting_id(self) -> str:
        """Return the id of the first meeting checkbox that can be ticked (error summary link)."""
        for meeting in self.offered:
            if not _refusal(meeting):
                return f"meetings-{meeting.slug}"
        return "whole_season" if self.offered else "seances"


def _normalised_or_empty(raw: str) -> str:
    """Return the normalised form of an address, or "" when it is not one."""
    try:
        return normalise_email(raw)
    except InvalidEmail:
        return ""


def _refusal(meeting: Meeting) -> str:
    """Return why a meeting cannot be chosen now, or '' when it can."""
    state = public_state(meeting)
    day = short_date(meeting.starts_at)
    if state is PublicState.CANCELLED:
        return f"La séance du {day} est annulée : choisissez une autre séance."
    if state is PublicState.PAST:
        return f"La séance du {day} a déjà eu lieu : choisissez une autre séance."
    if state is PublicState.NOT_YET_OPEN:
        return f"Les inscriptions à la séance du {day} ne sont pas encore ouvertes."
    if state not in (PublicState.OPEN, PublicState.FULL):
        return f"Les inscriptions à la séance du {day} sont closes : choisissez une autre séance."
    return ""


class DetailsForm(ErrorListMixin, FlaskForm):
    """Self-service correction of a person's details (the e-mail address is their identity)."""

    civilite = RegistrationForm.civilite
    first_name = RegistrationForm.first_name
    last_name = RegistrationForm.last_name
    phone = RegistrationForm.phone
    organisation = RegistrationForm.organisation
    mandate = RegistrationForm.mandate
    department = RegistrationForm.department
    accessibility_options = RegistrationForm.accessibility_options
    accessibility_needs = RegistrationForm.accessibility_needs

    FIELD_ORDER = (
        "civilite",
        "first_name",
        "last_name",
        "phone",
        "organisation",
        "mandate",
        "department",
        "accessibility_options",
        "accessibility_needs",
    )

    validate_phone = RegistrationForm.validate_phone
    validate_mandate = RegistrationForm.validate_mandate
    validate_department = RegistrationForm.validate_department


class AddMeetingsForm(ErrorListMixin, FlaskForm):
    """Self-service: more meetings for an identified person."""

    meetings = MeetingChoices("Séances")

    FIELD_ORDER = ("meetings",)

    def __init__(self, *args, offered: Sequence[Meeting] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.offered = list(offered)
        self.meetings.choices = [SelectChoice(m.slug, m.title) for m in self.offered]
        self._chosen: list[Meeting] = []

    def validate_meetings(self, field) -> None:
        """Require at least one meeting, each open for registration."""
        chosen = chosen_from(field.data, self.offered)
        if not chosen:
            raise ValidationError("Choisissez au moins une séance.")
        self._chosen = chosen

    def chosen_meetings(self) -> list[Meeting]:
        """Return the meetings asked for (after a successful validate())."""
        return list(self._chosen)


class ConfirmForm(FlaskForm):
    """A form with only its CSRF token: the button of a confirmation page."""
