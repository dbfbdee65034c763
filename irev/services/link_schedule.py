"""The schedule of the video link: when, before a meeting, the link goes to the seated.

The schedule is a comma-separated list of moments before a meeting. Each cycle may have its own
(Programme.reminder_schedule, edited on the cycle page); a cycle without one follows the setting
IREV_VIDEO_LINK_SCHEDULE:

- ``veille@10:00``: the day before, at 10:00 Paris time (``veille@10h``, ``veille@9h30`` too);
- ``J-2@18:00``: two days before at 18:00 (``J-1`` is ``veille``, ``J-0`` the same day);
- ``1h``, ``30min``, ``1h30``, ``2j``: that long before the start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app

from irev.dates import PARIS
from irev.models import Meeting, Programme


class ScheduleError(ValueError):
    """A schedule cannot be read; the French message says which part and why."""


@dataclass(frozen=True)
class Offset:
    """One moment before a meeting: a duration before the start, or a day before at a time."""

    before: timedelta | None = None
    days_before: int = 0
    at: time | None = None

    def moment(self, starts_at: datetime) -> datetime:
        """Return the moment (UTC) for a meeting starting at starts_at."""
        if self.before is not None:
            return starts_at - self.before
        assert self.at is not None
        day: date = starts_at.astimezone(PARIS).date() - timedelta(days=self.days_before)
        # Wall-clock time in Paris: across a change of hour, "10:00" stays 10:00 local.
        return datetime.combine(day, self.at, tzinfo=PARIS).astimezone(starts_at.tzinfo)


_DAY = re.compile(r"^(?:veille|j-?(\d+))@(\d{1,2})(?:[:h](\d{2})?)?$")
_DURATION = re.compile(r"^(?:(\d+)j)?(?:(\d+)h)?(?:(\d+)(?:min|m)?)?$")


#: What the messages call the setting; the cycle form names its own field.
SETTING_NAME = "IREV_VIDEO_LINK_SCHEDULE"


def parse_schedule(text: str, name: str = SETTING_NAME) -> list[Offset]:
    """Read a schedule such as "veille@10:00,1h"; raise ScheduleError with a French message."""
    offsets = []
    for raw in str(text).split(","):
        item = "".join(raw.split()).lower().replace("jour@", "j-0@")
        if not item:
            continue
        offsets.append(_parse_item(item, raw.strip(), name))
    if not offsets:
        raise ScheduleError(f"{name} est vide : indiquez au moins un moment.")
    return offsets


def _parse_item(item: str, raw: str, name: str = SETTING_NAME) -> Offset:
    """Read one element of the schedule."""
    day = _DAY.match(item)
    if day:
        days = 1 if item.startswith("veille") else int(day.group(1))
        hours, minutes = int(day.group(2)), int(day.group(3) or 0)
        if hours > 23 or minutes > 59:
            raise ScheduleError(f"Heure invalide dans « {raw} » (attendu : 00:00 à 23:59).")
        return Offset(days_before=days, at=time(hours, minutes))
    duration = _DURATION.match(item)
    if duration and any(duration.groups()) and not item.isdigit():
        days, hours, minutes = (int(group or 0) for group in duration.groups())
        before = timedelta(days=days, hours=hours, minutes=minutes)
        if before <= timedelta(0):
            raise ScheduleError(f"Durée nulle dans « {raw} ».")
        return Offset(before=before)
    raise ScheduleError(
        f"Élément illisible dans {name} : « {raw} ». Exemples valides : "
        "« veille@10:00 », « J-2@18:00 », « 1h », « 30min », « 1h30 »."
    )


def configured_schedule() -> list[Offset]:
    """Return the offsets of IREV_VIDEO_LINK_SCHEDULE."""
    return parse_schedule(current_app.config["IREV_VIDEO_LINK_SCHEDULE"])


def schedule_for(programme: Programme) -> list[Offset]:
    """Return the offsets of a cycle: its own schedule, else IREV_VIDEO_LINK_SCHEDULE.

    A stored schedule was checked when staff saved it; one made unreadable behind the form's
    back (a direct database edit) must not stop every other cycle's links, so it falls back to
    the setting, with a warning in the log.
    """
    if programme.reminder_schedule:
        try:
            return parse_schedule(programme.reminder_schedule)
        except ScheduleError as error:
            current_app.logger.warning(
                "Calendrier d'envoi illisible pour le cycle %s (%s) : valeur par défaut utilisée.",
                programme.id,
                error,
            )
    return configured_schedule()


def _clock(moment: time) -> str:
    """Return "10 h" or "9 h 30"."""
    return f"{moment.hour} h" + (f" {moment.minute:02d}" if moment.minute else "")


def _duration(before: timedelta) -> str:
    """Return "2 jours", "1 h 30" or "30 min"."""
    days, rest = before.days, before.seconds
    hours, minutes = rest // 3600, rest % 3600 // 60
    parts = []
    if days:
        parts.append(f"{days} jour{'s' if days > 1 else ''}")
    if hours:
        parts.append(f"{hours} h" + (f" {minutes:02d}" if minutes else ""))
    elif minutes:
        parts.append(f"{minutes} min")
    return " ".join(parts)


def describe_schedule(offsets: list[Offset]) -> str:
    """Return a schedule in French: « la veille à 10 h ; 1 h avant »."""
    parts = []
    for offset in offsets:
        if offset.before is not None:
            parts.append(f"{_duration(offset.before)} avant")
            continue
        assert offset.at is not None
        day = {0: "le jour même", 1: "la veille"}.get(
            offset.days_before, f"{offset.days_before} jours avant"
        )
        parts.append(f"{day} à {_clock(offset.at)}")
    return " ; ".join(parts)


def send_moments(meeting: Meeting, offsets: list[Offset]) -> list[datetime]:
    """Return the moments the link goes out for a meeting, earliest first (before its start)."""
    moments = {offset.moment(meeting.starts_at) for offset in offsets}
    return sorted(moment for moment in moments if moment < meeting.starts_at)
