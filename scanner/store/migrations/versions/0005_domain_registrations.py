"""domain registrations: the RDAP cache of registrable domains, and the websites' 审核通过日期

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registration_cache",
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_registration_cache")),
    )
    with op.batch_alter_table("websites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_at", sa.String(length=10), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("websites", schema=None) as batch_op:
        batch_op.drop_column("approved_at")
    op.drop_table("registration_cache")
