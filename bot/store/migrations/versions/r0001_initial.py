"""The schema as it was before migrations (what `create_all` made).

A database made then is stamped at this revision (`bot.store.migrate`).

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('check_runs',
    sa.Column('repo', sa.String(length=200), nullable=False),
    sa.Column('head_sha', sa.String(length=64), nullable=False),
    sa.Column('check_run_id', sa.BigInteger(), nullable=False),
    sa.Column('annotations_digest', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('repo', 'head_sha')
    )
    op.create_table('command_audit',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('comment_id', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('repo', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('command', sa.Text(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('head_sha', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('comment_id', 'position')
    )
    with op.batch_alter_table('command_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_command_audit_repo'), ['repo'], unique=False)

    op.create_table('command_locks',
    sa.Column('repo', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('repo', 'number')
    )
    op.create_table('deliveries',
    sa.Column('guid', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=True),
    sa.Column('repo', sa.String(length=200), nullable=True),
    sa.Column('pr', sa.Integer(), nullable=True),
    sa.Column('installation_id', sa.BigInteger(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('guid')
    )
    op.create_table('evaluation_leases',
    sa.Column('repo', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('repo', 'number')
    )
    op.create_table('evaluations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('repo', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('head_sha', sa.String(length=64), nullable=False),
    sa.Column('head_digest', sa.String(length=64), nullable=False),
    sa.Column('conclusion', sa.String(length=32), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('findings_digest', sa.String(length=64), nullable=False),
    sa.Column('trigger', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluations_repo'), ['repo'], unique=False)

    op.create_table('findings_cache',
    sa.Column('blob_sha', sa.String(length=64), nullable=False),
    sa.Column('rules_version', sa.String(length=80), nullable=False),
    sa.Column('config_digest', sa.String(length=64), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('blob_sha', 'rules_version', 'config_digest')
    )
    op.create_table('gate_jobs',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('repo', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('installation_id', sa.BigInteger(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('done', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('head_pushes',
    sa.Column('repo', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('head_sha', sa.String(length=64), nullable=False),
    sa.Column('pusher', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('repo', 'number', 'head_sha', 'pusher')
    )
    op.create_table('holds',
    sa.Column('repo', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('by', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('repo', 'number')
    )
    op.create_table('installation_repos',
    sa.Column('installation_id', sa.BigInteger(), nullable=False),
    sa.Column('repo', sa.String(length=200), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('installation_id', 'repo')
    )
    op.create_table('merge_groups',
    sa.Column('repo', sa.String(length=200), nullable=False),
    sa.Column('head_sha', sa.String(length=64), nullable=False),
    sa.Column('pulls', sa.Text(), nullable=False),
    sa.Column('conclusion', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('repo', 'head_sha')
    )
    op.create_table('posted_suggestions',
    sa.Column('repo', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('review_id', sa.BigInteger(), nullable=True),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('repo', 'number', 'key')
    )
    op.create_table('pull_states',
    sa.Column('repo', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('installation_id', sa.BigInteger(), nullable=False),
    sa.Column('wanted_seq', sa.Integer(), nullable=False),
    sa.Column('queued_seq', sa.Integer(), nullable=False),
    sa.Column('started_seq', sa.Integer(), nullable=False),
    sa.Column('done_seq', sa.Integer(), nullable=False),
    sa.Column('head_sha', sa.String(length=64), nullable=True),
    sa.Column('trigger', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('repo', 'number')
    )
    op.create_table('sticky_comments',
    sa.Column('repo', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('comment_id', sa.BigInteger(), nullable=False),
    sa.Column('state_digest', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('repo', 'number')
    )
    op.create_table('waivers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('repo', sa.String(length=200), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('pattern', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('by', sa.String(length=100), nullable=False),
    sa.Column('head_sha', sa.String(length=64), nullable=False),
    sa.Column('fingerprints', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_by', sa.String(length=100), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('waivers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waivers_repo'), ['repo'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('waivers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_waivers_repo'))

    op.drop_table('waivers')
    op.drop_table('sticky_comments')
    op.drop_table('pull_states')
    op.drop_table('posted_suggestions')
    op.drop_table('merge_groups')
    op.drop_table('installation_repos')
    op.drop_table('holds')
    op.drop_table('head_pushes')
    op.drop_table('gate_jobs')
    op.drop_table('findings_cache')
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluations_repo'))

    op.drop_table('evaluations')
    op.drop_table('evaluation_leases')
    op.drop_table('deliveries')
    op.drop_table('command_locks')
    with op.batch_alter_table('command_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_command_audit_repo'))

    op.drop_table('command_audit')
    op.drop_table('check_runs')
