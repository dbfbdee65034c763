"""The audit log: read-only, filterable by action, actor, object and date."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import render_template, request
from sqlalchemy import func

from irev.admin import bp
from irev.dates import PARIS
from irev.extensions import db
from irev.models import AuditEvent

PER_PAGE = 50


def _day(value: str) -> date | None:
    """Return the date typed in a filter (yyyy-mm-dd), or None when empty or malformed."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _start_of(day: date) -> datetime:
    """Return the UTC moment a Paris day starts."""
    return datetime.combine(day, time(0), tzinfo=PARIS).astimezone(UTC)


@bp.get("/journal")
def audit():
    """List audit events, newest first, with filters (nothing here can change them)."""
    args = request.args
    filters = {
        "action": args.get("action", "")[:80],
        "acteur": " ".join(args.get("acteur", "").split())[:100],
        "objet": args.get("objet", "")[:40],
        "numero": args.get("numero", "") if args.get("numero", "").isdigit() else "",
        "du": args.get("du", "") if _day(args.get("du", "")) else "",
        "au": args.get("au", "") if _day(args.get("au", "")) else "",
    }
    query = db.select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if filters["action"]:
        query = query.where(AuditEvent.action == filters["action"])
    if filters["acteur"]:
        query = query.where(
            func.lower(AuditEvent.actor_label).contains(filters["acteur"].lower(), autoescape=True)
        )
    if filters["objet"]:
        query = query.where(AuditEvent.object_type == filters["objet"])
    if filters["numero"]:
        query = query.where(AuditEvent.object_id == int(filters["numero"]))
    if filters["du"]:
        query = query.where(AuditEvent.at >= _start_of(_day(filters["du"])))
    if filters["au"]:
        query = query.where(AuditEvent.at < _start_of(_day(filters["au"]) + timedelta(days=1)))
    page = db.paginate(
        query, page=args.get("page", 1, type=int) or 1, per_page=PER_PAGE, error_out=False
    )
    actions = db.session.scalars(db.select(AuditEvent.action).distinct().order_by("action"))
    objects = db.session.scalars(
        db.select(AuditEvent.object_type).distinct().order_by("object_type")
    )
    return render_template(
        "admin/audit.html",
        page=page,
        filters=filters,
        actions=list(actions),
        objects=[o for o in objects if o],
    )
