"""The policy tables: organisation policies (kept until a push), bot passes (audited), review
requests (once per head) and the digests reviews were first seen with (stacked pull requests).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("bot_passes",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("repo", sa.String(length=200), nullable=False),
    sa.Column("number", sa.Integer(), nullable=False),
    sa.Column("head_sha", sa.String(length=64), nullable=False),
    sa.Column("bot", sa.String(length=100), nullable=False),
    sa.Column("approvers", sa.Text(), nullable=False),
    sa.Column("paths", sa.Integer(), nullable=False),
    sa.Column("required", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("repo", "number", "head_sha")
    )
    with op.batch_alter_table("bot_passes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot_passes_repo"), ["repo"], unique=False)

    op.create_table("org_policies",
    sa.Column("owner", sa.String(length=100), nullable=False),
    sa.Column("text", sa.Text(), nullable=True),
    sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("owner")
    )
    op.create_table("review_digests",
    sa.Column("repo", sa.String(length=200), nullable=False),
    sa.Column("number", sa.Integer(), nullable=False),
    sa.Column("review_id", sa.BigInteger(), nullable=False),
    sa.Column("head_sha", sa.String(length=64), nullable=False),
    sa.Column("base_ref", sa.String(length=255), nullable=False),
    sa.Column("digest", sa.String(length=64), nullable=False),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("repo", "number", "review_id")
    )
    op.create_table("review_requests",
    sa.Column("repo", sa.String(length=200), nullable=False),
    sa.Column("number", sa.Integer(), nullable=False),
    sa.Column("head_sha", sa.String(length=64), nullable=False),
    sa.Column("users", sa.Text(), nullable=False),
    sa.Column("teams", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("repo", "number", "head_sha")
    )


def downgrade() -> None:
    op.drop_table("review_requests")
    op.drop_table("review_digests")
    op.drop_table("org_policies")
    with op.batch_alter_table("bot_passes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_passes_repo"))

    op.drop_table("bot_passes")
