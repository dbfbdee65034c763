"""People who register: one row per normalised e-mail address."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from functools import cache, lru_cache

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from irev.extensions import db
from irev.models import Person, utcnow
from irev.services import territories

#: Longest address SMTP accepts (RFC 5321).
EMAIL_MAX_LENGTH = 254


#: Why an address whose part before the @ is not ASCII is refused.
NON_ASCII_MAILBOX = (
    "Nous ne pouvons pas écrire à une adresse dont la partie avant le signe @ contient des "
    "accents ou d’autres caractères spéciaux. Saisissez une autre adresse, par exemple "
    "jose.martin@commune.fr."
)


class InvalidEmail(ValueError):
    """The text is not a usable e-mail address; the message says why, in French."""


@dataclass
class PersonDetails:
    """What a person tells about themselves on the form (already validated)."""

    email: str
    first_name: str
    last_name: str
    organisation: str = ""
    mandate: str = ""
    department: str = ""
    phone: str = ""
    accessibility_needs: str = ""
    civilite: str = ""
    #: Ticked needs, as stored (services.reference.join_needs).
    accessibility_options: str = ""
    #: Codes of the commune (INSEE), EPCI (SIREN) and département the organisation designates;
    #: empty when the form did not resolve them (services.territories).
    commune_code: str = ""
    epci_siren: str = ""
    department_code: str = ""

    def as_dict(self) -> dict[str, str]:
        """Return the details as a plain dictionary."""
        return asdict(self)


#: The fields a person may correct themselves (the e-mail is their identity: not editable).
EDITABLE_FIELDS = (
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


def normalise_email(raw: str) -> str:
    """Return the canonical form of an address (lower case, IDNA domain) or raise InvalidEmail.

    No DNS lookup: a valid-looking address is enough here, the confirmation e-mail proves the
    rest. The whole address is lowered: two spellings of one mailbox must be one person.
    An internationalised domain (mairie-exämple.fr) is kept as typed, in Unicode, and goes on
    the wire in its ASCII form (irev.mime.wire_address). A non-ASCII mailbox name (josé@…)
    would need SMTPUTF8 from every relay on the way, which nothing guarantees: it is refused
    here, with a message, rather than accepted and never delivered.
    """
    # One submission checks its address three times (form, and both rate-limit keys).
    return _normalise_email(raw or "")


@lru_cache(maxsize=256)
def _normalise_email(raw: str) -> str:
    """Normalise one address (a pure function of its text, so its answers are kept)."""
    text = raw.strip()
    if not text:
        raise InvalidEmail("Saisissez votre adresse électronique.")
    if len(text) > EMAIL_MAX_LENGTH:
        raise InvalidEmail("L’adresse électronique doit faire 254 caractères au plus.")
    try:
        result = validate_email(text, check_deliverability=False, allow_display_name=False)
    except EmailNotValidError as error:
        raise InvalidEmail(
            "Saisissez une adresse électronique valide, par exemple prenom.nom@commune.fr."
        ) from error
    if not result.local_part.isascii():
        raise InvalidEmail(NON_ASCII_MAILBOX)
    return result.normalized.lower()


def find_person(email: str) -> Person | None:
    """Return the person with this (normalised) address, if any."""
    return db.session.scalar(_find_person_statement(), {"email": email})


@cache
def _insert_person_statement(dialect: str):
    """Build INSERT ... ON CONFLICT (email) DO NOTHING RETURNING person once; values are params."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(Person).on_conflict_do_nothing(index_elements=["email"]).returning(Person)


@cache
def _find_person_statement():
    """Build the lookup once; the address is a parameter."""
    return db.select(Person).where(Person.email == bindparam("email"))


def get_or_create_person(
    details: PersonDetails, *, territory_matched: bool = False
) -> tuple[Person, bool]:
    """Return the person with this address, creating them from details; True when created.

    INSERT ... ON CONFLICT DO NOTHING: two submissions racing for a new address make one row,
    and the loser simply reads the winner's. territory_matched: the caller matched the
    organisation's name already (the public form: territories.resolve()), so its codes, even
    empty, are final; with_territory() would find nothing more (an empty result there means
    the name has no unique exact match, which is all with_territory() looks for).
    """
    person = find_person(details.email)
    if person is not None:
        return person, False
    if not territory_matched:
        details = with_territory(details)
    now = utcnow()
    values = {**details.as_dict(), "link_version": 0, "created_at": now, "updated_at": now}
    # RETURNING the whole row: the new person comes back as an object, no second SELECT.
    statement = _insert_person_statement(db.session.get_bind().dialect.name)
    person = db.session.scalars(statement, [values]).first()
    if person is not None:
        return person, True
    person = find_person(details.email)
    assert person is not None  # inserted by the concurrent winner
    return person, False


#: The codes that follow the organisation (services.territories); never typed by hand.
TERRITORY_FIELDS = ("commune_code", "epci_siren", "department_code")


def with_territory(details: PersonDetails) -> PersonDetails:
    """Return details with the codes of the one commune or EPCI its organisation names, if any.

    Forms without the combobox (staff, self-service) send a name only: a unique exact match
    gives its codes, anything else leaves them empty rather than guessing.
    """
    if details.commune_code or details.epci_siren:
        return details
    found = territories.unique_match(details.organisation)
    codes = dict.fromkeys(TERRITORY_FIELDS, "")
    if found is not None:
        codes = {
            "commune_code": found.commune_code,
            "epci_siren": found.epci_siren,
            "department_code": found.departement_code,
        }
    return replace(details, **codes)


def update_person(person: Person, details: PersonDetails) -> dict[str, tuple[str, str]]:
    """Copy the editable details onto person; return {field: (before, after)} of what changed.

    The codes follow the organisation: new codes sent are kept; a new name without codes is
    matched again, so a code never outlives the name it was chosen for.
    """
    changes: dict[str, tuple[str, str]] = {}
    organisation_changed = details.organisation != person.organisation
    for name in EDITABLE_FIELDS:
        new = getattr(details, name)
        old = getattr(person, name)
        if new != old:
            changes[name] = (old, new)
            setattr(person, name, new)
    sent = tuple(getattr(details, name) for name in TERRITORY_FIELDS)
    kept = tuple(getattr(person, name) for name in TERRITORY_FIELDS)
    if organisation_changed and (sent == kept or not any(sent[:2])):
        details = with_territory(replace(details, commune_code="", epci_siren=""))
    elif not any(sent[:2]):
        return changes  # the same name, no codes sent: the codes stay
    for name in TERRITORY_FIELDS:
        setattr(person, name, getattr(details, name))
    return changes
