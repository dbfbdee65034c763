"""Load a programme from its data file, idempotently, or as a demonstration on coming dates.

Also the public lookups of cycles: the current one (the most recent published cycle: highest
year, then the one published last from the staff area, so a cycle duplicated for next semester
of the same year takes over once published) and the archive (every other published cycle,
whose pages and calendars keep their addresses).

A demonstration moves the meetings onto coming dates, so its texts are moved with them: the
source year becomes the demo's year and « le 1er mars » the day that meeting now falls on
(and a related event keeps its distance to the meeting before it).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from pathlib import Path
from typing import Any

import yaml

from irev.dates import PARIS, short_date
from irev.extensions import db
from irev.models import ApprovalMode, Meeting, MeetingMode, MeetingStatus, Programme, utcnow

#: The programme the site ships with (the seed document).
DEFAULT_FILE = Path(__file__).resolve().parent.parent / "data" / "programme-2023.yaml"
#: Shown instead of a topic the document does not give yet.
TOPIC_TO_COME = "Thème à venir"
#: Demonstration video link: clearly not a real meeting room.
DEMO_VIDEO_URL = "https://visio.example.org/demo-irev"


def staff_title(meeting: Meeting) -> str:
    """Return a meeting's name for staff lists and charts: « Thème à venir – 3 mars 2027 ».

    Several meetings of a cycle may still be « Thème à venir »: their date tells them apart.
    """
    if meeting.topic_announced and meeting.title != TOPIC_TO_COME:
        return meeting.title
    return f"{meeting.title} – {short_date(meeting.starts_at)}"


class ProgrammeFileError(ValueError):
    """The data file is missing something or holds a value of the wrong kind."""


def read_programme_file(path: Path | str) -> dict[str, Any]:
    """Read a programme file and check its shape; raise ProgrammeFileError in French."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise ProgrammeFileError(f"fichier introuvable : {path}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise ProgrammeFileError(f"lecture impossible de {path} ({error})") from error
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" (ligne {where.line + 1})" if where else ""
        raise ProgrammeFileError(f"{path} n’est pas un YAML valide{line}") from error
    except ValueError as error:  # PyYAML builds dates itself: 2023-13-45 fails here
        raise ProgrammeFileError(f"{path} : date impossible ({error})") from error
    if not isinstance(data, dict):
        raise ProgrammeFileError(f"{path} ne décrit pas un programme (une table de clés)")
    for key in ("slug", "title", "year", "meetings"):
        if key not in data:
            raise ProgrammeFileError(f"{path} : la clé « {key} » manque")
    if not isinstance(data["year"], int):
        raise ProgrammeFileError(f"{path} : « year » doit être une année, par exemple 2023")
    meetings = data["meetings"]
    if not isinstance(meetings, list) or not all(isinstance(m, dict) for m in meetings):
        raise ProgrammeFileError(f"{path} : « meetings » doit être une liste de séances")
    slugs = [m.get("slug") for m in meetings]
    duplicates = sorted({str(slug) for slug in slugs if slugs.count(slug) > 1})
    if duplicates:
        raise ProgrammeFileError(f"{path} : séances en double : {', '.join(duplicates)}")
    return data


def load_programme(
    data: dict[str, Any], *, demo: bool = False, today: dt.date | None = None
) -> Programme:
    """Create or update the programme and its meetings; loading twice changes nothing.

    With demo=True the meetings are moved onto the coming first Wednesdays of the month (dates
    are set once, when a demo meeting is created, so a later run moves nothing).
    """
    programme = db.session.scalar(db.select(Programme).filter_by(slug=data["slug"]))
    if programme is None:
        programme = Programme(slug=data["slug"])
        db.session.add(programme)
    # A real programme turned into the demo gets the coming dates too.
    move = demo and not programme.is_demo
    demo_dates = _first_wednesdays(today or dt.date.today(), len(data["meetings"]))
    # The demo's texts follow its dates: rewritten before they are assigned, so a second
    # run assigns the very same values and writes nothing.
    events = [_event(e) for e in data.get("related_events") or []]
    year, rewrite = int(data["year"]), _unchanged
    if demo:
        year, rewrite, events = _demo_texts(data, demo_dates, move=move)
    contact = data.get("contact") or {}
    _assign(
        programme,
        title=rewrite(data["title"]),
        year=year,
        audience=data.get("audience", ""),
        introduction=rewrite((data.get("introduction") or "").strip()),
        format_line=rewrite(data.get("format_line", "")),
        contact_name=contact.get("name", ""),
        contact_role=contact.get("role", ""),
        contact_email=contact.get("email", ""),
        contact_phone=contact.get("phone", ""),
        planned_topics=[rewrite(topic) for topic in data.get("planned_topics") or []],
        related_events=events,
        published=bool(data.get("published", True)),
        is_demo=demo,
    )
    defaults = data.get("meeting_defaults") or {}
    _assign(programme, **_meeting_defaults(defaults))
    for index, item in enumerate(data["meetings"]):
        demo_date = demo_dates[index] if demo else None
        _load_meeting(programme, {**defaults, **item}, demo_date, move=move, rewrite=rewrite)
    db.session.flush()
    return programme


def _unchanged(text: str) -> str:
    """Return text as it is (texts of a programme loaded on its real dates)."""
    return text


def _meeting_defaults(defaults: dict[str, Any]) -> dict[str, Any]:
    """Return the cycle's defaults for new meetings from the file's meeting_defaults."""
    where = "« meeting_defaults »"
    if not isinstance(defaults, dict):
        raise ProgrammeFileError(f"{where} doit être une table de clés (start, end, capacity…)")
    start = _clock(defaults.get("start", "17:00"), where)
    end = _clock(defaults.get("end", "19:00"), where)
    capacity = defaults.get("capacity", 100)
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 0:
        raise ProgrammeFileError(f"{where} : « capacity » doit être un nombre de places")
    approval = _choice(ApprovalMode, defaults.get("approval", "automatic"), "approval", where)
    return dict(
        default_start=start,
        default_end=end,
        default_capacity=capacity,
        default_approval_mode=approval,
    )


def _demo_texts(
    data: dict[str, Any], demo_dates: list[dt.date], *, move: bool
) -> tuple[int, Any, list[dict[str, Any]]]:
    """Return the demo's year, its text rewriter and its related events on the moved dates.

    A meeting keeps the date it was given when the demo created it (see _load_meeting), so
    the days are read from the database for the meetings that exist already.
    """
    moved: dict[dt.date, dt.date] = {}
    for index, item in enumerate(data["meetings"]):
        slug = item.get("slug")
        if not slug or "date" not in item:
            raise ProgrammeFileError("chaque séance doit avoir « slug » et « date »")
        with db.session.no_autoflush:  # the new programme is not complete yet
            meeting = db.session.scalar(db.select(Meeting).filter_by(slug=slug))
        day = demo_dates[index]
        if meeting is not None and not move and meeting.programme.is_demo:
            day = meeting.starts_at.astimezone(PARIS).date()
        moved[_date(item["date"], f"séance « {slug} »")] = day
    events = [_event(e) for e in data.get("related_events") or []]
    if not moved:
        return int(data["year"]), _unchanged, events
    for event in events:
        if event.get("date"):
            day = _date(event["date"], "événement lié")
            anchor = max([source for source in moved if source <= day] or [min(moved)])
            moved.setdefault(day, moved[anchor] + (day - anchor))
            event["date"] = moved[day].isoformat()
    # The year most meetings fall in (a cycle from December to April is that April's).
    years = [moved[_date(item["date"], "")].year for item in data["meetings"]]
    new_year = max(sorted(set(years)), key=years.count)
    rewrite = _text_mover(int(data["year"]), new_year, moved)
    for event in events:
        for key in ("title", "description", "place"):
            if isinstance(event.get(key), str):
                event[key] = rewrite(event[key])
    return new_year, rewrite, events


def _text_mover(year: int, new_year: int, moved: dict[dt.date, dt.date]):
    """Return a function that moves « 1er mars [2023] » and « 2023 » in a text, in one pass."""

    def day_month(day: dt.date) -> str:
        return short_date(dt.datetime.combine(day, dt.time(12), PARIS)).rsplit(" ", 1)[0]

    phrases = {day_month(source): target for source, target in moved.items()}
    alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    pattern = re.compile(rf"\b(?:({alternatives})(?: ({year}))?|({year}))\b")

    def replace(match: re.Match) -> str:
        if match.group(3):
            return str(new_year)
        target = phrases[match.group(1)]
        text = day_month(target)
        return f"{text} {target.year}" if match.group(2) else text

    return lambda text: pattern.sub(replace, text or "")


def _load_meeting(
    programme: Programme,
    item: dict[str, Any],
    demo_date: dt.date | None,
    *,
    move: bool,
    rewrite: Any = _unchanged,
) -> None:
    """Create or update one meeting from its entry in the file.

    A demo meeting gets its coming date when it is created (or when a real programme becomes
    the demo), so running the demo again moves nothing.
    """
    slug = item.get("slug")
    if not slug or "date" not in item:
        raise ProgrammeFileError("chaque séance doit avoir « slug » et « date »")
    where = f"séance « {slug} »"
    day = demo_date or _date(item["date"], where)
    times = _times(day, item.get("start"), item.get("end"), where)
    meeting = db.session.scalar(db.select(Meeting).filter_by(slug=slug))
    creating = meeting is None
    if creating:
        meeting = Meeting(slug=slug, programme=programme)
        db.session.add(meeting)
    topic = item.get("topic")
    values: dict[str, Any] = dict(
        programme=programme,
        title=rewrite(topic) if topic else TOPIC_TO_COME,
        topic_announced=bool(topic),
        mode=_choice(MeetingMode, item.get("mode", "video"), "mode", where),
        address=item.get("address", ""),
        description=rewrite((item.get("description") or "").strip()),
        speakers=[dict(s) for s in item.get("speakers") or []],
        partners=list(item.get("partners") or []),
        approval_mode=_choice(ApprovalMode, item.get("approval", "automatic"), "approval", where),
        status=_choice(MeetingStatus, item.get("status", "published"), "status", where),
    )
    if creating:
        capacity = item.get("capacity", 100)
        if not isinstance(capacity, int) or capacity < 0:
            raise ProgrammeFileError(f"{where} : « capacity » doit être un nombre de places")
        values["capacity"] = capacity
    if demo_date is None:
        values.update(times)
    elif creating or move:
        values.update(times)
        values.update(registration_opens_at=utcnow(), video_url=DEMO_VIDEO_URL)
        values.update(video_meeting_id="000 0000 0000", video_passcode="demo")
    _assign(meeting, **values)


def _date(value: Any, where: str) -> dt.date:
    """Return the day of a meeting from the file (YAML date or ISO text)."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as error:
        message = f"{where} : date invalide « {value} » (format attendu AAAA-MM-JJ)"
        raise ProgrammeFileError(message) from error


def _choice(kind: type[enum.Enum], value: Any, key: str, where: str) -> Any:
    """Return the enum member named in the file, or say which values are allowed."""
    try:
        return kind(value)
    except ValueError as error:
        allowed = ", ".join(str(member.value) for member in kind)
        message = f"{where} : « {key} » vaut « {value} » ; valeurs possibles : {allowed}"
        raise ProgrammeFileError(message) from error


def _clock(value: Any, where: str) -> dt.time:
    """Return a wall-clock time from "HH:MM" in the file."""
    try:
        hours, minutes = (int(part) for part in str(value).split(":"))
        return dt.time(hours, minutes)
    except ValueError as error:
        message = f'{where} : heure invalide « {value} » (format attendu "HH:MM", entre guillemets)'
        raise ProgrammeFileError(message) from error


def _times(day: dt.date, start: Any, end: Any, where: str) -> dict[str, dt.datetime]:
    """Return starts_at and ends_at in UTC for a Paris wall-clock day and times."""

    def at(clock: Any) -> dt.datetime:
        try:
            hours, minutes = (int(part) for part in str(clock).split(":"))
            return dt.datetime.combine(day, dt.time(hours, minutes), PARIS).astimezone(dt.UTC)
        except ValueError as error:
            message = (
                f'{where} : heure invalide « {clock} » (format attendu "HH:MM", entre guillemets)'
            )
            raise ProgrammeFileError(message) from error

    starts_at, ends_at = at(start), at(end)
    if ends_at <= starts_at:
        raise ProgrammeFileError(f"{where} : la fin ({end}) doit suivre le début ({start})")
    return {"starts_at": starts_at, "ends_at": ends_at}


def _first_wednesdays(today: dt.date, count: int) -> list[dt.date]:
    """Return the next count first Wednesdays of a month, after today."""
    found: list[dt.date] = []
    month_start = today.replace(day=1)
    while len(found) < count:
        offset = (2 - month_start.weekday()) % 7  # Wednesday is 2
        wednesday = month_start + dt.timedelta(days=offset)
        if wednesday > today:
            found.append(wednesday)
        month_start = (month_start + dt.timedelta(days=32)).replace(day=1)
    return found


def _event(item: dict[str, Any]) -> dict[str, Any]:
    """Return a related event with its date as ISO text (JSON-friendly)."""
    event = dict(item)
    if isinstance(event.get("date"), dt.date):
        event["date"] = event["date"].isoformat()
    return event


def _assign(obj: Any, **values: Any) -> None:
    """Set only the attributes whose value differs, so an identical reload writes nothing."""
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)


def current_first() -> tuple:
    """Return the order that puts the current cycle first (see the module docstring).

    Cycles never published from the staff area (loaded from a file) have no published_at:
    among them the first loaded comes first, as it always did.
    """
    return (Programme.year.desc(), Programme.published_at.desc().nulls_last(), Programme.id)


def get_current_programme() -> Programme | None:
    """Return the published programme to show on the home page (the most recent one)."""
    return db.session.scalar(
        db.select(Programme).filter_by(published=True).order_by(*current_first()).limit(1)
    )


def archived_programmes() -> list[Programme]:
    """Return the published cycles other than the current one, most recent first."""
    published = db.session.scalars(
        db.select(Programme).filter_by(published=True).order_by(*current_first())
    ).all()
    return list(published[1:])


def find_public_programme(slug: str) -> Programme | None:
    """Return the published cycle with this slug (current or archived), else None."""
    return db.session.scalar(db.select(Programme).filter_by(slug=slug, published=True))


def is_demo_site() -> bool:
    """Return True when the database holds demonstration data (every page then says so)."""
    return bool(db.session.scalar(db.select(Programme.id).filter_by(is_demo=True).limit(1)))
