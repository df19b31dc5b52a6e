"""coaches and cohorts (issue 16)

Revision ID: 20261202_cohorts
Revises: 0002_users_lower
Create Date: 2026-12-02

Users get a `role` (user | coach | admin) that replaces `is_admin` as the one
source of truth (admins become "admin", everyone else "user"); `is_admin` is
derived from it in the model. New tables: cohorts, cohort_members,
assignments (with the pinned rubric), reviews, review_comments and
review_changes (the audit trail). Evaluations gain `assignment_id`; webhook
deliveries gain `subject` and `payload` for events that are not about an
evaluation's final state.

`is_admin` is dropped with SQLite's native ALTER TABLE DROP COLUMN (3.35+):
a batch copy of `users` would lose the lower(username) index, which SQLite
cannot reflect. Downgrading turns coaches back into plain users.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import memoai.models.base

revision: str = '20261202_cohorts'
down_revision: str | None = '0002_users_lower'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cohorts',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('updated_at', memoai.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', memoai.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_cohorts_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cohorts'))
    )
    op.create_table('assignments',
    sa.Column('cohort_id', sa.String(length=36), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('instructions', sa.Text(), nullable=False),
    sa.Column('due_at', memoai.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rubric_id', sa.String(length=40), nullable=False),
    sa.Column('rubric_version', sa.String(length=16), nullable=False),
    sa.Column('rubric_snapshot', sa.JSON(), nullable=False),
    sa.Column('feedback_release', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('updated_at', memoai.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_notified_at', memoai.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', memoai.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_assignments_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_assignments_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments'))
    )
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index('ix_assignments_cohort_due', ['cohort_id', 'due_at'], unique=False)
        batch_op.create_index('ix_assignments_due_notified', ['due_notified_at', 'due_at'], unique=False)

    op.create_table('cohort_members',
    sa.Column('cohort_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('added_by', sa.String(length=36), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', memoai.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by'], ['users.id'], name=op.f('fk_cohort_members_added_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_cohort_members_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_cohort_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cohort_members')),
    sa.UniqueConstraint('cohort_id', 'user_id', name=op.f('uq_cohort_members_cohort_id'))
    )
    with op.batch_alter_table('cohort_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cohort_members_user_id'), ['user_id'], unique=False)

    op.create_table('reviews',
    sa.Column('evaluation_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('overrides', sa.JSON(), nullable=False),
    sa.Column('final_overall', sa.Float(), nullable=True),
    sa.Column('released_snapshot', sa.JSON(), nullable=True),
    sa.Column('released_at', memoai.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('released_by', sa.String(length=36), nullable=True),
    sa.Column('release_count', sa.Integer(), nullable=False),
    sa.Column('changed_since_release', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('updated_at', memoai.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', memoai.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_reviews_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluations.id'], name=op.f('fk_reviews_evaluation_id_evaluations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['released_by'], ['users.id'], name=op.f('fk_reviews_released_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews')),
    sa.UniqueConstraint('evaluation_id', name=op.f('uq_reviews_evaluation_id'))
    )
    op.create_table('review_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('review_id', sa.String(length=36), nullable=False),
    sa.Column('actor_id', sa.String(length=36), nullable=True),
    sa.Column('actor_username', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', memoai.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_review_changes_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['review_id'], ['reviews.id'], name=op.f('fk_review_changes_review_id_reviews'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_changes'))
    )
    with op.batch_alter_table('review_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_changes_review_id'), ['review_id'], unique=False)

    op.create_table('review_comments',
    sa.Column('review_id', sa.String(length=36), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('ai_index', sa.Integer(), nullable=True),
    sa.Column('start_offset', sa.Integer(), nullable=False),
    sa.Column('end_offset', sa.Integer(), nullable=False),
    sa.Column('segment', sa.Text(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('author_id', sa.String(length=36), nullable=True),
    sa.Column('updated_at', memoai.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', memoai.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_review_comments_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['review_id'], ['reviews.id'], name=op.f('fk_review_comments_review_id_reviews'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_comments')),
    sa.UniqueConstraint('review_id', 'ai_index', name=op.f('uq_review_comments_review_id'))
    )
    with op.batch_alter_table('review_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_comments_review_id'), ['review_id'], unique=False)

    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignment_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_evaluations_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_evaluations_assignment_id_assignments'), 'assignments', ['assignment_id'], ['id'], ondelete='SET NULL')

    op.add_column('users', sa.Column('role', sa.String(length=16), server_default='user', nullable=False))
    op.execute("UPDATE users SET role = 'admin' WHERE is_admin")
    op.drop_column('users', 'is_admin')

    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('payload', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_column('payload')
        batch_op.drop_column('subject')

    op.add_column('users', sa.Column('is_admin', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("UPDATE users SET is_admin = (role = 'admin')")
    op.drop_column('users', 'role')

    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_evaluations_assignment_id_assignments'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_evaluations_assignment_id'))
        batch_op.drop_column('assignment_id')

    with op.batch_alter_table('review_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_comments_review_id'))

    op.drop_table('review_comments')
    with op.batch_alter_table('review_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_changes_review_id'))

    op.drop_table('review_changes')
    op.drop_table('reviews')
    with op.batch_alter_table('cohort_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cohort_members_user_id'))

    op.drop_table('cohort_members')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_assignments_due_notified')
        batch_op.drop_index('ix_assignments_cohort_due')

    op.drop_table('assignments')
    op.drop_table('cohorts')
