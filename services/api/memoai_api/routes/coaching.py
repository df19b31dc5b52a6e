"""Progress over time, revision comparison and the PDF report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse

from memoai.coaching import export, progress, revisions
from memoai.platform.db import session_scope
from memoai_api.deps import PrincipalDep, SettingsDep
from memoai_api.envelope import Envelope, ErrorEnvelope, ok
from memoai_api.routes import API_PREFIX

router = APIRouter(prefix=API_PREFIX, tags=["coaching"])
EvaluationId = Annotated[str, Path(max_length=64)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorEnvelope, "description": "No valid session"},
    404: {"model": ErrorEnvelope, "description": "Not found, or not yours"},
}


@router.get("/progress", response_model=Envelope[progress.ProgressPublic], responses=ERRORS)
def get_progress(
    principal: PrincipalDep,
    settings: SettingsDep,
    range: Annotated[progress.Range, Query(description="Time range")] = "all",
) -> Envelope[progress.ProgressPublic]:
    """Your scores over time: overall trend, per-criterion trends, submission frequency."""
    with session_scope(write=False) as db:
        return ok(progress.progress(db, settings, principal, range))


@router.get(
    "/evaluations/{evaluation_id}/comparison",
    response_model=Envelope[revisions.ComparisonPublic],
    responses={
        **ERRORS,
        409: {"model": ErrorEnvelope, "description": "awaiting_coach_review"},
    },
)
def get_comparison(
    evaluation_id: EvaluationId, principal: PrincipalDep
) -> Envelope[revisions.ComparisonPublic]:
    """What changed since the previous version: text diff, score deltas, earlier questions."""
    with session_scope(write=False) as db:
        return ok(revisions.compare(db, principal, evaluation_id))


@router.get(
    "/export/pdf/{evaluation_id}",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "The PDF report"},
        **ERRORS,
        409: {
            "model": ErrorEnvelope,
            "description": "The evaluation failed, or awaiting_coach_review",
        },
        425: {"model": ErrorEnvelope, "description": "Not finished yet"},
    },
)
def export_pdf(
    evaluation_id: EvaluationId, principal: PrincipalDep, settings: SettingsDep
) -> FileResponse:
    """The evaluation report as a PDF (owner only)."""
    with session_scope(write=False) as db:
        path = export.report_path(db, settings, principal, evaluation_id)
    return FileResponse(
        path,
        media_type="application/pdf",
        filename=f"memo-evaluation-{evaluation_id[:8]}.pdf",
    )
