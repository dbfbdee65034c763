"""The audit log: read-only, filterable by action, actor, object and date."""

from __future__ import annotations

from datetime import date

from flask import render_template, request

from irev.admin import audit_text, bp
from irev.extensions import db
from irev.request_guards import database_id, page_number
from irev.services import audit as audit_log

PER_PAGE = 50


def _day(value: str) -> date | None:
    """Return the date typed in a filter (yyyy-mm-dd), or None when empty or malformed."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.get("/journal")
def audit():
    """List audit events, newest first, with filters (nothing here can change them)."""
    args = request.args
    filters = {
        "action": args.get("action", "")[:80],
        "acteur": " ".join(args.get("acteur", "").split())[:100],
        "objet": args.get("objet", "")[:40],
        "numero": args.get("numero", "") if database_id(args.get("numero")) is not None else "",
        "du": args.get("du", "") if _day(args.get("du", "")) else "",
        "au": args.get("au", "") if _day(args.get("au", "")) else "",
    }
    query = audit_log.events_query(
        audit_log.EventFilters(
            action=filters["action"],
            actor=filters["acteur"],
            object_type=filters["objet"],
            object_id=int(filters["numero"]) if filters["numero"] else None,
            since=_day(filters["du"]),
            until=_day(filters["au"]),
        )
    )
    page = db.paginate(
        query, page=args.get("page", 1, type=page_number), per_page=PER_PAGE, error_out=False
    )
    actions, objects = audit_log.recorded_actions_and_objects()
    return render_template(
        "admin/audit.html",
        page=page,
        events=audit_text.describe(page.items),
        filters=filters,
        actions=[(a, audit_text.action_label(a)) for a in actions],
        objects=[(o, audit_text.object_label(o)) for o in objects],
    )
