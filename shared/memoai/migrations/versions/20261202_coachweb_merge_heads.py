"""merge the cohorts and jobs heads (coachweb branch only)

Revision ID: 20261202_coachweb_merge
Revises: 20261202_cohorts, 20261202_jobs
Create Date: 2026-12-02

The coachweb branch carries main (with jobs) and the in-progress cohorts branch,
whose migrations both start from 0002_users_lower; this empty merge gives the
branch one head so its stacks can migrate. Drop it when the lead re-chains the
heads at merge.
"""

from collections.abc import Sequence

revision: str = '20261202_coachweb_merge'
down_revision: str | Sequence[str] | None = ('20261202_cohorts', '20261202_jobs')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
