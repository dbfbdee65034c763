"""The audit log: one append-only row per staff or registrant action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from irev.dates import PARIS
from irev.extensions import db
from irev.models import AuditEvent, Person, StaffUser


def record(
    actor: StaffUser | Person | None,
    action: str,
    obj: Any = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event in the current transaction (actor None means the system itself)."""
    if isinstance(actor, StaffUser):
        actor_type, label = "staff", actor.email
    elif isinstance(actor, Person):
        actor_type, label = "person", f"personne n° {actor.id}"
    else:
        actor_type, label = "system", "système"
    event = AuditEvent(
        actor_type=actor_type,
        actor_id=actor.id if actor is not None else None,
        actor_label=label,
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=getattr(obj, "id", None),
        before=_jsonable(before),
        after=_jsonable(after),
    )
    db.session.add(event)
    return event


def _jsonable(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return values with dates and enums turned into text, fit for a JSON column."""
    if values is None:
        return None
    out: dict[str, Any] = {}
    for key, value in values.items():
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif hasattr(value, "value"):
            value = value.value
        out[key] = value
    return out


@dataclass(frozen=True)
class EventFilters:
    """What the staff's audit page filters on; empty values filter nothing."""

    action: str = ""
    actor: str = ""
    object_type: str = ""
    object_id: int | None = None
    since: date | None = None  # first Paris day shown
    until: date | None = None  # last Paris day shown


def events_query(filters: EventFilters) -> Select:
    """Return the audit events matching filters, newest first."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.actor:
        needle = filters.actor.lower()
        query = query.where(func.lower(AuditEvent.actor_label).contains(needle, autoescape=True))
    if filters.object_type:
        query = query.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id is not None:
        query = query.where(AuditEvent.object_id == filters.object_id)
    if filters.since:
        query = query.where(AuditEvent.at >= _start_of(filters.since))
    if filters.until:
        query = query.where(AuditEvent.at < _start_of(filters.until + timedelta(days=1)))
    return query


def recorded_actions_and_objects() -> tuple[list[str], list[str]]:
    """Return the actions and object types present in the log, for the filter lists."""
    actions = db.session.scalars(select(AuditEvent.action).distinct().order_by("action"))
    objects = db.session.scalars(select(AuditEvent.object_type).distinct().order_by("object_type"))
    return list(actions), [o for o in objects if o]


def _start_of(day: date) -> datetime:
    """Return the UTC moment a Paris day starts."""
    return datetime.combine(day, time(0), tzinfo=PARIS).astimezone(UTC)
