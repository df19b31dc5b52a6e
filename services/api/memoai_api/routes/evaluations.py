"""Submit memos and read their evaluations."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import BaseModel

from memoai.evaluation import service
from memoai.evaluation.schemas import (
    EvaluationPage,
    EvaluationResult,
    EvaluationSubmit,
    StatusPublic,
    SubmitResult,
)
from memoai.platform.db import session_scope
from memoai_api.deps import JsonBody, PrincipalDep, RetryLimit, SettingsDep, SubmissionLimit
from memoai_api.envelope import Envelope, ErrorEnvelope, ok, request_id
from memoai_api.routes import API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/evaluations", tags=["evaluations"])

EvaluationId = Annotated[str, Path(max_length=64, description="The evaluation's id")]
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
        409: {"model": ErrorEnvelope, "description": "Idempotency-Key reused with another body"},
        413: {"model": ErrorEnvelope, "description": "Body larger than the limit"},
        415: {"model": ErrorEnvelope, "description": "Body is not JSON"},
        422: {"model": ErrorEnvelope, "description": "Empty, too long or invalid text"},
    },
)
def submit(
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
    result, replayed = service.submit_idempotent(
        settings, principal, body, request_id(), idempotency_key
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
def get_status(
    evaluation_id: EvaluationId, principal: PrincipalDep, settings: SettingsDep
) -> Envelope[StatusPublic]:
    """Status and progress of an evaluation."""
    with session_scope(write=False) as db:
        return ok(service.status(db, settings, principal, evaluation_id))


@router.get(
    "/{evaluation_id}",
    response_model=Envelope[EvaluationResult],
    responses={**ERRORS, 425: {"model": ErrorEnvelope, "description": "Not finished yet"}},
)
def get_evaluation(
    evaluation_id: EvaluationId, principal: PrincipalDep
) -> Envelope[EvaluationResult]:
    """The finished evaluation (425 while it is queued or processing)."""
    with session_scope(write=False) as db:
        return ok(EvaluationResult(evaluation=service.result(db, principal, evaluation_id)))


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
    response_model=Envelope[EvaluationPage],
    responses={k: v for k, v in ERRORS.items() if k != 404},
)
def list_evaluations(
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    status: Literal["queued", "processing", "completed", "failed"] | None = None,
) -> Envelope[EvaluationPage]:
    """Your evaluations, newest first."""
    with session_scope(write=False) as db:
        return ok(service.list_own(db, principal, limit=limit, offset=offset, status=status))
