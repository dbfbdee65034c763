"""The accessibility plan the statement links to, as staff last saved it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Text
from sqlalchemy.orm import Mapped, mapped_column

from irev.extensions import db
from irev.models.types import UTCDateTime, utcnow


class AccessibilityPlan(db.Model):
    """The multi-year plan (three years at most) and this year's action plan, as text.

    One row at most (id 1); without it the site shows the default of irev/data/rgaa/plan.yaml.
    """

    __tablename__ = "accessibility_plan"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint(
            "last_year >= first_year AND last_year - first_year <= 2", name="three_years_at_most"
        ),
        CheckConstraint(
            "actions_year >= first_year AND actions_year <= last_year", name="action_year_in_plan"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_year: Mapped[int]
    last_year: Mapped[int]
    #: Paragraphs separated by blank lines; lines starting with "- " form a list.
    schema_text: Mapped[str] = mapped_column(Text)
    actions_year: Mapped[int]
    #: Same text format as schema_text.
    actions_text: Mapped[str] = mapped_column(Text)
    adopted_on: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
