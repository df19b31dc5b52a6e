"""chat reply leases and error codes; webhook endpoint delivery rate

Revision ID: 20261202_jobs
Revises: 0002_users_lower
Create Date: 2026-12-02

Chat replies get what evaluations already had: a publish mark (so the sweeper
republishes a reply whose task never reached the broker), a lease renewed by
the worker writing it (so a reply whose worker died is failed instead of
blocking the conversation for ever) and an error code. Webhook endpoints keep
the start times of their last minute of attempts (the per-endpoint rate cap).
All columns are nullable: existing rows need no backfill.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import memoai.models.base

revision: str = '20261202_jobs'
down_revision: str | None = '0002_users_lower'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error_code', sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column('enqueued_at', memoai.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column('lease_token', sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column(
                'lease_expires_at', memoai.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_index('ix_chat_messages_status', ['status'], unique=False)
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recent_attempts', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_column('recent_attempts')
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_messages_status')
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('lease_token')
        batch_op.drop_column('enqueued_at')
        batch_op.drop_column('error_code')
