"""cycle meeting defaults and publication time

A new meeting of a cycle starts with the cycle's usual times, capacity and approval mode
(17:00 to 19:00, 100 places, automatic), which staff can change per cycle. Existing cycles get
those usual values through the server defaults. published_at records when staff last
published a cycle: of two cycles of one year, the one published later is the current one
(existing cycles have none, and keep their order).

Revision ID: 9266634b4d7c
Revises: 5b1e0c7d9a2f
Create Date: 2026-12-01 11:36:06.890192

"""

import sqlalchemy as sa
from alembic import op

import irev.models.types

# revision identifiers, used by Alembic.
revision = "9266634b4d7c"
down_revision = "5b1e0c7d9a2f"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("published_at", irev.models.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("default_start", sa.Time(), server_default="17:00:00", nullable=False)
        )
        batch_op.add_column(
            sa.Column("default_end", sa.Time(), server_default="19:00:00", nullable=False)
        )
        batch_op.add_column(
            sa.Column("default_capacity", sa.Integer(), server_default="100", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "default_approval_mode",
                sa.Enum(
                    "automatic", "moderated", name="approval_mode", native_enum=False, length=32
                ),
                server_default="automatic",
                nullable=False,
            )
        )


def downgrade():
    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.drop_column("default_approval_mode")
        batch_op.drop_column("default_capacity")
        batch_op.drop_column("default_end")
        batch_op.drop_column("default_start")
        batch_op.drop_column("published_at")
