"""API-facing evaluation models (request bodies and response data)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

Status = Literal["queued", "processing", "completed", "failed"]


class EvaluationSubmit(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "text_content": (
                        "TO: Executive Team\nSUBJECT: Request for $1.2M for remote monitoring\n\n"
                        "I am requesting $1.2M to launch remote monitoring for 600 high-risk "
                        "heart failure patients..."
                    )
                }
            ]
        },
    )

    text_content: Annotated[
        StrictStr,
        Field(
            description=(
                "The memo, stored verbatim. 1 to MAX_TEXT_LENGTH (10,000) characters, not "
                "blank, no NUL characters."
            )
        ),
    ]
    previous_evaluation_id: Annotated[
        StrictStr | None,
        Field(
            default=None,
            max_length=64,
            description="Submit as the next version of the memo evaluated here (a revision).",
        ),
    ] = None
    callback_url: Annotated[
        StrictStr | None,
        Field(
            default=None,
            max_length=2048,
            description=(
                "Optional https URL that receives the signed result when the evaluation "
                "completes or fails (see the API guide: webhooks)."
            ),
        ),
    ] = None
    assignment_id: Annotated[
        StrictStr | None,
        Field(
            default=None,
            max_length=64,
            description=(
                "Submit to this assignment of one of your cohorts (scored with its pinned "
                "rubric; refused with 409 assignment_closed after its due date). A revision "
                "of a submission stays in its assignment."
            ),
        ),
    ] = None


class SubmitResult(BaseModel):
    evaluation_id: str
    status: Status
    estimated_completion: datetime
    submission_id: str
    version_number: int


class StatusPublic(BaseModel):
    evaluation_id: str
    status: Status
    progress_percentage: int
    estimated_completion: datetime | None
    completed_at: datetime | None
    error: str | None
    error_code: str | None = None
    queue_position: int | None = None
    attempts: int = Field(default=0, description="Worker attempts so far (reset by a manual retry)")
    max_attempts: int | None = Field(
        default=None, description="Attempts allowed before it fails with too_many_attempts"
    )


class CriterionScore(BaseModel):
    score: int
    justification: str
    weight: float


class SegmentFeedback(BaseModel):
    segment: str
    start: int
    end: int
    comment: str
    questions: list[str]


class EvaluationPublic(BaseModel):
    id: str
    status: Status
    overall_score: float | None
    strengths: list[str]
    opportunities: list[str]
    rubric_scores: dict[str, CriterionScore]
    segment_feedback: list[SegmentFeedback]
    language: str | None
    llm_provider: str | None
    llm_model: str | None
    offline: bool = Field(description="True when the offline evaluator produced this result")
    notice: str | None = None
    processing_time: float | None
    queue_wait: float | None
    config_version: str | None
    prompt_version: str | None
    rubric: dict[str, Any] | None = Field(
        default=None, description="The rubric this evaluation was scored against"
    )
    text_content: str
    submission_id: str
    version_number: int
    previous_submission_id: str | None
    created_at: datetime
    completed_at: datetime | None
    error: str | None
    error_code: str | None
    usage: dict[str, Any]
    assignment_id: str | None = Field(
        default=None, description="The assignment this memo was submitted to, if any"
    )


class EvaluationResult(BaseModel):
    evaluation: EvaluationPublic


class EvaluationSummary(BaseModel):
    id: str
    status: Status
    overall_score: float | None
    title: str | None
    language: str | None
    llm_provider: str | None
    version_number: int
    submission_id: str
    created_at: datetime
    completed_at: datetime | None
    assignment_id: str | None = None


class EvaluationPage(BaseModel):
    items: list[EvaluationSummary]
    total: int
    limit: int
    offset: int
