"""person.civilite and person.accessibility_options; meeting.video_dial_in

Revision ID: 8c41d2e7f3a9
Revises: a560521a274c
Create Date: 2026-12-01 12:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "8c41d2e7f3a9"
down_revision = "a560521a274c"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("civilite", sa.String(length=20), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column(
                "accessibility_options", sa.String(length=200), nullable=False, server_default=""
            )
        )
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("video_dial_in", sa.String(length=200), nullable=False, server_default="")
        )


def downgrade():
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_column("video_dial_in")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("accessibility_options")
        batch_op.drop_column("civilite")
