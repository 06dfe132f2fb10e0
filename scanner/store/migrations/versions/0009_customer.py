"""customer self-service: personal links in notices, customers' 申请复查 requests

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-01 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "customer_links",
        sa.Column("id", Id, nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_links")),
    )
    with op.batch_alter_table("customer_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_links_recipient"), ["recipient"], unique=False)

    op.create_table(
        "customer_rescans",
        sa.Column("id", Id, nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("link_id", sa.BigInteger(), nullable=False),
        sa.Column("rescan_id", sa.BigInteger(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_customer_rescans_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_rescans")),
    )
    with op.batch_alter_table("customer_rescans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_rescans_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_rescans_recipient"), ["recipient"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_rescans_requested_at"), ["requested_at"], unique=False)


def downgrade() -> None:
    op.drop_table("customer_rescans")
    op.drop_table("customer_links")
