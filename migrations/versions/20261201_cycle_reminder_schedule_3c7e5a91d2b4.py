"""cycle reminder schedule

Each cycle may say when the video link is e-mailed before its meetings (for example
"7j,veille@10:00,1h"). Existing cycles get NULL: they keep following the setting
IREV_VIDEO_LINK_SCHEDULE, as before.

Revision ID: 3c7e5a91d2b4
Revises: 8c41d2e7f3a9
Create Date: 2026-12-01 12:50:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "3c7e5a91d2b4"
down_revision = "8c41d2e7f3a9"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminder_schedule", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.drop_column("reminder_schedule")
