"""A merge group's job key fits the longest repository names (owner 39 + name 100 characters,
the sha, and the prefix: up to 217), and deliveries are indexed by the time they came.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gate_jobs", schema=None) as batch_op:
        batch_op.alter_column("key", existing_type=sa.String(length=200), type_=sa.String(length=300),
                              existing_nullable=False)
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_received_at"), ["received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_received_at"))
    with op.batch_alter_table("gate_jobs", schema=None) as batch_op:
        batch_op.alter_column("key", existing_type=sa.String(length=300), type_=sa.String(length=200),
                              existing_nullable=False)
