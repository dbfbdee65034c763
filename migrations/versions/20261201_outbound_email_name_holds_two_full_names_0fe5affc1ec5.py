"""outbound email name holds two full names

A person's first and last names are 100 characters each: their full name, the recipient
name of every e-mail to them, is 201. The column held 200, so PostgreSQL refused the e-mail
(and the registration with it) for someone with both names at their maximum.

Revision ID: 0fe5affc1ec5
Revises: 07cab804ced3
Create Date: 2026-12-01 11:10:57.606036

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0fe5affc1ec5"
down_revision = "07cab804ced3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbound_email", schema=None) as batch_op:
        batch_op.alter_column(
            "to_name",
            existing_type=sa.VARCHAR(length=200),
            type_=sa.String(length=201),
            existing_nullable=False,
        )


def downgrade():
    # The narrower column cannot hold the longest names: cut them rather than fail.
    op.execute(
        "UPDATE outbound_email SET to_name = substr(to_name, 1, 200) WHERE length(to_name) > 200"
    )
    with op.batch_alter_table("outbound_email", schema=None) as batch_op:
        batch_op.alter_column(
            "to_name",
            existing_type=sa.String(length=201),
            type_=sa.VARCHAR(length=200),
            existing_nullable=False,
        )
