"""Submitting a memo to an assignment (a submission is an evaluation linked to it)."""

from __future__ import annotations

from memoai.cohorts import assignments
from memoai.cohorts.schemas import AssignmentSubmission
from memoai.config import Settings
from memoai.evaluation import service as evaluation_service
from memoai.evaluation.schemas import EvaluationSubmit, SubmitResult
from memoai.platform.identity import Principal


def submit(
    settings: Settings,
    principal: Principal,
    body: EvaluationSubmit,
    request_id: str | None,
    key: str | None,
) -> tuple[SubmitResult, bool]:
    """POST /evaluations/submit: a personal memo, or a submission to an assignment.

    The assignment (named, or the one of the evaluation revised) is checked in
    the submit's own transaction: membership (404), writer role (403) and due
    date (409 assignment_closed).
    """
    return evaluation_service.submit_idempotent(
        settings,
        principal,
        body,
        request_id,
        key,
        assignment_check=lambda db: assignments.check_submission(db, principal, body),
    )


def submit_to(
    settings: Settings,
    principal: Principal,
    assignment_id: str,
    body: AssignmentSubmission,
    request_id: str | None,
    key: str | None,
) -> tuple[SubmitResult, bool]:
    """POST /assignments/{id}/submissions: the same, with the assignment in the path."""
    full = EvaluationSubmit(
        text_content=body.text_content,
        previous_evaluation_id=body.previous_evaluation_id,
        callback_url=body.callback_url,
        assignment_id=assignment_id,
    )
    return submit(settings, principal, full, request_id, key)
