"""evidence screenshots of homepages with filing.* or content.* findings

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "screenshots",
        sa.Column("id", Id, nullable=False),
        sa.Column("scan_id", Id, nullable=False),
        sa.Column("website_number", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("viewport", sa.LargeBinary(), nullable=True),
        sa.Column("footer", sa.LargeBinary(), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["scan_id"], ["scans.id"], name=op.f("fk_screenshots_scan_id_scans"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screenshots")),
    )
    with op.batch_alter_table("screenshots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_screenshots_scan_id"), ["scan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_screenshots_website_number"), ["website_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_screenshots_taken_at"), ["taken_at"], unique=False)


def downgrade() -> None:
    op.drop_table("screenshots")
