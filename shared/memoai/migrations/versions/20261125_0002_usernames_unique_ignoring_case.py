"""usernames unique ignoring case

Revision ID: 0002_users_lower
Revises: 0001
Create Date: 2026-11-25

The service already refuses "Admin" next to "admin"; this index closes the
race between two concurrent creates. Both SQLite and PostgreSQL index
expressions.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002_users_lower'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'uq_users_username_lower', 'users', [sa.text('lower(username)')], unique=True
    )


def downgrade() -> None:
    op.drop_index('uq_users_username_lower', table_name='users')
