"""The multi-year accessibility plan and this year's action plan, edited by staff as text.

Decisions:
- The law asks for a « schéma pluriannuel » of three years at most and a yearly action plan,
  both public and linked from the statement. Staff (administration role) edit them as text in
  the staff area; the shipped `irev/data/rgaa/plan.yaml` is the text shown until they do.
- The text format is the one a person types without learning markup: blank lines separate
  paragraphs, lines starting with "- " make a list. Nothing is read as HTML (Jinja escapes it).
- One row (id 1) holds the plan; the database refuses more than three years and an action
  year outside them, as the form does. Every save is an audit row with the values before and
  after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from irev.extensions import db
from irev.models import AccessibilityPlan, StaffUser
from irev.services import accessibility_audit, audit

#: The longest text accepted in one part of the plan.
MAX_TEXT = 20_000
FIELDS = ("first_year", "last_year", "schema_text", "actions_year", "actions_text", "adopted_on")


class PlanError(ValueError):
    """A plan that cannot be saved, with the field it concerns and a French message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Block:
    """A paragraph (items empty) or a list (text empty) of the plan's text."""

    text: str = ""
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """What the public plan page and the statement show."""

    first_year: int
    last_year: int
    schema_text: str
    actions_year: int
    actions_text: str
    adopted_on: date

    @property
    def years(self) -> list[int]:
        """The years the multi-year plan covers."""
        return list(range(self.first_year, self.last_year + 1))

    @property
    def schema_blocks(self) -> list[Block]:
        """The multi-year plan's text, as paragraphs and lists."""
        return blocks(self.schema_text)

    @property
    def action_blocks(self) -> list[Block]:
        """This year's action plan, as paragraphs and lists."""
        return blocks(self.actions_text)

    def as_dict(self) -> dict[str, Any]:
        """The stored values, by field name (for the form and the audit row)."""
        return {name: getattr(self, name) for name in FIELDS}


def blocks(text: str) -> list[Block]:
    """Split text into paragraphs (blank lines between) and lists (lines starting "- ")."""
    found: list[Block] = []
    for chunk in text.replace("\r\n", "\n").split("\n\n"):
        lines = [line.strip() for line in chunk.split("\n") if line.strip()]
        paragraph: list[str] = []
        items: list[str] = []
        for line in lines:
            if line.startswith(("- ", "* ")):
                if paragraph:
                    found.append(Block(text=" ".join(paragraph)))
                    paragraph = []
                items.append(line[2:].strip())
            elif items and not paragraph and line[:1].islower():
                items[-1] += " " + line  # a list item typed over two lines
            else:
                if items:
                    found.append(Block(items=tuple(items)))
                    items = []
                paragraph.append(line)
        if paragraph:
            found.append(Block(text=" ".join(paragraph)))
        if items:
            found.append(Block(items=tuple(items)))
    return found


def default_plan() -> Plan:
    """The plan shipped in irev/data/rgaa/plan.yaml, as text."""
    data = accessibility_audit.plan()
    schema = data["schema"]
    years = schema["years"]
    schema_text = "\n\n".join(
        [
            schema["intro"].strip(),
            "\n".join(f"- {item}" for item in schema["commitments"]),
            schema["means"].strip(),
        ]
    )
    actions_text = "\n".join(f"- {item}" for item in data["actions"]["items"])
    return Plan(
        first_year=years[0],
        last_year=years[-1],
        schema_text=schema_text,
        actions_year=data["actions"]["year"],
        actions_text=actions_text,
        adopted_on=data["adopted"],
    )


def current_plan() -> Plan:
    """The plan as staff last saved it, or the shipped default."""
    row = db.session.get(AccessibilityPlan, 1)
    if row is None:
        return default_plan()
    return Plan(**{name: getattr(row, name) for name in FIELDS})


def check(values: dict[str, Any]) -> Plan:
    """Return the plan these values make, or raise PlanError naming the field at fault."""
    first, last, year = values["first_year"], values["last_year"], values["actions_year"]
    if last < first:
        raise PlanError("last_year", "La dernière année doit suivre la première (ou l’égaler).")
    if last - first > 2:
        raise PlanError("last_year", "Le schéma pluriannuel couvre trois ans au plus.")
    if not first <= year <= last:
        raise PlanError(
            "actions_year", f"L’année du plan d’actions doit être comprise entre {first} et {last}."
        )
    for name, label in (("schema_text", "du schéma"), ("actions_text", "du plan d’actions")):
        text = (values[name] or "").strip()
        if not blocks(text):
            raise PlanError(name, f"Saisissez le texte {label}.")
        if len(text) > MAX_TEXT:
            raise PlanError(name, f"Le texte {label} dépasse {MAX_TEXT} caractères.")
    return Plan(
        first_year=first,
        last_year=last,
        schema_text=values["schema_text"].strip().replace("\r\n", "\n"),
        actions_year=year,
        actions_text=values["actions_text"].strip().replace("\r\n", "\n"),
        adopted_on=values["adopted_on"],
    )


def update_plan(values: dict[str, Any], actor: StaffUser) -> bool:
    """Save the plan (raise PlanError when it cannot be); audit it; return False if unchanged."""
    new = check(values)
    old = current_plan()
    if new == old:
        return False
    row = db.session.get(AccessibilityPlan, 1)
    if row is None:
        row = AccessibilityPlan(id=1)
        db.session.add(row)
    for name, value in new.as_dict().items():
        setattr(row, name, value)
    db.session.flush()
    changed = [name for name in FIELDS if getattr(old, name) != getattr(new, name)]
    audit.record(
        actor,
        "accessibility_plan.update",
        row,
        before={name: getattr(old, name) for name in changed},
        after={name: getattr(new, name) for name in changed},
    )
    return True
