"""Settings an administrator sets from the staff area: the legal notice's details, the DPO.

Decisions:
- Only details the public pages state about IREV (publisher address, host, data protection
  officer) are here: they change with the deployment, and the people who know them are staff,
  not whoever installed the server. Everything technical stays in irev.config.
- A value saved here wins over the configured one (FLASK_IREV_…), which stays the default; an
  emptied field goes back to it. The pages read value(), never app.config, for these names.
- Every change is one audit row (settings.update) with the old and new values: they are public
  facts, not personal data.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from irev.extensions import db
from irev.models import SiteSetting, StaffUser
from irev.services import audit

#: Setting, French label, longest value.
EDITABLE: tuple[tuple[str, str, int], ...] = (
    ("IREV_PUBLISHER_ADDRESS", "Adresse postale de l'éditeur", 300),
    ("IREV_HOST_NAME", "Nom de l'hébergeur", 200),
    ("IREV_HOST_ADDRESS", "Adresse de l'hébergeur", 300),
    ("IREV_HOST_PHONE", "Téléphone de l'hébergeur", 40),
    ("IREV_DPO_EMAIL", "E-mail du délégué à la protection des données", 254),
)
NAMES = tuple(name for name, _, _ in EDITABLE)


def saved() -> dict[str, str]:
    """Return the values saved from the staff area, by name (one statement)."""
    rows = db.session.scalars(select(SiteSetting).where(SiteSetting.name.in_(NAMES)))
    return {row.name: row.value for row in rows}


def values() -> dict[str, str]:
    """Return every editable setting: the saved value, else the configured one (stripped)."""
    stored = saved()
    return {
        name: (stored.get(name) or str(current_app.config[name] or "")).strip() for name in NAMES
    }


def value(name: str) -> str:
    """Return one editable setting (see values())."""
    return values()[name]


def save(new: dict[str, str], actor: StaffUser) -> dict[str, tuple[str, str]]:
    """Save the form's values (empty: back to the configured one); return {name: (old, new)}."""
    before = values()
    stored = {row.name: row for row in db.session.scalars(select(SiteSetting))}
    for name in NAMES:
        text = " ".join((new.get(name) or "").split())
        row = stored.get(name)
        if text and row is None:
            db.session.add(SiteSetting(name=name, value=text))
        elif text and row is not None:
            row.value = text
        elif row is not None:
            db.session.delete(row)
    db.session.flush()
    after = values()
    changed = {name: (before[name], after[name]) for name in NAMES if before[name] != after[name]}
    if changed:
        audit.record(
            actor,
            "settings.update",
            None,
            before={name: old for name, (old, _) in changed.items()},
            after={name: new for name, (_, new) in changed.items()},
        )
    return changed
