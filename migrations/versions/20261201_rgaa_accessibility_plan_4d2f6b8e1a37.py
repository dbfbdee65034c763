"""rgaa: accessibility plan edited by staff

The multi-year accessibility plan (three years at most) and this year's action plan, as text,
in one row. Without the row the site shows the default shipped in irev/data/rgaa/plan.yaml.

Revision ID: 4d2f6b8e1a37
Revises: b7d4e2a9c615
Create Date: 2026-12-01 14:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

from irev.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = "4d2f6b8e1a37"
down_revision = "b7d4e2a9c615"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "accessibility_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_year", sa.Integer(), nullable=False),
        sa.Column("last_year", sa.Integer(), nullable=False),
        sa.Column("schema_text", sa.Text(), nullable=False),
        sa.Column("actions_year", sa.Integer(), nullable=False),
        sa.Column("actions_text", sa.Text(), nullable=False),
        sa.Column("adopted_on", sa.Date(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_accessibility_plan_single_row")),
        sa.CheckConstraint(
            "last_year >= first_year AND last_year - first_year <= 2",
            name=op.f("ck_accessibility_plan_three_years_at_most"),
        ),
        sa.CheckConstraint(
            "actions_year >= first_year AND actions_year <= last_year",
            name=op.f("ck_accessibility_plan_action_year_in_plan"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accessibility_plan")),
    )


def downgrade():
    op.drop_table("accessibility_plan")
