"""registration.submitted_details: details a form typed for a known person, until confirmed

Revision ID: 5b1e0c7d9a2f
Revises: 0fe5affc1ec5
Create Date: 2026-12-01 11:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5b1e0c7d9a2f"
down_revision = "0fe5affc1ec5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submitted_details", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.drop_column("submitted_details")
