"""workflows with customers: annual review rounds and their websites, contact verifications, MIIT lookups

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "review_rounds",
        sa.Column("id", Id, nullable=False),
        sa.Column("province", sa.String(length=8), nullable=False),
        sa.Column("starts_on", sa.String(length=10), nullable=False),
        sa.Column("ends_on", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=120), nullable=False),
        sa.Column("since_import_id", sa.BigInteger(), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("import_id_at_open", sa.BigInteger(), nullable=True),
        sa.Column("import_id_at_close", sa.BigInteger(), nullable=True),
        sa.Column("reminders", sa.JSON(), nullable=False),
        sa.Column("reminders_sent", sa.JSON(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_rounds")),
    )
    with op.batch_alter_table("review_rounds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_rounds_province"), ["province"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_rounds_state"), ["state"], unique=False)
    op.create_table(
        "review_items",
        sa.Column("id", Id, nullable=False),
        sa.Column("round_id", Id, nullable=False),
        sa.Column("website_number", sa.String(length=64), nullable=False),
        sa.Column("subject_number", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("sms_text", sa.Text(), nullable=False),
        sa.Column("phones", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notice_id", sa.BigInteger(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_source", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["review_rounds.id"], name=op.f("fk_review_items_round_id_review_rounds"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
        sa.UniqueConstraint("round_id", "website_number", name=op.f("uq_review_items_round_id")),
    )
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_items_round_id"), ["round_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_items_website_number"), ["website_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_items_subject_number"), ["subject_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_items_state"), ["state"], unique=False)


    op.create_table(
        "contact_verifications",
        sa.Column("id", Id, nullable=False),
        sa.Column("subject_number", sa.String(length=64), nullable=False),
        sa.Column("website_number", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("mobile", sa.String(length=64), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("email_outbox_id", sa.BigInteger(), nullable=True),
        sa.Column("email_state", sa.String(length=16), nullable=False),
        sa.Column("sms_state", sa.String(length=16), nullable=False),
        sa.Column("sms_detail", sa.Text(), nullable=False),
        sa.Column("judged", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_verifications")),
    )
    with op.batch_alter_table("contact_verifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_verifications_subject_number"), ["subject_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_verifications_website_number"), ["website_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_verifications_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_verifications_deadline"), ["deadline"], unique=False)


    op.create_table(
        "filing_lookups",
        sa.Column("id", Id, nullable=False),
        sa.Column("website_number", sa.String(length=64), nullable=False),
        sa.Column("subject_number", sa.String(length=64), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filing_lookups")),
    )
    with op.batch_alter_table("filing_lookups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_filing_lookups_website_number"), ["website_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_filing_lookups_subject_number"), ["subject_number"], unique=False)


def downgrade() -> None:
    op.drop_table("filing_lookups")
    op.drop_table("contact_verifications")
    op.drop_table("review_items")
    op.drop_table("review_rounds")
