"""Load a programme from its data file, idempotently, or as a demonstration on coming dates."""

from __future__ import annotations

import datetime as dt
import enum
from pathlib import Path
from typing import Any

import yaml

from irev.dates import PARIS
from irev.extensions import db
from irev.models import ApprovalMode, Meeting, MeetingMode, MeetingStatus, Programme, utcnow

#: The programme the site ships with (the seed document).
DEFAULT_FILE = Path(__file__).resolve().parent.parent / "data" / "programme-2023.yaml"
#: Shown instead of a topic the document does not give yet.
TOPIC_TO_COME = "Thème à venir"
#: Demonstration video link: clearly not a real meeting room.
DEMO_VIDEO_URL = "https://visio.example.org/demo-irev"


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
    contact = data.get("contact") or {}
    _assign(
        programme,
        title=data["title"],
        year=int(data["year"]),
        audience=data.get("audience", ""),
        introduction=(data.get("introduction") or "").strip(),
        format_line=data.get("format_line", ""),
        contact_name=contact.get("name", ""),
        contact_role=contact.get("role", ""),
        contact_email=contact.get("email", ""),
        contact_phone=contact.get("phone", ""),
        planned_topics=list(data.get("planned_topics") or []),
        related_events=[_event(e) for e in data.get("related_events") or []],
        published=bool(data.get("published", True)),
        is_demo=demo,
    )
    defaults = data.get("meeting_defaults") or {}
    demo_dates = _first_wednesdays(today or dt.date.today(), len(data["meetings"]))
    for index, item in enumerate(data["meetings"]):
        demo_date = demo_dates[index] if demo else None
        _load_meeting(programme, {**defaults, **item}, demo_date, move=move)
    db.session.flush()
    return programme


def _load_meeting(
    programme: Programme, item: dict[str, Any], demo_date: dt.date | None, *, move: bool
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
        title=topic or TOPIC_TO_COME,
        topic_announced=bool(topic),
        mode=_choice(MeetingMode, item.get("mode", "video"), "mode", where),
        address=item.get("address", ""),
        description=(item.get("description") or "").strip(),
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


def get_current_programme() -> Programme | None:
    """Return the published programme to show on the home page (the most recent one)."""
    return db.session.scalar(
        db.select(Programme).filter_by(published=True).order_by(Programme.year.desc()).limit(1)
    )


def is_demo_site() -> bool:
    """Return True when the database holds demonstration data (every page then says so)."""
    return bool(db.session.scalar(db.select(Programme.id).filter_by(is_demo=True).limit(1)))
