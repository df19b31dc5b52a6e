"""Submit memos and read their evaluations."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import BaseModel

from memoai.cohorts import feedback, submissions
from memoai.cohorts.schemas import EvaluationWithReviewResult, SummaryPage
from memoai.config import Settings
from memoai.evaluation import service
from memoai.evaluation.schemas import EvaluationSubmit, StatusPublic, SubmitResult
from memoai.platform.db import read_connection, session_scope
from memoai.platform.identity import Principal
from memoai_api.deps import JsonBody, PrincipalDep, RetryLimit, SettingsDep, SubmissionLimit
from memoai_api.envelope import Envelope, ErrorEnvelope, ok, request_id
from memoai_api.routes import API_PREFIX
from memoai_api.threads import in_thread, read

router = APIRouter(prefix=f"{API_PREFIX}/evaluations", tags=["evaluations"])

EVALUATION_ID_MAX = 64
EvaluationId = Annotated[str, Path(max_length=EVALUATION_ID_MAX, description="The evaluation's id")]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorEnvelope, "description": "No valid session or login"},
    403: {"model": ErrorEnvelope, "description": "Cookie request without a valid X-CSRF-Token"},
    404: {"model": ErrorEnvelope, "description": "Not found, or not yours"},
    429: {"model": ErrorEnvelope, "description": "Rate limit exceeded"},
}


@router.post(
    "/submit",
    status_code=202,
    response_model=Envelope[SubmitResult],
    dependencies=[JsonBody, SubmissionLimit],
    responses={
        **ERRORS,
        403: {"model": ErrorEnvelope, "description": "No X-CSRF-Token, or writer_required"},
        409: {
            "model": ErrorEnvelope,
            "description": "Idempotency-Key reused with another body, or assignment_closed",
        },
        413: {"model": ErrorEnvelope, "description": "Body larger than the limit"},
        415: {"model": ErrorEnvelope, "description": "Body is not JSON"},
        422: {"model": ErrorEnvelope, "description": "Empty, too long or invalid text"},
    },
)
async def submit(
    body: EvaluationSubmit,
    principal: PrincipalDep,
    settings: SettingsDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Retry-safe submits: the same key and body return the same evaluation",
        ),
    ] = None,
) -> Envelope[SubmitResult]:
    """Store a memo and queue its evaluation; poll the status until it completes."""
    result, replayed = await in_thread(
        submissions.submit, settings, principal, body, request_id(), idempotency_key
    )
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return ok(result)


@router.post(
    "/{evaluation_id}/retry",
    status_code=202,
    response_model=Envelope[StatusPublic],
    dependencies=[RetryLimit],
    responses={**ERRORS, 409: {"model": ErrorEnvelope, "description": "Not a failed evaluation"}},
)
def retry(
    evaluation_id: EvaluationId, principal: PrincipalDep, settings: SettingsDep
) -> Envelope[StatusPublic]:
    """Queue a failed evaluation again (counted against retries_per_hour, not submissions)."""
    with session_scope() as db:
        status = service.retry(db, settings, principal, evaluation_id, request_id())
    return ok(status)


@router.get("/{evaluation_id}/status", response_model=Envelope[StatusPublic], responses=ERRORS)
async def get_status(
    evaluation_id: EvaluationId, principal: PrincipalDep, settings: SettingsDep
) -> Envelope[StatusPublic]:
    """Status and progress of an evaluation."""
    # memoai_api.fastpath answers this request before the router (same steps, less CPU).
    return ok(await read(read_status, settings, principal, evaluation_id))


def read_status(settings: Settings, principal: Principal, evaluation_id: str) -> StatusPublic:
    with read_connection() as db:
        return service.status(db, settings, principal, evaluation_id)


@router.get(
    "/{evaluation_id}",
    response_model=Envelope[EvaluationWithReviewResult],
    responses={**ERRORS, 425: {"model": ErrorEnvelope, "description": "Not finished yet"}},
)
async def get_evaluation(
    evaluation_id: EvaluationId, principal: PrincipalDep
) -> Envelope[EvaluationWithReviewResult]:
    """The finished evaluation (425 while it is queued or processing)."""
    # memoai_api.fastpath answers this request before the router (same steps, less CPU).
    return ok(await read(read_result, principal, evaluation_id))


def read_result(principal: Principal, evaluation_id: str) -> EvaluationWithReviewResult:
    with session_scope(write=False) as db:
        return EvaluationWithReviewResult(evaluation=feedback.result(db, principal, evaluation_id))


class Deleted(BaseModel):
    evaluation_id: str
    deleted: bool = True


@router.delete("/{evaluation_id}", response_model=Envelope[Deleted], responses=ERRORS)
def delete_evaluation(evaluation_id: EvaluationId, principal: PrincipalDep) -> Envelope[Deleted]:
    """Delete your evaluation and its memo text (and any coaching chat on it)."""
    with session_scope() as db:
        service.delete_own(db, principal, evaluation_id)
    return ok(Deleted(evaluation_id=evaluation_id))


@router.get(
    "",
    response_model=Envelope[SummaryPage],
    responses={k: v for k, v in ERRORS.items() if k != 404},
)
async def list_evaluations(
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    status: Literal["queued", "processing", "completed", "failed"] | None = None,
) -> Envelope[SummaryPage]:
    """Your evaluations, newest first."""
    return ok(await read(_history, principal, limit, offset, status))


def _history(principal: Principal, limit: int, offset: int, status: str | None) -> SummaryPage:
    with read_connection() as db:
        return feedback.list_own(db, principal, limit=limit, offset=offset, status=status)
