"""Load a programme from its data file, idempotently, or as a demonstration on coming dates."""

from __future__ import annotations

import datetime as dt
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
    """Read and minimally check a programme file."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ProgrammeFileError(f"lecture impossible de {path} : {error}") from error
    if not isinstance(data, dict):
        raise ProgrammeFileError(f"{path} ne décrit pas un programme")
    for key in ("slug", "title", "year", "meetings"):
        if key not in data:
            raise ProgrammeFileError(f"{path} : la clé « {key} » manque")
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
        _load_meeting(programme, {**defaults, **item}, demo_dates[index] if demo else None)
    db.session.flush()
    return programme


def _load_meeting(programme: Programme, item: dict[str, Any], demo_date: dt.date | None) -> None:
    """Create or update one meeting from its entry in the file."""
    slug = item.get("slug")
    if not slug or "date" not in item:
        raise ProgrammeFileError("chaque séance doit avoir « slug » et « date »")
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
        mode=MeetingMode(item.get("mode", "video")),
        address=item.get("address", ""),
        description=(item.get("description") or "").strip(),
        speakers=[dict(s) for s in item.get("speakers") or []],
        partners=list(item.get("partners") or []),
        approval_mode=ApprovalMode(item.get("approval", "automatic")),
        status=MeetingStatus(item.get("status", "published")),
    )
    if creating:
        values["capacity"] = int(item.get("capacity", 100))
    if demo_date is None:
        values.update(_times(item["date"], item["start"], item["end"]))
    elif creating:
        values.update(_times(demo_date, item["start"], item["end"]))
        values.update(registration_opens_at=utcnow(), video_url=DEMO_VIDEO_URL)
        values.update(video_meeting_id="000 0000 0000", video_passcode="demo")
    _assign(meeting, **values)


def _times(day: dt.date | str, start: str, end: str) -> dict[str, dt.datetime]:
    """Return starts_at and ends_at in UTC for a Paris wall-clock day and times."""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)

    def at(clock: str) -> dt.datetime:
        hours, minutes = (int(part) for part in str(clock).split(":"))
        return dt.datetime.combine(day, dt.time(hours, minutes), PARIS).astimezone(dt.UTC)

    return {"starts_at": at(start), "ends_at": at(end)}


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
