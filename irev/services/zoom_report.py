"""Zoom's participant report (CSV): read it into `ParticipantRecord`s, one per participant.

This is the seam between a video tool and attendance: `services.attendance_import` takes
records from any source, so a later sync with Zoom's API only has to build the same records.

- The file is read entirely before anything is written: every problem is reported with its line
  number, in French, and a bad file changes nothing.
- Zoom writes its dates in the account's language: « 12/04/2027 17:02:10 » (day first) in
  French, « 04/12/2027 05:02:10 PM » (month first) in English. Both orders are tried and the one
  that falls on the meeting's day is kept, whatever the headers' language. Times are Paris time.
- Time connected is the union of a person's intervals: overlapping rejoins (two devices, a
  reconnection before Zoom saw the first leave) count once.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from irev.dates import PARIS
from irev.services.people import InvalidEmail, normalise_email
from irev.wording import plural

#: At most this many problems are listed for one file (the rest are counted).
MAX_LISTED_PROBLEMS = 10

#: Accepted headers, normalised by `_header_key`, for each column read.
HEADERS: dict[str, frozenset[str]] = {
    "name": frozenset(
        {"name (original name)", "name", "participant", "nom (nom d'origine)", "nom"}
    ),
    "email": frozenset(
        {
            "user email",
            "email",
            "e-mail",
            "e-mail de l'utilisateur",
            "email de l'utilisateur",
            "adresse e-mail",
            "courriel",
        }
    ),
    "join": frozenset({"join time", "heure d'arrivee", "heure d'entree"}),
    "leave": frozenset({"leave time", "heure de depart", "heure de sortie"}),
    "duration": frozenset({"duration (minutes)", "duree (minutes)"}),
    "guest": frozenset({"guest", "invite"}),
}
REQUIRED = ("name", "join", "leave")
#: How the report writes yes and no in the guest column.
YES = frozenset({"yes", "oui", "true", "1", "vrai"})
NO = frozenset({"no", "non", "false", "0", "faux"})

_DATE = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))?(?: ?([AaPp])\.? ?[Mm]\.?)?$"
)
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$")


class ReportError(ValueError):
    """The report cannot be imported; `problems` lists each one in French, naming its line."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass
class ParticipantRecord:
    """One participant of a report, their rows merged: what any attendance source yields."""

    name: str
    email: str  # normalised, or "" when the source gives none
    guest: bool
    intervals: list[tuple[datetime, datetime]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    @property
    def seconds(self) -> int:
        """Return the seconds connected, overlapping intervals counted once."""
        return union_seconds(self.intervals)


def union_seconds(intervals: Iterable[tuple[datetime, datetime]]) -> int:
    """Return the length of the union of intervals, in whole seconds."""
    total = timedelta(0)
    current_start = current_end = None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        elif end > current_end:
            current_end = end
    if current_end is not None:
        total += current_end - current_start
    return int(total.total_seconds())


def minutes(seconds: int) -> int:
    """Return seconds as whole minutes, rounded to the nearest."""
    return (seconds + 30) // 60


def fold(text: str) -> str:
    """Return text lower-cased, without accents, with one kind of apostrophe and spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("’", "'").replace("`", "'").casefold()
    return " ".join(plain.split())


def _header_key(text: str) -> str:
    """Return a header cell normalised for comparison with HEADERS."""
    return fold(text.lstrip("\ufeff").strip().strip('"'))


def name_tokens(text: str) -> frozenset[str]:
    """Return the words of a name, folded: "Élise LE GALL" and "le gall, elise" are equal."""
    return frozenset(re.sub(r"[^0-9a-z]+", " ", fold(text)).split())


def name_candidates(name: str) -> list[frozenset[str]]:
    """Return the names a report cell may hold: "Shown (Original)" gives both, then all."""
    outside = re.sub(r"\([^)]*\)", " ", name)
    inside = re.findall(r"\(([^)]*)\)", name)
    candidates = [name_tokens(outside), *(name_tokens(part) for part in inside)]
    return [c for c in candidates if c]


# ---------------------------------------------------------------------------------------------
# Parsing


def _decode(data: bytes) -> str:
    """Return the file's text: UTF-8 (with or without BOM), else Windows-1252 (Excel)."""
    if b"\x00" in data:
        raise ReportError(["Le fichier n'est pas un fichier CSV (il contient des octets nuls)."])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _find_header(text: str) -> tuple[int, str, dict[str, int]]:
    """Return the header's line number, the delimiter and each known column's index."""
    for number, line in enumerate(text.splitlines(), start=1):
        for delimiter in (",", ";", "\t"):
            cells = next(csv.reader([line], delimiter=delimiter), [])
            columns: dict[str, int] = {}
            for index, cell in enumerate(cells):
                key = _header_key(cell)
                for column, names in HEADERS.items():
                    if key in names and column not in columns:
                        columns[column] = index
            if all(c in columns for c in REQUIRED):
                return number, delimiter, columns
    raise ReportError(
        [
            "Aucune ligne d'en-tête reconnue : le rapport des participants de Zoom doit avoir "
            "les colonnes « Nom (nom d'origine) », « Heure d'arrivée » et « Heure de départ » "
            "(ou « Name (Original Name) », « Join Time », « Leave Time »)."
        ]
    )


def _parse_moment(raw: str, meeting_day: date | None) -> datetime | None:
    """Return the UTC moment a report cell names (Paris wall time), or None if unreadable."""
    raw = " ".join(raw.split())
    iso = _ISO.match(raw)
    if iso:
        y, mo, d, h, mi, s = (int(v or 0) for v in iso.groups())
        candidates = [(y, mo, d, h, mi, s)]
    else:
        match = _DATE.match(raw)
        if not match:
            return None
        a, b, y, h, mi, s = (int(v or 0) for v in match.groups()[:6])
        meridiem = (match.group(7) or "").lower()
        if meridiem:
            if not 1 <= h <= 12:
                return None
            h = h % 12 + (12 if meridiem == "p" else 0)
        # English (AM/PM) writes the month first, French the day: try the likely one first.
        orders = [(b, a), (a, b)] if meridiem else [(a, b), (b, a)]
        candidates = [(y, mo, d, h, mi, s) for d, mo in orders]
    moments = []
    for y, mo, d, h, mi, s in candidates:
        try:
            local = datetime(y, mo, d, h, mi, s, tzinfo=PARIS)
        except ValueError:
            continue
        moments.append(local.astimezone(UTC))
    if meeting_day is not None:
        moments = [m for m in moments if abs((m.astimezone(PARIS).date() - meeting_day).days) <= 1]
    return moments[0] if moments else None


def parse_zoom_report(data: bytes, *, meeting_day: date | None = None) -> list[ParticipantRecord]:
    """Read Zoom's participant report (CSV) into one record per participant, or raise.

    The meeting summary Zoom may put above the participants' table is skipped. Rows are merged
    by e-mail, or by name when the report gives no e-mail.
    """
    text = _decode(data)
    header_line, delimiter, columns = _find_header(text)
    lines = text.splitlines()
    reader = csv.reader(io.StringIO("\n".join(lines[header_line:])), delimiter=delimiter)
    width = max(columns.values()) + 1
    problems: list[str] = []
    rows: list[tuple[int, str, str, bool, datetime, datetime]] = []
    for cells in reader:
        number = header_line + reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) < width:
            found = plural(len(cells), "colonne", "colonnes")
            problems.append(f"Ligne {number} : {found} au lieu d'au moins {width}.")
            continue
        row = _parse_row(number, cells, columns, meeting_day, problems)
        if row is not None:
            rows.append(row)
    if problems:
        listed = problems[:MAX_LISTED_PROBLEMS]
        if len(problems) > len(listed):
            more = plural(len(problems) - len(listed), "autre ligne", "autres lignes")
            listed.append(f"… et {more} en erreur.")
        raise ReportError(listed)
    if not rows:
        raise ReportError(["Le rapport ne contient aucun participant sous son en-tête."])
    return _merge(rows)


def _parse_row(number, cells, columns, meeting_day, problems):
    """Return one row's values, or None after adding its problems to the list."""
    name = " ".join(cells[columns["name"]].split())[:200]
    raw_email = cells[columns["email"]].strip() if "email" in columns else ""
    email = ""
    if raw_email:
        try:
            email = normalise_email(raw_email)
        except InvalidEmail:
            problems.append(f"Ligne {number} : l'adresse e-mail « {raw_email[:80]} » est invalide.")
            return None
    if not name and not email:
        problems.append(f"Ligne {number} : ni nom ni adresse e-mail.")
        return None
    moments = []
    for column, label in (("join", "d'arrivée"), ("leave", "de départ")):
        raw = cells[columns[column]].strip()
        moment = _parse_moment(raw, meeting_day)
        if moment is None:
            where = " ou n'est pas le jour de la séance" if meeting_day else ""
            problems.append(
                f"Ligne {number} : l'heure {label} « {raw[:40]} » est illisible{where} "
                "(attendu par exemple « 12/04/2027 17:02:10 » ou « 04/12/2027 05:02:10 PM »)."
            )
            return None
        moments.append(moment)
    joined, left = moments
    if left < joined:
        problems.append(f"Ligne {number} : l'heure de départ précède l'heure d'arrivée.")
        return None
    raw_guest = fold(cells[columns["guest"]]) if "guest" in columns else ""
    guest = raw_guest not in NO
    return number, name, email, guest, joined, left


def _merge(rows) -> list[ParticipantRecord]:
    """Return one record per participant: same e-mail, or same name when no e-mail."""
    records: dict[tuple[str, frozenset[str] | str], ParticipantRecord] = {}
    for number, name, email, guest, joined, left in rows:
        key = ("email", email) if email else ("name", name_tokens(name))
        record = records.get(key)
        if record is None:
            record = records[key] = ParticipantRecord(name=name, email=email, guest=guest)
        record.guest = record.guest and guest
        if not record.name:
            record.name = name
        record.intervals.append((joined, left))
        record.lines.append(number)
    return list(records.values())


# ---------------------------------------------------------------------------------------------
