"""staff roles and account links

Two roles for the team: every existing account becomes "admin" (administration), as it could
do everything before; invitations name the role. `link_version` voids e-mailed account links
(invitation, forgotten password) once one is used; `password_set_at` tells when the owner last
chose a password (existing accounts: when they were created, the only time it was set).

Revision ID: a560521a274c
Revises: 9ab0811c67f2
Create Date: 2026-12-01 11:37:00.996924

"""

import sqlalchemy as sa
from alembic import op

import irev.models.types

# revision identifiers, used by Alembic.
revision = "a560521a274c"
down_revision = "9ab0811c67f2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "role",
                sa.Enum("admin", "moderation", name="staff_role", native_enum=False, length=32),
                server_default="admin",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("password_set_at", irev.models.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("link_version", sa.Integer(), server_default="1", nullable=False)
        )
    op.execute("UPDATE staff_user SET password_set_at = created_at WHERE password_hash <> ''")


def downgrade():
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.drop_column("link_version")
        batch_op.drop_column("password_set_at")
        batch_op.drop_column("role")
