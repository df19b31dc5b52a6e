"""Response examples for the OpenAPI document (coaches and cohorts).

Shown in /docs under each route; request examples live on the request models
(`json_schema_extra`). The values are what the API returns for the small
cohort of docs/api.md, trimmed.
"""

from __future__ import annotations

from typing import Any

META = {"timestamp": "2027-03-01T09:30:00Z", "request_id": "6f0c2d9be1a44f6c"}
COHORT_ID = "0b7c6a52-6d1e-4f0e-9b7a-2f4d1f3f8e10"
ASSIGNMENT_ID = "5d2f7c1a-93b4-4a8e-b1f2-6c0e9d4a7b33"
EVALUATION_ID = "c41e8f0a-2b6d-4c9e-8a17-3e5f9b2d6c01"
WRITER = {"id": "9a3e5c7b-1d2f-4e6a-8b0c-4f2e6a8c0d12", "username": "writer.li"}
WRITER_2 = {"id": "2c4e6a8b-0d1f-4a3c-9e5b-7d9f1b3d5e70", "username": "writer.omar"}
SCALE = {
    "min": 1,
    "max": 5,
    "labels": {"1": "Missing", "2": "Weak", "3": "Adequate", "4": "Strong", "5": "Exemplary"},
}
RUBRIC = {
    "id": "executive_summary",
    "name": "Executive Summary Rubric",
    "description": "A shorter rubric for one-page executive summaries.",
    "version": "8d41c0f2a7e3",
    "is_default": False,
    "scale": SCALE,
    "criteria": [
        {"id": "bottom_line", "name": "Bottom Line Up Front", "weight": 40.0, "description": "The recommendation and the decision needed are in the first lines."},
        {"id": "evidence", "name": "Supporting Numbers", "weight": 35.0, "description": "The two or three figures that carry the case."},
        {"id": "brevity", "name": "Brevity and Clarity", "weight": 25.0, "description": "Fits on one page in short, plain sentences."},
    ],
}  # fmt: skip
COHORT = {
    "id": COHORT_ID,
    "name": "Business Writing — Spring 2027",
    "description": "Tuesday evening cohort, 40 writers",
    "my_role": "coach",
    "coaches": 2,
    "writers": 40,
    "assignments": 3,
    "created_at": "2027-01-10T08:00:00Z",
    "updated_at": "2027-01-10T08:00:00Z",
}
MEMBER = {
    "user_id": WRITER["id"],
    "username": WRITER["username"],
    "role": "writer",
    "account_role": "user",
    "is_active": True,
    "added_at": "2027-01-10T08:05:00Z",
}
COUNTS = {"writers": 40, "submitted": 31, "not_submitted": 9, "reviewed": 12, "awaiting_review": 18}
ASSIGNMENT = {
    "id": ASSIGNMENT_ID,
    "cohort_id": COHORT_ID,
    "cohort_name": COHORT["name"],
    "title": "Memo 1: fund a pilot",
    "instructions": "Ask the executive team to fund a 6-month pilot. One page.",
    "due_at": "2027-03-14T23:59:00Z",
    "is_closed": False,
    "rubric_id": "executive_summary",
    "rubric_name": "Executive Summary Rubric",
    "rubric_version": "8d41c0f2a7e3",
    "feedback_release": "after_review",
    "my_role": "coach",
    "counts": COUNTS,
    "my_submission": None,
    "due_notified_at": None,
    "created_at": "2027-02-20T10:00:00Z",
    "updated_at": "2027-02-20T10:00:00Z",
}
ASSIGNMENT_DETAIL = {**ASSIGNMENT, "rubric": RUBRIC}
SUBMISSIONS = {
    "items": [
        {
            "writer": WRITER,
            "evaluation_id": EVALUATION_ID,
            "status": "completed",
            "version_number": 2,
            "submitted_at": "2027-03-02T18:12:40Z",
            "completed_at": "2027-03-02T18:13:05Z",
            "ai_overall_score": 3.4,
            "final_overall_score": 3.75,
            "review_status": "released",
            "unreleased_changes": False,
        },
        {
            "writer": WRITER_2,
            "evaluation_id": None,
            "status": None,
            "version_number": None,
            "submitted_at": None,
            "completed_at": None,
            "ai_overall_score": None,
            "final_overall_score": None,
            "review_status": "not_submitted",
            "unreleased_changes": False,
        },
    ],
    "mine": [],
}
SUBMIT = {
    "evaluation_id": EVALUATION_ID,
    "status": "queued",
    "estimated_completion": "2027-03-02T18:13:10Z",
    "submission_id": "e0f4a6c8-2b1d-4d3f-a5e7-9c1b3d5f7a90",
    "version_number": 1,
}
REVIEW = {
    "evaluation_id": EVALUATION_ID,
    "assignment_id": ASSIGNMENT_ID,
    "assignment_title": "Memo 1: fund a pilot",
    "cohort_id": COHORT_ID,
    "writer": WRITER,
    "status": "draft",
    "feedback_release": "after_review",
    "text_content": "TO: Executive Team\nSUBJECT: Fund a 6-month pilot\n\nWe ask for $240,000…",
    "language": "en",
    "version_number": 2,
    "submitted_at": "2027-03-02T18:12:40Z",
    "completed_at": "2027-03-02T18:13:05Z",
    "llm_provider": "claude",
    "rubric": RUBRIC,
    "ai_overall_score": 3.4,
    "final_overall_score": 3.75,
    "scores": [
        {"criterion_id": "bottom_line", "criterion": "Bottom Line Up Front", "weight": 40.0, "ai_score": 3, "final_score": 4, "overridden": True, "reason": "The ask is in the first sentence.", "justification": "The recommendation appears in the second paragraph.", "overridden_by": "coach.maria", "overridden_at": "2027-03-03T09:12:00Z"},
        {"criterion_id": "evidence", "criterion": "Supporting Numbers", "weight": 35.0, "ai_score": 4, "final_score": 4, "overridden": False, "reason": None, "justification": "Baseline and target are sourced.", "overridden_by": None, "overridden_at": None},
        {"criterion_id": "brevity", "criterion": "Brevity and Clarity", "weight": 25.0, "ai_score": 3, "final_score": 3, "overridden": False, "reason": None, "justification": "Some long sentences.", "overridden_by": None, "overridden_at": None},
    ],
    "comments": [
        {"id": "ai-0", "source": "ai", "state": "edited", "start": 0, "end": 18, "segment": "TO: Executive Team", "comment": "Name the decision-maker.", "questions": [], "ai_comment": "Consider who reads this first.", "author": "coach.maria", "updated_at": "2027-03-03T09:14:00Z"},
        {"id": "1f6d2c3b-8a4e-4b5f-9c0d-7e1a2b3c4d5e", "source": "coach", "state": "added", "start": 52, "end": 70, "segment": "We ask for $240,000", "comment": "Good: the amount is up front.", "questions": [], "ai_comment": None, "author": "coach.maria", "updated_at": "2027-03-03T09:15:00Z"},
    ],
    "strengths": ["States a clear purpose."],
    "opportunities": ["Quantify the risks."],
    "released_at": None,
    "released_by": None,
    "release_count": 0,
    "unreleased_changes": False,
    "history": [
        {"id": 1, "action": "score_override", "actor": {"id": "7b9d1f3a-5c7e-4a9b-8d0f-2a4c6e8a0b21", "username": "coach.maria"}, "at": "2027-03-03T09:12:00Z", "details": {"criterion_id": "bottom_line", "criterion": "Bottom Line Up Front", "ai": 3, "before": 3, "after": 4, "reason": "The ask is in the first sentence."}},
    ],
}  # fmt: skip
QUEUE = {
    "items": [
        {
            "evaluation_id": EVALUATION_ID,
            "assignment_id": ASSIGNMENT_ID,
            "assignment_title": "Memo 1: fund a pilot",
            "cohort_id": COHORT_ID,
            "cohort_name": COHORT["name"],
            "writer": WRITER,
            "version_number": 2,
            "submitted_at": "2027-03-02T18:12:40Z",
            "completed_at": "2027-03-02T18:13:05Z",
            "ai_overall_score": 3.4,
            "final_overall_score": 3.4,
            "review_status": "not_started",
            "unreleased_changes": False,
        }
    ],
    "total": 1,
    "limit": 50,
    "offset": 0,
}
HISTOGRAM = [{"score": s, "count": c} for s, c in ((1, 0), (2, 1), (3, 1), (4, 1), (5, 0))]
AGREEMENT = {
    "reviewed": 2,
    "criterion_scores": 6,
    "overridden": 2,
    "override_share": 0.333,
    "mean_absolute_difference": 0.5,
    "criteria": [
        {"criterion_id": "bottom_line", "criterion": "Bottom Line Up Front", "n": 2, "mean_absolute_difference": 1.0, "overridden": 1},
        {"criterion_id": "evidence", "criterion": "Supporting Numbers", "n": 2, "mean_absolute_difference": 0.5, "overridden": 1},
        {"criterion_id": "brevity", "criterion": "Brevity and Clarity", "n": 2, "mean_absolute_difference": 0.0, "overridden": 0},
    ],
}  # fmt: skip
CRITERIA = [
    {"criterion_id": "bottom_line", "criterion": "Bottom Line Up Front", "n": 3, "mean": 3.0, "ai_mean": 3.33, "histogram": HISTOGRAM},
    {"criterion_id": "evidence", "criterion": "Supporting Numbers", "n": 3, "mean": 3.67, "ai_mean": 3.33, "histogram": HISTOGRAM},
    {"criterion_id": "brevity", "criterion": "Brevity and Clarity", "n": 3, "mean": 2.67, "ai_mean": 2.67, "histogram": HISTOGRAM},
]  # fmt: skip
WEAKEST = [
    {"criterion_id": "brevity", "criterion": "Brevity and Clarity", "mean": 2.67},
    {"criterion_id": "bottom_line", "criterion": "Bottom Line Up Front", "mean": 3.0},
    {"criterion_id": "evidence", "criterion": "Supporting Numbers", "mean": 3.67},
]
ASSIGNMENT_ANALYTICS = {
    "assignment_id": ASSIGNMENT_ID,
    "title": "Memo 1: fund a pilot",
    "due_at": "2027-03-14T23:59:00Z",
    "rubric_id": "executive_summary",
    "rubric_version": "8d41c0f2a7e3",
    "writers": 4,
    "submitted": 3,
    "reviewed": 2,
    "not_submitted": [WRITER_2],
    "overall": {"n": 3, "mean": 3.14, "ai_mean": 3.17},
    "criteria": CRITERIA,
    "weakest_criteria": WEAKEST,
    "agreement": AGREEMENT,
}
COHORT_ANALYTICS = {
    "cohort_id": COHORT_ID,
    "name": COHORT["name"],
    "writers": 4,
    "assignments": [
        {
            "assignment_id": ASSIGNMENT_ID,
            "title": "Memo 1: fund a pilot",
            "due_at": "2027-03-14T23:59:00Z",
            "submitted": 3,
            "reviewed": 2,
            "not_submitted": [WRITER_2],
            "mean": 3.14,
            "ai_mean": 3.17,
        }
    ],
    "criteria": CRITERIA,
    "weakest_criteria": WEAKEST,
    "progress": {
        "cohort": [
            {
                "assignment_id": ASSIGNMENT_ID,
                "title": "Memo 1: fund a pilot",
                "due_at": "2027-03-14T23:59:00Z",
                "n": 3,
                "mean": 3.14,
            }
        ],
        "writers": [
            {"writer": WRITER, "scores": [{"assignment_id": ASSIGNMENT_ID, "overall": 3.75}]}
        ],
    },
    "agreement": AGREEMENT,
}
GRADEBOOK = (
    "writer,writer_id,assignment,assignment_id,due_at,submitted_at,version,status,ai_overall,"
    "final_overall,review_status,Bottom Line Up Front,Supporting Numbers,Brevity and Clarity\r\n"
    f"writer.li,{WRITER['id']},Memo 1: fund a pilot,{ASSIGNMENT_ID},2027-03-14T23:59:00+00:00,"
    "2027-03-02T18:12:40+00:00,2,completed,3.4,3.75,released,4,4,3\r\n"
    f"writer.omar,{WRITER_2['id']},Memo 1: fund a pilot,{ASSIGNMENT_ID},2027-03-14T23:59:00+00:00,"
    ",,,,,not_submitted,,,\r\n"
)


def ok(data: Any, status: int = 200) -> dict[int | str, dict[str, Any]]:
    """The `responses` entry that shows `data` in the envelope as the example."""
    return {
        status: {
            "content": {"application/json": {"example": {"data": data, "meta": META, "errors": []}}}
        }
    }


def page(item: Any) -> dict[str, Any]:
    return {"items": [item], "total": 1, "limit": 50, "offset": 0}


def csv(text: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": "The gradebook as CSV (UTF-8, CRLF line ends)",
            "content": {"text/csv": {"schema": {"type": "string"}, "example": text}},
        }
    }
