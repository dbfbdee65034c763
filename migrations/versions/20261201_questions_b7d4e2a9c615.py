"""questions: satisfaction questionnaire and questions for the speaker

Three new tables. questionnaire_receipt says that a registration has answered (its primary
key forbids a second answer); questionnaire_response holds an answer with its meeting and
nothing else (no person, registration or time: see irev.services.questionnaire).
speaker_question holds one question per registration, with its state and the question it was
merged into.

Revision ID: b7d4e2a9c615
Revises: b7d3f1a2c9e4
Create Date: 2026-12-01 15:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7d4e2a9c615"
down_revision = "b7d3f1a2c9e4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "questionnaire_receipt",
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["registration_id"], ["registration.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("registration_id"),
    )
    op.create_table(
        "questionnaire_response",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.Column("remark", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("questionnaire_response", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_questionnaire_response_meeting_id"), ["meeting_id"], unique=False
        )
    op.create_table(
        "speaker_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "new",
                "kept",
                "merged",
                "answered",
                name="question_state",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("asked_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["merged_into_id"], ["speaker_question.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["registration_id"], ["registration.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("registration_id"),
    )
    with op.batch_alter_table("speaker_question", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_speaker_question_merged_into_id"), ["merged_into_id"], unique=False
        )
        batch_op.create_index(
            "ix_speaker_question_meeting_state", ["meeting_id", "state"], unique=False
        )


def downgrade():
    with op.batch_alter_table("speaker_question", schema=None) as batch_op:
        batch_op.drop_index("ix_speaker_question_meeting_state")
        batch_op.drop_index(batch_op.f("ix_speaker_question_merged_into_id"))
    op.drop_table("speaker_question")
    with op.batch_alter_table("questionnaire_response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questionnaire_response_meeting_id"))
    op.drop_table("questionnaire_response")
    op.drop_table("questionnaire_receipt")
