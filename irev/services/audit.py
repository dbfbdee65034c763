"""The audit log: one append-only row per staff or registrant action."""

from __future__ import annotations

from typing import Any

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
