"""cost_usd may be null: the model's price is unknown

Revision ID: 20261202_sdk_cost
Revises: 20261202_jobs
Create Date: 2026-12-02

A call to a model whose family has no price in llm.yaml records its tokens and
a null cost instead of another model's price. Downgrading turns those nulls
into 0, the old column's only way to say "not priced".
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '20261202_sdk_cost'
down_revision: str | None = '20261202_jobs'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('evaluations', 'chat_messages')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column('cost_usd', existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    for table in TABLES:
        op.execute(sa.text(f'UPDATE {table} SET cost_usd = 0 WHERE cost_usd IS NULL'))
        with op.batch_alter_table(table) as batch:
            batch.alter_column('cost_usd', existing_type=sa.Float(), nullable=False)
