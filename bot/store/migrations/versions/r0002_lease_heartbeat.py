"""Evaluation leases name their worker and carry its heartbeat instead of an expiry time.

A lease only lives while an evaluation runs, and the previous version freed every lease at
start-up: the table is made again empty (upgrade with the old processes stopped).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("evaluation_leases")
    op.create_table(
        "evaluation_leases",
        sa.Column("repo", sa.String(length=200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(length=200), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("repo", "number"),
    )
    op.create_index(op.f("ix_evaluation_leases_worker_id"), "evaluation_leases", ["worker_id"], unique=False)


def downgrade() -> None:
    op.drop_table("evaluation_leases")
    op.create_table(
        "evaluation_leases",
        sa.Column("repo", sa.String(length=200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("repo", "number"),
    )
