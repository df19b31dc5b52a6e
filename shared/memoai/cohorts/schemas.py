"""API-facing models of cohorts, assignments, reviews and analytics.

Every free-text field refuses what the database cannot store (NUL characters,
unpaired surrogates), so bad input is a 422, never a driver error.

One module on purpose: these models are the cohorts part of the OpenAPI
document and are read together with it; sections follow the routes
(cohorts, rubrics, assignments, reviews, writer view, analytics).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    model_validator,
)

from memoai.evaluation.schemas import (
    EvaluationPublic,
    EvaluationSummary,
    SegmentFeedback,
)
from memoai.platform.storable import storable

CohortRole = Literal["admin", "coach", "writer"]
MemberRole = Literal["coach", "writer"]
FeedbackRelease = Literal["immediate", "after_review"]
ReviewStatus = Literal["not_started", "draft", "released"]
SubmissionState = Literal["not_submitted", "not_started", "draft", "released"]

# Due dates far outside a course's life are typing mistakes, and the extremes of
# datetime overflow when converted to UTC.
EARLIEST_DUE = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_DUE = datetime(2200, 1, 1, tzinfo=UTC)


def _storable(value: str) -> str:
    if not storable(value):
        raise ValueError("must not contain NUL characters or unpaired surrogates")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _due(value: datetime) -> datetime:
    if not EARLIEST_DUE <= value < LATEST_DUE:
        raise ValueError("must be between the years 2000 and 2200")
    return value.astimezone(UTC)


Clean = Annotated[StrictStr, AfterValidator(_storable)]
Name = Annotated[Clean, Field(min_length=1, max_length=120), AfterValidator(_not_blank)]
Title = Annotated[Clean, Field(min_length=1, max_length=200), AfterValidator(_not_blank)]
LongText = Annotated[Clean, Field(max_length=10_000)]
Due = Annotated[AwareDatetime, AfterValidator(_due)]
Question = Annotated[Clean, Field(min_length=1, max_length=500), AfterValidator(_not_blank)]
# The configured bounds (backend.yaml cohorts.max_*) are checked by the service;
# these are hard ceilings so nothing unbounded reaches it.
ReasonText = Annotated[Clean, Field(max_length=10_000)]
CommentText = Annotated[Clean, Field(max_length=20_000)]
Id = Annotated[StrictStr, Field(max_length=64)]


class UserRef(BaseModel):
    id: str
    username: str


# ------------------------------------------------------------------ cohorts


class CohortCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Business Writing — Spring 2027",
                    "description": "Tuesday evening cohort, 40 writers",
                }
            ]
        },
    )

    name: Name
    description: Annotated[Clean, Field(max_length=2000)] = ""


class CohortUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Business Writing — Fall"}]}
    )

    name: Name | None = None
    description: Annotated[Clean, Field(max_length=2000)] | None = None


class CohortPublic(BaseModel):
    id: str
    name: str
    description: str
    my_role: CohortRole = Field(description="What the caller is in this cohort")
    coaches: int
    writers: int
    assignments: int
    created_at: datetime
    updated_at: datetime


class CohortPage(BaseModel):
    items: list[CohortPublic]
    total: int
    limit: int
    offset: int


class MemberAdd(BaseModel):
    """Name the account by id or by username (exactly one)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"username": "writer.li", "role": "writer"}]},
    )

    user_id: Id | None = None
    username: Annotated[StrictStr, Field(min_length=1, max_length=128)] | None = None
    role: MemberRole

    @model_validator(mode="after")
    def _one_name(self) -> MemberAdd:
        if (self.user_id is None) == (self.username is None):
            raise ValueError("give exactly one of user_id and username")
        return self


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "coach"}]})

    role: MemberRole


class MemberPublic(BaseModel):
    user_id: str
    username: str
    role: MemberRole = Field(description="The member's role in this cohort")
    account_role: str = Field(description="The account's role (user, coach or admin)")
    is_active: bool
    added_at: datetime


class MemberList(BaseModel):
    items: list[MemberPublic]


# ------------------------------------------------------------------ rubrics


class CriterionPublic(BaseModel):
    id: str
    name: str
    weight: float
    description: str


class ScalePublic(BaseModel):
    min: int
    max: int
    labels: dict[int, str]


class RubricPublic(BaseModel):
    id: str
    name: str
    description: str
    version: str = Field(
        description="Content hash; an assignment pins the version it was made with"
    )
    is_default: bool
    scale: ScalePublic
    criteria: list[CriterionPublic]


class RubricList(BaseModel):
    items: list[RubricPublic]


# ------------------------------------------------------------------ assignments


class AssignmentCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Memo 1: fund a pilot",
                    "instructions": "Ask the executive team to fund a 6-month pilot. One page.",
                    "due_at": "2027-03-14T23:59:00Z",
                    "rubric_id": "executive_summary",
                    "feedback_release": "after_review",
                }
            ]
        },
    )

    title: Title
    instructions: LongText = ""
    due_at: Due = Field(description="Timezone-aware; submissions are refused from then on")
    rubric_id: Annotated[StrictStr, Field(min_length=1, max_length=40)] = Field(
        default="default", description="One of GET /rubrics; its current version is pinned"
    )
    feedback_release: FeedbackRelease = Field(
        default="after_review",
        description="after_review: writers see nothing until the coach releases; "
        "immediate: writers see the AI feedback at once, marked awaiting coach review",
    )


class AssignmentUpdate(BaseModel):
    """Only the fields sent change. The rubric stays pinned; a new due date in the
    future reopens the assignment and re-arms its assignment.due event."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"due_at": "2027-03-21T23:59:00Z"}]}
    )

    title: Title | None = None
    instructions: LongText | None = None
    due_at: Due | None = None
    feedback_release: FeedbackRelease | None = None


class SubmissionRef(BaseModel):
    """A writer's newest submission to an assignment."""

    evaluation_id: str
    status: str
    version_number: int
    submitted_at: datetime
    completed_at: datetime | None
    review_status: Literal["awaiting_review", "released"] | None = Field(
        description="For the writer: whether the coach has released feedback"
    )


class AssignmentCounts(BaseModel):
    writers: int
    submitted: int
    not_submitted: int
    reviewed: int = Field(description="Newest submissions whose review is released")
    awaiting_review: int = Field(description="Completed newest submissions not yet released")


class AssignmentPublic(BaseModel):
    id: str
    cohort_id: str
    cohort_name: str
    title: str
    instructions: str
    due_at: datetime
    is_closed: bool = Field(description="True once due_at has passed: submissions are refused")
    rubric_id: str
    rubric_name: str
    rubric_version: str
    feedback_release: FeedbackRelease
    my_role: CohortRole
    counts: AssignmentCounts | None = Field(description="For coaches and admins")
    my_submission: SubmissionRef | None = Field(description="For writers: their newest submission")
    due_notified_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AssignmentDetail(AssignmentPublic):
    rubric: RubricPublic = Field(description="The pinned rubric submissions are scored with")


class AssignmentPage(BaseModel):
    items: list[AssignmentPublic]
    total: int
    limit: int
    offset: int


class AssignmentSubmission(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"text_content": "TO: Executive Team\nSUBJECT: Fund a 6-month pilot\n…"}]
        },
    )

    text_content: StrictStr = Field(description="The memo, as for POST /evaluations/submit")
    previous_evaluation_id: Annotated[StrictStr | None, Field(max_length=64)] = Field(
        default=None, description="Submit a revision of this earlier submission"
    )
    callback_url: Annotated[StrictStr | None, Field(max_length=2048)] = None


class SubmissionRow(BaseModel):
    """One writer of the cohort and their newest submission (coach view)."""

    writer: UserRef
    evaluation_id: str | None
    status: str | None
    version_number: int | None
    submitted_at: datetime | None
    completed_at: datetime | None
    ai_overall_score: float | None
    final_overall_score: float | None
    review_status: SubmissionState
    unreleased_changes: bool


class WriterSubmission(BaseModel):
    """One of the caller's own submissions to an assignment (writer view)."""

    evaluation_id: str
    status: str
    version_number: int
    submitted_at: datetime
    completed_at: datetime | None
    review_status: Literal["awaiting_review", "released"] | None


class SubmissionList(BaseModel):
    items: list[SubmissionRow] = Field(description="Coach view: one row per writer")
    mine: list[WriterSubmission] = Field(description="Writer view: your versions, newest first")


# ------------------------------------------------------------------ reviews


class ScoreOverride(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"score": 4, "reason": "The payback period is stated in paragraph 3."}]
        },
    )

    score: StrictInt = Field(description="A level of the pinned rubric's scale")
    reason: ReasonText = Field(description="Why; required, shown to the writer on release")


class CommentCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "start": 0,
                    "end": 18,
                    "segment": "TO: Executive Team",
                    "comment": "Name the decision-maker, not a group.",
                    "questions": ["Who signs off on this budget?"],
                }
            ]
        },
    )

    start: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = Field(
        description="Offset in Unicode code points (not UTF-16 units) into the memo"
    )
    end: Annotated[StrictInt, Field(ge=0, le=1_000_000)]
    segment: Annotated[Clean, Field(min_length=1, max_length=20_000)] = Field(
        description="Must equal text_content[start:end] exactly"
    )
    comment: CommentText
    questions: Annotated[list[Question], Field(max_length=6)] = []


class CommentEdit(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"comment": "Lead with the $1.2M ask here."}]},
    )

    comment: CommentText | None = None
    questions: Annotated[list[Question], Field(max_length=6)] | None = None

    @model_validator(mode="after")
    def _something(self) -> CommentEdit:
        if self.comment is None and self.questions is None:
            raise ValueError("send comment, questions or both")
        return self


class ReviewScore(BaseModel):
    criterion_id: str
    criterion: str
    weight: float
    ai_score: int | None
    final_score: int | None
    overridden: bool
    reason: str | None
    justification: str
    overridden_by: str | None
    overridden_at: datetime | None


class ReviewComment(BaseModel):
    id: str = Field(description="\"ai-<n>\" for the AI's n-th comment, a uuid for a coach's")
    source: Literal["ai", "coach"]
    state: Literal["original", "edited", "deleted", "added"]
    start: int
    end: int
    segment: str
    comment: str
    questions: list[str]
    ai_comment: str | None = Field(description="The AI's own text (AI comments only)")
    author: str | None
    updated_at: datetime | None


class ReviewChange(BaseModel):
    id: int
    action: str
    actor: UserRef | None
    at: datetime
    details: dict[str, Any]


class ReviewPublic(BaseModel):
    evaluation_id: str
    assignment_id: str
    assignment_title: str
    cohort_id: str
    writer: UserRef | None
    status: ReviewStatus
    feedback_release: FeedbackRelease
    text_content: str
    language: str | None
    version_number: int
    submitted_at: datetime
    completed_at: datetime | None
    llm_provider: str | None
    rubric: RubricPublic
    ai_overall_score: float | None
    final_overall_score: float | None
    scores: list[ReviewScore]
    comments: list[ReviewComment]
    strengths: list[str]
    opportunities: list[str]
    released_at: datetime | None
    released_by: str | None
    release_count: int
    unreleased_changes: bool = Field(description="Edited since the last release")
    history: list[ReviewChange] = Field(description="Audit trail, oldest first")


class QueueItem(BaseModel):
    evaluation_id: str
    assignment_id: str
    assignment_title: str
    cohort_id: str
    cohort_name: str
    writer: UserRef | None
    version_number: int
    submitted_at: datetime
    completed_at: datetime | None
    ai_overall_score: float | None
    final_overall_score: float | None
    review_status: ReviewStatus
    unreleased_changes: bool


class QueuePage(BaseModel):
    items: list[QueueItem]
    total: int
    limit: int
    offset: int


# ------------------------------------------------------------------ writer view


class WriterScore(BaseModel):
    score: int | None
    ai_score: int | None
    coach_override: bool
    reason: str | None
    justification: str
    weight: float


class WriterComment(SegmentFeedback):
    source: Literal["ai", "coach"]


class WriterReview(BaseModel):
    status: Literal["awaiting_review", "released"]
    feedback_release: FeedbackRelease
    message: str
    released_at: datetime | None
    release_count: int
    overall_score: float | None = Field(description="Final (coach-reviewed) overall score")
    ai_overall_score: float | None
    rubric_scores: dict[str, WriterScore]
    comments: list[WriterComment]


class EvaluationWithReview(EvaluationPublic):
    review: WriterReview | None = Field(
        default=None, description="Coach review of a submission to an assignment"
    )


class EvaluationWithReviewResult(BaseModel):
    evaluation: EvaluationWithReview


class SummaryWithReview(EvaluationSummary):
    review_status: Literal["awaiting_review", "released"] | None = None


class SummaryPage(BaseModel):
    items: list[SummaryWithReview]
    total: int
    limit: int
    offset: int


# ------------------------------------------------------------------ analytics


class HistogramBin(BaseModel):
    score: int
    count: int


class CriterionStats(BaseModel):
    criterion_id: str
    criterion: str
    n: int
    mean: float | None = Field(description="Mean final score")
    ai_mean: float | None
    histogram: list[HistogramBin] = Field(description="Final scores, one bin per scale point")


class WeakCriterion(BaseModel):
    criterion_id: str
    criterion: str
    mean: float


class CriterionAgreement(BaseModel):
    criterion_id: str
    criterion: str
    n: int
    mean_absolute_difference: float | None
    overridden: int


class Agreement(BaseModel):
    reviewed: int = Field(description="Submissions whose review was released")
    criterion_scores: int
    overridden: int = Field(description="Criterion scores where the coach's differs from the AI's")
    override_share: float | None
    mean_absolute_difference: float | None = Field(description="Over every criterion score")
    criteria: list[CriterionAgreement]


class OverallStats(BaseModel):
    n: int
    mean: float | None
    ai_mean: float | None


class AssignmentAnalytics(BaseModel):
    assignment_id: str
    title: str
    due_at: datetime
    rubric_id: str
    rubric_version: str
    writers: int
    submitted: int
    reviewed: int
    not_submitted: list[UserRef]
    overall: OverallStats
    criteria: list[CriterionStats]
    weakest_criteria: list[WeakCriterion] = Field(description="Lowest mean first, ties by name")
    agreement: Agreement


class AssignmentRow(BaseModel):
    assignment_id: str
    title: str
    due_at: datetime
    submitted: int
    reviewed: int
    not_submitted: list[UserRef]
    mean: float | None
    ai_mean: float | None


class ProgressPoint(BaseModel):
    assignment_id: str
    title: str
    due_at: datetime
    n: int
    mean: float | None


class WriterScorePoint(BaseModel):
    assignment_id: str
    overall: float | None


class WriterProgress(BaseModel):
    writer: UserRef
    scores: list[WriterScorePoint]


class Progress(BaseModel):
    cohort: list[ProgressPoint] = Field(
        description="Mean final overall per assignment, by due date"
    )
    writers: list[WriterProgress]


class CohortAnalytics(BaseModel):
    cohort_id: str
    name: str
    writers: int
    assignments: list[AssignmentRow]
    criteria: list[CriterionStats] = Field(description="Every assignment, by criterion id")
    weakest_criteria: list[WeakCriterion]
    progress: Progress
    agreement: Agreement


class Deleted(BaseModel):
    id: str
    deleted: bool = True
