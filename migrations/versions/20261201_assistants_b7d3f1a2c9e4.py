"""assistants

Assistants (cabinet, secrétariat) register officials: a link between two people, the
assistant and the official, with the assistant's function. Deleting either person deletes the
link.

Revision ID: b7d3f1a2c9e4
Revises: 0e5d5b5b4a1e
Create Date: 2026-12-01 14:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

import irev.models.types

# revision identifiers, used by Alembic.
revision = "b7d3f1a2c9e4"
down_revision = "0e5d5b5b4a1e"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "assistant_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assistant_id", sa.Integer(), nullable=False),
        sa.Column("official_id", sa.Integer(), nullable=False),
        sa.Column("function", sa.String(length=100), nullable=False),
        sa.Column("created_at", irev.models.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("assistant_id <> official_id", name="ck_assistant_link_not_self"),
        sa.ForeignKeyConstraint(["assistant_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["official_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("assistant_id", "official_id", name="uq_assistant_link_pair"),
    )
    op.create_index("ix_assistant_link_assistant_id", "assistant_link", ["assistant_id"])
    op.create_index("ix_assistant_link_official_id", "assistant_link", ["official_id"])


def downgrade():
    op.drop_index("ix_assistant_link_official_id", table_name="assistant_link")
    op.drop_index("ix_assistant_link_assistant_id", table_name="assistant_link")
    op.drop_table("assistant_link")
