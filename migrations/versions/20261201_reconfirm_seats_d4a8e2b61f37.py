"""reconfirm seats, and settings set from the staff area (slice reconfirm)

Before a full meeting, seated people are asked to confirm or free their seat: each cycle may
say how many days before (NULL: the setting IREV_RECONFIRM_DAYS_BEFORE; 0: never), and a
registration records when its person confirmed (NULL: not asked, or no answer).
The table site_setting holds what an administrator sets on « Réglages » (legal notice, DPO).

Revision ID: d4a8e2b61f37
Revises: 4d2f6b8e1a37
Create Date: 2026-12-01 14:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

import irev.models.types

# revision identifiers, used by Alembic.
revision = "d4a8e2b61f37"
down_revision = "4d2f6b8e1a37"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "site_setting",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", irev.models.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_site_setting")),
    )
    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reconfirm_days_before", sa.Integer(), nullable=True))
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reconfirmed_at", irev.models.types.UTCDateTime(), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.drop_column("reconfirmed_at")
    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.drop_column("reconfirm_days_before")
    op.drop_table("site_setting")
