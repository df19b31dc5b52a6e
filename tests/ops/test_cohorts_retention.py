"""Retention never trims coursework: a submission to an assignment stays in the gradebook."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from memoai.config import get_settings
from memoai.models import Assignment, Cohort, Evaluation, Submission, utcnow
from memoai.operations import retention
from memoai.platform.db import get_engine
from memoai.platform.migrate import upgrade
from tests.ops.conftest import OpsEnv
from tests.ops.data import seed

pytestmark = pytest.mark.integration


def test_submissions_to_assignments_are_not_trimmed(ops_env: OpsEnv, in_process: Any) -> None:
    ops_env.env["KEEP_SUBMISSIONS_PER_USER"] = "3"
    in_process(ops_env)
    upgrade(get_engine())
    ids = seed(get_engine(), users=1, memos_per_user=5)
    oldest, second = ids["submissions"][0], ids["submissions"][1]
    with DbSession(get_engine()) as db, db.begin():
        cohort = Cohort(name="Spring", description="")
        db.add(cohort)
        db.flush()
        assignment = Assignment(
            cohort_id=cohort.id,
            title="Memo 1",
            instructions="",
            due_at=utcnow() + timedelta(days=1),
            rubric_id="default",
            rubric_version="0" * 12,
            rubric_snapshot={},
            feedback_release="after_review",
        )
        db.add(assignment)
        db.flush()
        evaluation = db.scalars(select(Evaluation).where(Evaluation.submission_id == oldest)).one()
        evaluation.assignment_id = assignment.id

    # Two submissions are over the cap of 3; the oldest is coursework and stays.
    assert retention.trim_submissions(get_settings()) == 1
    with DbSession(get_engine()) as db:
        left = set(db.scalars(select(Submission.id)).all())
        assert oldest in left and second not in left
        assert db.scalar(select(func.count()).select_from(Submission)) == 4
