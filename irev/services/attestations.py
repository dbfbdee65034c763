"""Attestations de participation: one per meeting attended, one yearly summary, verifiable.

Decisions carried out here:

- PDFs are drawn with fpdf2 (pure Python, maintained, no system library): its built-in
  Helvetica in Windows-1252 covers French (’, œ, « », non-breaking spaces) without shipping
  a font file. A character outside Windows-1252 (a name written in another alphabet) is
  printed without its accent rather than refused.
- An attestation is a row (`Attestation`) with a random 12-character code printed on the PDF.
  It stores what it states besides the person (meetings and minutes), not a copy of the
  person's details: the public verification page reads them from the person, and says the
  attestation can no longer be checked once those data are erased at the end of retention.
- Asking again for the same attestation while nothing it states has changed gives the same
  code; a change (minutes corrected by a new import) gives a new code, and the old one keeps
  confirming what it stated then.
- Only registrations marked « présent » (by staff or by an imported report) are attested.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from fpdf import FPDF

from irev.dates import PARIS, long_date, meeting_when
from irev.extensions import db
from irev.models import Attestation, Meeting, Person, Registration, RegistrationState
from irev.services import audit
from irev.services.moderation import mandate_label
from irev.urls import external_url

#: Letters and digits that cannot be misread for one another (no 0/O, 1/I/L, U/V).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789"
CODE_LENGTH = 12
NBSP = "\u00a0"


class AttestationError(ValueError):
    """No attestation can be issued (the message says why, in French)."""


@dataclass(frozen=True)
class AttestedMeeting:
    """One meeting an attestation states: which, when, and for how long."""

    meeting: Meeting
    minutes: int | None

    @property
    def duration(self) -> str:
        """Return the time attended in French, or how presence was established."""
        return duration_text(self.minutes)


@dataclass(frozen=True)
class AttestationView:
    """What an attestation states, for the PDF and the verification page."""

    attestation: Attestation
    person: Person
    meetings: list[AttestedMeeting]
    signatory: str

    @property
    def erased(self) -> bool:
        return self.person.anonymised_at is not None

    @property
    def mandate(self) -> str:
        return mandate_label(self.person.mandate)

    @property
    def code(self) -> str:
        return format_code(self.attestation.code)


def duration_text(minutes: int | None) -> str:
    """Return "1 h 52 min", "45 min", or the wording for a presence marked by staff."""
    if minutes is None:
        return "présence constatée par l’équipe (durée non mesurée)"
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest}{NBSP}min"
    return f"{hours}{NBSP}h" + (f" {rest:02d}{NBSP}min" if rest else "")


def format_code(code: str) -> str:
    """Return the code in groups of four: "ABCD-EFGH-JKMN"."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_code(raw: str) -> str:
    """Return a typed code without spaces, dashes or case, or "" if it cannot be one."""
    code = "".join(c for c in (raw or "").upper() if c.isalnum())
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return ""
    return code


def _new_code() -> str:
    """Return a random code (about 58 bits: not guessable, short enough to type)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _paris_year(moment: datetime) -> int:
    """Return the Paris calendar year of a moment."""
    return moment.astimezone(PARIS).year


def attended_registrations(person: Person) -> list[Registration]:
    """Return the person's registrations marked « présent », oldest meeting first."""
    return list(
        db.session.scalars(
            db.select(Registration)
            .join(Registration.meeting)
            .where(
                Registration.person_id == person.id,
                Registration.state == RegistrationState.SEATED,
                Registration.attended.is_(True),
            )
            .order_by(Meeting.starts_at)
        )
    )


def attended_years(person: Person) -> list[int]:
    """Return the years in which the person attended at least one meeting, newest first."""
    years = {_paris_year(r.meeting.starts_at) for r in attended_registrations(person)}
    return sorted(years, reverse=True)


def _issue(person: Person, kind: str, year: int, registrations: Sequence[Registration], actor):
    """Return the attestation stating exactly these registrations, created when needed."""
    statement = {
        "meetings": [{"id": r.meeting_id, "minutes": r.attended_minutes} for r in registrations]
    }
    existing = db.session.scalars(
        db.select(Attestation).where(
            Attestation.person_id == person.id,
            Attestation.kind == kind,
            Attestation.year == year,
        )
    ).all()
    for attestation in existing:
        if attestation.statement == statement:
            return attestation
    attestation = Attestation(
        code=_new_code(), person_id=person.id, kind=kind, year=year, statement=statement
    )
    db.session.add(attestation)
    db.session.flush()
    audit.record(
        actor,
        "attestation.issue",
        person,
        after={"kind": kind, "year": year, "meetings": len(registrations)},
    )
    return attestation


def for_meeting(registration: Registration, actor) -> Attestation:
    """Return the attestation of one attended meeting (no commit)."""
    if not (registration.state is RegistrationState.SEATED and registration.attended is True):
        raise AttestationError("Aucune présence n’est enregistrée pour cette séance.")
    year = _paris_year(registration.meeting.starts_at)
    return _issue(registration.person, "meeting", year, [registration], actor)


def for_year(person: Person, year: int, actor) -> Attestation:
    """Return the yearly summary of the meetings attended in a year (no commit)."""
    registrations = [
        r for r in attended_registrations(person) if _paris_year(r.meeting.starts_at) == year
    ]
    if not registrations:
        raise AttestationError(f"Aucune présence n’est enregistrée en {year}.")
    return _issue(person, "year", year, registrations, actor)


def view(attestation: Attestation) -> AttestationView:
    """Return what the attestation states (meetings deleted since are left out)."""
    meetings = []
    for item in attestation.statement.get("meetings", []):
        meeting = db.session.get(Meeting, item.get("id"))
        if meeting is not None:
            meetings.append(AttestedMeeting(meeting, item.get("minutes")))
    signatory = str(current_app.config["IREV_ATTESTATION_SIGNATORY"])
    return AttestationView(attestation, attestation.person, meetings, signatory)


def find(raw_code: str) -> AttestationView | None:
    """Return the attestation a typed code names, or None."""
    code = normalise_code(raw_code)
    if not code:
        return None
    attestation = db.session.scalar(db.select(Attestation).where(Attestation.code == code))
    return view(attestation) if attestation else None


# ---------------------------------------------------------------------------------------------
# PDF


def _pdf_text(text: str) -> str:
    """Return text printable in Windows-1252 (accents dropped only where it has none)."""
    text = text.replace("\u202f", NBSP)
    out = []
    for char in text:
        try:
            char.encode("cp1252")
        except UnicodeEncodeError:
            char = unicodedata.normalize("NFKD", char).encode("cp1252", "ignore").decode("cp1252")
            char = char or "?"
        out.append(char)
    return "".join(out)


class _Document(FPDF):
    """An A4 page in IREV's plain style, with the verification code in the footer."""

    def __init__(self, code: str, verify_url: str):
        super().__init__(format="A4")
        self.core_fonts_encoding = "windows-1252"
        self.code, self.verify_url = code, verify_url
        self.set_margins(22, 22, 22)
        self.set_auto_page_break(auto=True, margin=30)

    def footer(self) -> None:
        """Print the code and where to check it on every page."""
        self.set_y(-24)
        self.set_font("Helvetica", size=9)
        self.multi_cell(
            0,
            5,
            _pdf_text(
                f"Code de vérification{NBSP}: {self.code}. Vérifiez cette attestation sur "
                f"{self.verify_url} – page {self.page_no()}/{{nb}}"
            ),
            new_x="LMARGIN",
            new_y="NEXT",
        )

    def line_of(self, text: str, *, size: float = 11, style: str = "", height: float = 6):
        """Write a paragraph."""
        self.set_font("Helvetica", style=style, size=size)
        self.multi_cell(0, height, _pdf_text(text), new_x="LMARGIN", new_y="NEXT")


def render_pdf(attestation: Attestation) -> bytes:
    """Return the attestation as a PDF document."""
    data = view(attestation)
    person = data.person
    verify_url = external_url("public.verify_attestation")
    pdf = _Document(data.code, verify_url)
    pdf.set_title(_pdf_text("Attestation de participation"))
    pdf.set_author("IREV")
    pdf.add_page()
    pdf.line_of("IREV – Rencontres des élus", size=10, style="B")
    pdf.ln(8)
    title = "Attestation de participation"
    if attestation.kind == "year":
        title += f" – année {attestation.year}"
    pdf.line_of(title, size=18, style="B", height=9)
    pdf.ln(6)
    what = "à la séance suivante" if attestation.kind == "meeting" else "aux séances suivantes"
    pdf.line_of(f"L’IREV atteste que la personne ci-dessous a participé {what}.")
    pdf.ln(3)
    for label, value in (
        ("Nom", person.full_name),
        ("Mandat", data.mandate or "non indiqué"),
        ("Commune ou structure", person.organisation or "non indiquée"),
    ):
        pdf.line_of(f"{label}{NBSP}: {value}")
    pdf.ln(4)
    for item in data.meetings:
        meeting = item.meeting
        pdf.line_of(f"Séance{NBSP}: « {meeting.title} »", style="B")
        pdf.line_of(f"Date{NBSP}: {meeting_when(meeting.starts_at, meeting.ends_at)}")
        pdf.line_of(f"Temps de présence{NBSP}: {item.duration}")
        pdf.ln(3)
    if attestation.kind == "year":
        pdf.line_of(f"Nombre de séances suivies en {attestation.year}{NBSP}: {len(data.meetings)}")
        pdf.ln(3)
    pdf.ln(6)
    issued = long_date(attestation.issued_at)
    pdf.line_of(f"Fait le {issued}, pour servir et valoir ce que de droit.")
    pdf.ln(4)
    pdf.line_of(f"Pour l’IREV{NBSP}: {data.signatory}")
    return bytes(pdf.output())


def filename(attestation: Attestation) -> str:
    """Return the download name: "attestation-2027-04-12.pdf" or "attestation-2027.pdf"."""
    data = view(attestation)
    if attestation.kind == "meeting" and data.meetings:
        day = data.meetings[0].meeting.starts_at.astimezone(PARIS)
        return f"attestation-{day:%Y-%m-%d}.pdf"
    return f"attestation-{attestation.year}.pdf"
