"""followup: meeting resources (files and replay link)

Files staff add to a meeting after it (slides, compte rendu) and its replay link, at most one
replay per meeting. The files themselves live on disk (IREV_RESOURCES_DIR), not in the database.

Revision ID: 0e5d5b5b4a1e
Revises: 7d41c0a2e9b3
Create Date: 2026-12-01 14:19:07.775042

"""

import sqlalchemy as sa
from alembic import op

import irev.models.types

# revision identifiers, used by Alembic.
revision = "0e5d5b5b4a1e"
down_revision = "7d41c0a2e9b3"
branch_labels = None
depends_on = None

REPLAY = sa.text("kind = 'replay'")


def upgrade():
    op.create_table(
        "meeting_resource",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("file", "replay", name="resource_kind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("stored_name", sa.String(length=80), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", irev.models.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("size >= 0", name=op.f("ck_meeting_resource_resource_size_positive")),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_meeting_resource_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["staff_user.id"],
            name=op.f("fk_meeting_resource_uploaded_by_id_staff_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_resource")),
    )
    with op.batch_alter_table("meeting_resource", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meeting_resource_meeting_id"), ["meeting_id"], unique=False
        )
        batch_op.create_index(
            "uq_meeting_resource_one_replay",
            ["meeting_id"],
            unique=True,
            sqlite_where=REPLAY,
            postgresql_where=REPLAY,
        )


def downgrade():
    with op.batch_alter_table("meeting_resource", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_meeting_resource_one_replay", sqlite_where=REPLAY, postgresql_where=REPLAY
        )
        batch_op.drop_index(batch_op.f("ix_meeting_resource_meeting_id"))
    op.drop_table("meeting_resource")
