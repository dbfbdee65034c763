"""Cycles (programmes) run from the staff area: create, edit, duplicate, publish, unpublish.

Decisions carried out here:
- A new or duplicated cycle starts unpublished and its meetings as drafts: nothing reaches the
  public until staff publish the cycle (and its meetings, one by one or all at once).
- The current cycle is the most recent published one (irev.services.programmes.current_first);
  publishing a newer cycle moves the previous one to the public archive, where its pages and
  calendars keep their addresses. Unpublishing takes a cycle and its meeting pages off the site.
- Duplicating copies the texts, the contact, the meeting defaults and the planned topics, and
  each meeting's format, hours, capacity and approval mode onto new dates (by default the first
  Wednesdays of the next semester). Topics, speakers and partners are copied only when asked;
  registrations, video links and related events (dated, of the old cycle) never are.
- Every function works in the caller's transaction and records one audit row.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from irev.dates import PARIS
from irev.extensions import db
from irev.models import ApprovalMode, Meeting, MeetingStatus, Programme, StaffUser, utcnow
from irev.services import audit
from irev.services.link_schedule import (
    ScheduleError,
    configured_schedule,
    describe_schedule,
    parse_schedule,
    schedule_for,
)
from irev.services.meetings_admin import OVERNIGHT_MAX, parse_lines, slugify, snapshot
from irev.services.programmes import TOPIC_TO_COME
from irev.services.reconfirmation import MAX_DAYS, reconfirm_text

#: What the reminder schedule's error messages call the field.
SCHEDULE_NAME = "le calendrier d'envoi du lien"

#: Fields of the cycle form (the audit log compares them).
CYCLE_FIELDS = (
    "title",
    "year",
    "audience",
    "format_line",
    "introduction",
    "planned_topics",
    "related_events",
    "contact_name",
    "contact_role",
    "contact_email",
    "contact_phone",
    "retention_months",
    "default_start",
    "default_end",
    "default_capacity",
    "default_approval_mode",
    "reminder_schedule",
    "reconfirm_days_before",
)
#: Fields kept as they are when a form leaves them out (see forms_cycles.RequiredWhenSent).
KEPT_WHEN_ABSENT = ("year", "default_start", "default_end", "default_capacity")
#: Meeting fields a duplicate always copies; TOPIC_FIELDS only when asked.
COPIED_FIELDS = ("mode", "address", "capacity", "approval_mode")
TOPIC_FIELDS = ("title", "topic_announced", "description", "speakers", "partners")
#: Months with no meeting: the summer break (a semester starts in September or January).
BREAK_MONTHS = frozenset({8})


class CycleError(ValueError):
    """A cycle change is refused; the French message says why and names the field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# ---------- Related events: one per line, "date ; title ; place ; description" ----------

_DAY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$|^(\d{4})-(\d{2})-(\d{2})$")


def parse_events(text: str) -> list[dict[str, str]]:
    """Read related events, one per line: "jj/mm/aaaa ; titre ; lieu ; description"."""
    events = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split(";", 3)] + ["", "", ""]
        day, title, place, description = parts[:4]
        if not title:
            raise CycleError(
                f"Ligne {number} des événements liés : donnez la date puis le titre, séparés "
                "par un point-virgule, par exemple « 09/03/2027 ; Journée régionale ; Lille ».",
                "related_events",
            )
        events.append(
            {
                "title": title,
                "date": _event_day(day, number).isoformat() if day else "",
                "place": place,
                "description": description,
            }
        )
    return events


def _event_day(text: str, number: int) -> date:
    """Return the day written jj/mm/aaaa (or AAAA-MM-JJ) on line number of the events."""
    match = _DAY.match(text)
    try:
        if not match:
            raise ValueError(text)
        if match.group(1):
            day = date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        else:
            day = date(int(match.group(4)), int(match.group(5)), int(match.group(6)))
    except ValueError as error:
        raise CycleError(
            f"Ligne {number} des événements liés : « {text} » n'est pas une date valide "
            "(format jj/mm/aaaa, par exemple 09/03/2027).",
            "related_events",
        ) from error
    if not 2000 <= day.year <= 2100:
        raise CycleError(
            f"Ligne {number} des événements liés : saisissez une date entre 2000 et 2100.",
            "related_events",
        )
    return day


def format_events(events: list[dict[str, Any]]) -> str:
    """Write related events back as lines for the form."""
    lines = []
    for event in events or []:
        day = str(event.get("date") or "")
        with contextlib.suppress(ValueError):  # a file may hold free text: keep it
            day = date.fromisoformat(day).strftime("%d/%m/%Y") if day else ""
        parts = [day, event.get("title", ""), event.get("place", ""), event.get("description", "")]
        while parts and not parts[-1]:
            parts.pop()
        lines.append(" ; ".join(str(part) for part in parts))
    return "\n".join(lines)


# ---------- Create and edit ----------


def form_data(programme: Programme) -> dict[str, Any]:
    """Return a cycle's values the way its form shows them."""
    data = {name: getattr(programme, name) for name in CYCLE_FIELDS}
    data["planned_topics"] = "\n".join(programme.planned_topics or [])
    data["related_events"] = format_events(programme.related_events)
    data["default_approval_mode"] = programme.default_approval_mode.value
    return data


def new_cycle_data(today: date | None = None) -> dict[str, Any]:
    """Return what the new-cycle form starts with (the usual meeting defaults)."""
    return {
        "year": (today or date.today()).year,
        "default_start": time(17),
        "default_end": time(19),
        "default_capacity": 100,
        "default_approval_mode": ApprovalMode.AUTOMATIC.value,
        "retention_months": 12,
    }


def _values(data: dict[str, Any], current: Programme | None) -> dict[str, Any]:
    """Turn validated form data into model values (None keeps a stored value)."""
    values: dict[str, Any] = {}
    for name in ("title", "audience", "format_line", "introduction"):
        values[name] = (data.get(name) or "").strip()
    for name in ("contact_name", "contact_role", "contact_email", "contact_phone"):
        values[name] = (data.get(name) or "").strip()
    values["planned_topics"] = parse_lines(data.get("planned_topics") or "")
    values["related_events"] = parse_events(data.get("related_events") or "")
    values["retention_months"] = int(data["retention_months"])
    for name in KEPT_WHEN_ABSENT:
        value = data.get(name)
        values[name] = getattr(current, name) if value is None and current else value
    approval = data.get("default_approval_mode")
    values["default_approval_mode"] = (
        ApprovalMode(approval) if approval else getattr(current, "default_approval_mode", None)
    )
    values["reminder_schedule"] = _schedule(data.get("reminder_schedule"), current)
    values["reconfirm_days_before"] = _reconfirm_days(data.get("reconfirm_days_before"))
    start, end = values["default_start"], values["default_end"]
    if start is not None and end is not None and not _usual_span_ok(start, end):
        message = (
            "L'heure de fin habituelle doit être après l'heure de début. Une heure de fin plus "
            "tôt que le début veut dire le lendemain (par exemple de 22:00 à 00:30), pour une "
            "séance de 12 heures au plus."
        )
        raise CycleError(message, "default_end")
    return values


def _usual_span_ok(start: time, end: time) -> bool:
    """Return True for usual hours a meeting may have (the rule of meetings_admin.end_moment)."""
    day = date(2000, 1, 5)
    span = datetime.combine(day, end) - datetime.combine(day, start)
    if end < start:  # across midnight: the next day
        return span + timedelta(days=1) <= OVERNIGHT_MAX
    return span > timedelta(0)


def _schedule(text: str | None, current: Programme | None) -> str | None:
    """Return the schedule to store: None (follow the setting) when empty; kept when not sent."""
    if text is None:
        return current.reminder_schedule if current else None
    text = " ".join(text.split())
    if not text:
        return None
    try:
        parse_schedule(text, SCHEDULE_NAME)
    except ScheduleError as error:
        raise CycleError(str(error), "reminder_schedule") from None
    return text


def _reconfirm_days(value: Any) -> int | None:
    """Return the days to store: None (follow the setting) when empty; refuse out of range."""
    if value is None or value == "":
        return None
    if not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
        message = f"Saisissez un nombre de jours entre 0 et {MAX_DAYS} (0 : jamais)."
        raise CycleError(message, "reconfirm_days_before")
    return value


def schedule_texts(programme: Programme | None) -> dict[str, str]:
    """Return, in French, when a cycle's links go out and what the setting says."""
    default = describe_schedule(configured_schedule())
    own = describe_schedule(schedule_for(programme)) if programme else default
    return {
        "schedule_text": own,
        "default_schedule_text": default,
        "reconfirm_text": reconfirm_text(programme),
        "default_reconfirm_text": reconfirm_text(None),
    }


def create_cycle(data: dict[str, Any], actor: StaffUser) -> Programme:
    """Add an unpublished cycle with the form's texts and meeting defaults."""
    values = _values(data, None)
    programme = Programme(slug=_free_programme_slug(values["title"], values["year"]), **values)
    programme.published = False
    db.session.add(programme)
    db.session.flush()
    audit.record(actor, "cycle.create", programme, after=snapshot(programme, CYCLE_FIELDS))
    return programme


def update_cycle(programme: Programme, data: dict[str, Any], actor: StaffUser) -> dict:
    """Apply the cycle form; return the changed fields (after)."""
    values = _values(data, programme)
    before = snapshot(programme, CYCLE_FIELDS)
    for name, value in values.items():
        if getattr(programme, name) != value:
            setattr(programme, name, value)
    db.session.flush()
    after = snapshot(programme, CYCLE_FIELDS)
    changed = [name for name in after if before[name] != after[name]]
    if changed:
        audit.record(
            actor,
            "programme.update",
            programme,
            before={n: before[n] for n in changed},
            after={n: after[n] for n in changed},
        )
    return {n: after[n] for n in changed}


def _free_programme_slug(title: str, year: int) -> str:
    """Return a free slug "<title>-<year>" for a new cycle."""
    base = slugify(title)[:100]
    if str(year) not in base:
        base = f"{base}-{year}"
    return _free_slug(Programme, base)


def _free_slug(model, base: str) -> str:
    """Return base, or base-2, base-3 … : the first slug no row of model holds."""
    slug, n = base, 2
    while db.session.scalar(db.select(model.id).filter_by(slug=slug)) is not None:
        slug, n = f"{base}-{n}", n + 1
    return slug


# ---------- Publish ----------


def publish_cycle(programme: Programme, actor: StaffUser, *, with_meetings: bool = False) -> int:
    """Put a cycle on the site (and its draft meetings when asked); return meetings published."""
    from irev.services import meetings_admin

    published = 0
    if with_meetings:
        for meeting in programme.meetings:
            if meeting.status is MeetingStatus.DRAFT:
                meetings_admin.set_status(meeting, MeetingStatus.PUBLISHED, actor)
                published += 1
    if not programme.published:
        programme.published = True
        programme.published_at = utcnow()
        db.session.flush()
        before, after = {"published": False}, {"published": True}
        audit.record(actor, "cycle.publish", programme, before=before, after=after)
    return published


def unpublish_cycle(programme: Programme, actor: StaffUser) -> None:
    """Take a cycle off the site: its page, meetings and calendars answer 404 until published."""
    if not programme.published:
        return
    programme.published = False
    db.session.flush()
    before, after = {"published": True}, {"published": False}
    audit.record(actor, "cycle.unpublish", programme, before=before, after=after)


def draft_count(programme: Programme) -> int:
    """Return how many of the cycle's meetings are still drafts."""
    return sum(1 for m in programme.meetings if m.status is MeetingStatus.DRAFT)


# ---------- Duplicate ----------


def meetings_to_copy(programme: Programme) -> list[Meeting]:
    """Return the meetings a duplicate copies (every one not cancelled), in date order."""
    return [m for m in programme.meetings if m.status is not MeetingStatus.CANCELLED]


def next_semester_start(programme: Programme, today: date | None = None) -> date:
    """Return the first day of the semester after both the cycle's last meeting and today.

    A semester starts in January or September (a cycle may run until July).
    """
    today = today or date.today()
    days = [m.starts_at.astimezone(PARIS).date() for m in programme.meetings]
    latest = max([*days, today])
    return date(latest.year, 9, 1) if latest.month <= 7 else date(latest.year + 1, 1, 1)


def first_wednesdays(start: date, count: int) -> list[date]:
    """Return the first Wednesdays of count months from start's month on (summer break off)."""
    found: list[date] = []
    month = start.replace(day=1)
    while len(found) < count:
        if month.month not in BREAK_MONTHS:
            wednesday = month + timedelta(days=(2 - month.weekday()) % 7)
            if wednesday >= start:
                found.append(wednesday)
        month = (month + timedelta(days=32)).replace(day=1)
    return found


def duplicate_data(programme: Programme, today: date | None = None) -> dict[str, Any]:
    """Return what the duplicate form suggests: the next year's title and semester's dates."""
    start = next_semester_start(programme, today)
    count = len(meetings_to_copy(programme))
    data: dict[str, Any] = {"title": programme.title, "year": start.year}
    for n, day in enumerate(first_wednesdays(start, count), start=1):
        data[f"day_{n}"] = day
    return data


def duplicate_cycle(
    source: Programme,
    *,
    title: str,
    year: int,
    days: list[date],
    keep_topics: bool,
    actor: StaffUser,
) -> Programme:
    """Create an unpublished copy of a cycle with its meetings, as drafts, on the given days."""
    meetings = meetings_to_copy(source)
    if len(days) != len(meetings):
        raise CycleError("Donnez une date pour chaque séance du cycle.")
    title = title.strip()
    copy = Programme(
        slug=_free_programme_slug(title, year),
        title=title,
        year=year,
        published=False,
        **{
            name: getattr(source, name)
            for name in CYCLE_FIELDS
            if name not in ("title", "year", "related_events")
        },
    )
    copy.planned_topics = list(source.planned_topics or [])
    copy.related_events = []
    db.session.add(copy)
    for meeting, day in zip(meetings, days, strict=True):
        _copy_meeting(meeting, copy, day, keep_topics)
    db.session.flush()
    audit.record(
        actor,
        "cycle.duplicate",
        copy,
        before={"source": source.id, "source_title": source.title},
        after={
            "title": copy.title,
            "year": copy.year,
            "days": [day.isoformat() for day in days],
            "keep_topics": keep_topics,
        },
    )
    return copy


def _copy_meeting(meeting: Meeting, programme: Programme, day: date, keep_topics: bool) -> Meeting:
    """Add a draft copy of meeting to programme on day, at the same Paris hours."""
    start = meeting.starts_at.astimezone(PARIS)
    end = meeting.ends_at.astimezone(PARIS)
    starts_at = _paris(day, start.time())
    ends_at = _paris(day + (end.date() - start.date()), end.time())
    values = {name: getattr(meeting, name) for name in COPIED_FIELDS}
    if keep_topics:
        values.update({name: getattr(meeting, name) for name in TOPIC_FIELDS})
        values["speakers"] = [dict(s) for s in meeting.speakers or []]
        values["partners"] = list(meeting.partners or [])
    else:
        values.update(title=TOPIC_TO_COME, topic_announced=False, description="")
        values.update(speakers=[], partners=[])
    copy = Meeting(
        programme=programme,
        starts_at=starts_at,
        ends_at=ends_at,
        status=MeetingStatus.DRAFT,
        slug=_free_slug(Meeting, f"{day.isoformat()}-{slugify(values['title'])}"[:110]),
        **values,
    )
    db.session.add(copy)
    db.session.flush()  # the next copy's slug check sees this one
    return copy


def _paris(day: date, clock: time) -> datetime:
    """Return the UTC moment of a Paris wall-clock day and time."""
    return datetime.combine(day, clock, tzinfo=PARIS).astimezone(UTC)


# ---------- New meetings ----------


def meeting_defaults(programme: Programme, today: date | None = None) -> dict[str, Any]:
    """Return what the new-meeting form starts with: the cycle's defaults, on the next date.

    The suggested day is the first Wednesday of the month after the cycle's last meeting (or
    the next first Wednesday from today when the cycle has none, or when that day is past).
    """
    today = today or date.today()
    days = [m.starts_at.astimezone(PARIS).date() for m in programme.meetings]
    after = max(days) if days else today
    month = (after.replace(day=1) + timedelta(days=32)).replace(day=1) if days else after
    [day] = first_wednesdays(max(month, today), 1)
    return {
        "day": day,
        "start": programme.default_start,
        "end": programme.default_end,
        "capacity": programme.default_capacity,
        "approval_mode": programme.default_approval_mode.value,
        "mode": "video",
        "topic_announced": True,
    }


def cycles_for_staff() -> list[Programme]:
    """Return every cycle, the current one first, for the staff list."""
    from irev.services.programmes import current_first

    return list(db.session.scalars(db.select(Programme).order_by(*current_first())))


def is_current(programme: Programme) -> bool:
    """Return True when programme is the one the public home page shows."""
    from irev.services.programmes import get_current_programme

    current = get_current_programme()
    return current is not None and current.id == programme.id
