"""The whole review journey in Chromium against real api, worker and web
processes: an admin makes an account a coach, creates a cohort and adds the
coach and a writer; the coach sets an assignment (due in their local time,
stored in UTC); the writer submits a memo (with an emoji, so code points and
UTF-16 units differ) and sees it awaiting review; the coach overrides a score
with a reason and comments on a passage selected in the memo, then releases;
the writer sees the coach's score, reason and comment on that passage."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.cohorts_support import (
    Course,
    memo,
    open_tab,
    other_score,
    real_errors,
    select_passage,
    signed_in,
)
from tests.e2e.conftest import one_decimal, web_stack
from tests.support.auth import ADMIN_USERNAME, auth_overrides
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

REASON = "The ask and the deadline are in the first two lines."
COMMENT = "Good: the number comes with its baseline. Keep it here."
MADRID = ZoneInfo("Europe/Madrid")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with web_stack(tmp_path_factory, "web-coach-journey", **auth_overrides()) as running:
        yield running


@pytest.fixture
def course(stack: Stack) -> Iterator[Course]:
    instance = Course(stack)
    yield instance
    instance.close()


def test_admin_coach_and_writer_go_through_the_whole_review_journey(
    browser: Browser, stack: Stack, course: Course
) -> None:
    coach_name, coach = course.user("coach.maria")  # a plain account: the admin makes it a coach
    writer_name, writer = course.user("writer.li")
    cohort_name = f"Business Writing — Spring {coach_name[-6:]}"

    # ------------------------------------------------------------ the admin
    admin_app = signed_in(browser, stack, ADMIN_USERNAME)
    page = admin_app.page
    page.goto(f"{stack.web_url}/#/admin")
    row = page.locator("#admin-users tbody tr", has_text=coach_name)
    row.get_by_label(f"Role of {coach_name}").select_option("coach")
    expect(page.locator("#live")).to_have_text(f"{coach_name} is now Coach.")
    users = course.call("GET", "/users?role=coach&limit=200", course.admin)["items"]
    assert coach_name in [u["username"] for u in users]

    open_tab(page, "cohorts")
    create = page.locator("#cohort-create")
    create.get_by_label("Cohort name").fill(cohort_name)
    create.get_by_label("Description (optional)").fill("Tuesday evening cohort")
    create.get_by_role("button", name="Create cohort").click()
    expect(page).to_have_url(re.compile(r"#/cohorts/cohort/[\w-]+$"))
    expect(page.locator("#cohort-heading")).to_have_text(cohort_name)
    cohort_id = page.url.rsplit("/", 1)[1]
    members = page.locator("#cohort-members")
    for name, role, label in ((coach_name, "coach", "Coach"), (writer_name, "writer", "Writer")):
        members.get_by_label("Username").fill(name)
        members.get_by_label("Role in the cohort").select_option(role)
        members.get_by_role("button", name="Add member").click()
        expect(members.locator(f"tr[data-member='{name}']")).to_contain_text(label)
    # An unknown username is refused, in words.
    members.get_by_label("Username").fill("nobody.here")
    members.get_by_role("button", name="Add member").click()
    expect(page.locator("#member-error")).to_have_text("There is no account named nobody.here.")
    listed = course.call("GET", f"/cohorts/{cohort_id}/members", course.admin)["items"]
    assert {(m["username"], m["role"]) for m in listed} == {
        (coach_name, "coach"),
        (writer_name, "writer"),
    }
    assert real_errors(admin_app.errors) == []
    page.context.close()

    # ------------------------------------------------------------ the coach sets an assignment
    coach_app = signed_in(browser, stack, coach_name, timezone_id="Europe/Madrid")
    cpage = coach_app.page
    open_tab(cpage, "cohorts")
    expect(cpage.locator("#cohort-create")).to_be_hidden()  # only admins create cohorts
    cpage.locator(".cohort-card", has_text=cohort_name).get_by_role("link").click()
    expect(cpage.locator("#cohort-heading")).to_have_text(cohort_name)
    expect(cpage.locator("#member-add")).to_be_hidden()
    cpage.get_by_role("button", name="New assignment").click()
    form = cpage.locator("#assignment-create")
    due_local = (datetime.now(MADRID) + timedelta(days=3)).replace(
        hour=17, minute=30, second=0, microsecond=0
    )
    form.get_by_label("Title").fill("Memo 1: fund a pilot")
    form.get_by_label("Instructions").fill("One page. Lead with the ask.")
    form.get_by_label("Due").fill(due_local.strftime("%Y-%m-%dT%H:%M"))
    expect(form.locator("#assignment-due-hint")).to_contain_text("Europe/Madrid")
    form.get_by_label("Rubric").select_option("executive_summary")
    expect(form.get_by_label("After my review", exact=False)).to_be_checked()
    form.get_by_role("button", name="Create assignment").click()
    expect(cpage).to_have_url(re.compile(r"#/cohorts/assignment/[\w-]+$"))
    assignment_id = cpage.url.rsplit("/", 1)[1]
    assignment = course.call("GET", f"/assignments/{assignment_id}", coach)
    # Shown in the coach's local time, stored in UTC.
    assert datetime.fromisoformat(assignment["due_at"]) == due_local.astimezone(UTC)
    assert assignment["rubric_id"] == "executive_summary"
    assert assignment["feedback_release"] == "after_review"
    expect(cpage.locator("#assignment-heading")).to_have_text("Memo 1: fund a pilot")
    expect(cpage.locator("[data-view='assignment'] [data-slot='meta']")).to_contain_text("5:30 PM")
    expect(
        cpage.locator(f"[data-view='assignment'] tr[data-writer='{writer_name}']")
    ).to_contain_text("Not submitted")

    # ------------------------------------------------------------ the writer submits
    writer_app = signed_in(browser, stack, writer_name)
    wpage = writer_app.page
    expect(wpage.locator("#tab-cohorts")).to_be_hidden()  # writers have no coach area
    open_tab(wpage, "assignments")
    card = wpage.locator(".assignment-card", has_text="Memo 1: fund a pilot")
    expect(card).to_contain_text(cohort_name)
    expect(card.locator("[data-writer-status]")).to_have_text("Not submitted")
    card.get_by_role("link").click()
    expect(wpage.locator("#writer-assignment-heading")).to_have_text("Memo 1: fund a pilot")
    expect(wpage.locator("[data-view='detail'] [data-slot='instructions']")).to_have_text(
        "One page. Lead with the ask."
    )
    text = "🚀 Décision rapide\n" + memo("medium_01_en_second_mri_scanner.txt")
    wpage.locator("#assignment-text").fill(text)
    wpage.get_by_role("button", name="Submit", exact=True).click()
    notice = wpage.locator("#writer-feedback [data-slot='notice']")
    expect(notice.locator("[data-slot='notice-title']")).to_have_text(
        "Awaiting coach review", timeout=30_000
    )
    expect(wpage.locator("#writer-feedback [data-slot='body']")).to_be_hidden()  # withheld
    evaluation_id = course.call("GET", f"/assignments/{assignment_id}/submissions", writer)["mine"][
        0
    ]["evaluation_id"]
    withheld = course.call("GET", f"/evaluations/{evaluation_id}", writer)["evaluation"]
    assert withheld["overall_score"] is None and withheld["review"]["status"] == "awaiting_review"

    # ------------------------------------------------------------ the coach reviews
    cpage.locator("[data-subnav='queue']").click()
    queue_row = cpage.locator(f"#panel-cohorts tr[data-evaluation='{evaluation_id}']")
    expect(queue_row).to_contain_text(writer_name)
    expect(queue_row).to_contain_text("Not started")
    queue_row.get_by_role("link", name=writer_name).click()
    expect(cpage).to_have_url(re.compile(rf"#/cohorts/review/{evaluation_id}$"))
    review_view = cpage.locator("#panel-cohorts [data-view='review']")
    expect(review_view.locator("[data-slot='position']")).to_have_text(
        "Submission 1 of 1 in the queue"
    )
    review = course.review(evaluation_id, coach)
    expect(review_view.locator("[data-slot='ai-overall']")).to_have_text(
        one_decimal(review["ai_overall_score"])
    )

    # Override the first criterion: a reason is required.
    first = review["scores"][0]
    new_score = other_score(first["ai_score"])
    score_row = review_view.locator(f".score-row[data-criterion='{first['criterion_id']}']")
    expect(score_row.locator("[data-slot='ai-score']")).to_have_text(str(first["ai_score"]))
    score_row.get_by_label("Coach's score").select_option(str(new_score))
    score_row.get_by_role("button", name="Save score").click()
    expect(score_row.get_by_role("alert")).to_have_text(
        "Give a reason for the change: the writer sees it."
    )
    score_row = review_view.locator(f".score-row[data-criterion='{first['criterion_id']}']")
    score_row.get_by_label("Reason (shown to the writer)").fill(REASON)
    score_row.get_by_role("button", name="Save score").click()
    expect(
        review_view.locator(f".score-row[data-criterion='{first['criterion_id']}']")
    ).to_have_attribute("data-overridden", "true")
    reviewed = course.review(evaluation_id, coach)
    finals = {s["criterion_id"]: (s["final_score"], s["weight"]) for s in reviewed["scores"]}
    assert finals[first["criterion_id"]][0] == new_score
    weighted = sum(s * w for s, w in finals.values()) / sum(w for _, w in finals.values())
    assert reviewed["final_overall_score"] == pytest.approx(weighted, abs=0.01)
    expect(review_view.locator("[data-slot='final-overall']")).to_have_text(
        one_decimal(reviewed["final_overall_score"])
    )
    expect(review_view.locator("[data-slot='status']")).to_have_text("Draft")

    # Comment on a few words inside one of the AI's passages, selected in the memo.
    ai_comment = next(
        c for c in reviewed["comments"] if c["source"] == "ai" and len(c["segment"].split()) >= 4
    )
    passage = " ".join(ai_comment["segment"].split()[1:4])
    select_passage(cpage, passage)
    expect(cpage.locator("#review-comments")).to_be_visible()  # the side panel turned to comments
    expect(cpage.locator("#comment-quote")).to_have_value(passage)
    cpage.locator("#comment-text").fill(COMMENT)
    cpage.get_by_role("button", name="Add comment").click()
    coach_item = review_view.locator(".review-comment[data-source='coach']")
    expect(coach_item).to_contain_text(COMMENT)
    expect(review_view.locator("mark.hl-coach")).to_have_count(1)
    expect(review_view.locator("mark.hl-coach")).to_contain_text(passage)
    added = next(
        c for c in course.review(evaluation_id, coach)["comments"] if c["source"] == "coach"
    )
    # Code-point offsets: Python's str slicing is the API's own counting.
    assert text[added["start"] : added["end"]] == passage == added["segment"]
    assert added["start"] == text.index(passage)
    utf16_start = len(text[: added["start"]].encode("utf-16-le")) // 2
    assert utf16_start == added["start"] + 1  # the emoji before it is two UTF-16 units

    # Release, after a confirmation.
    review_view.get_by_role("button", name="Release to the writer").click()
    dialog = cpage.get_by_role("dialog", name=f"Release the feedback to {writer_name}?")
    dialog.get_by_role("button", name="Release to the writer").click()
    expect(review_view.locator("[data-slot='status']")).to_have_text("Released")
    expect(review_view.get_by_role("button", name="Release again")).to_be_disabled()
    history = review_view.locator("[data-slot='history'] li")
    expect(history).to_have_count(3)  # override, comment, release
    assert course.review(evaluation_id, coach)["status"] == "released"
    assert real_errors(coach_app.errors) == []

    # ------------------------------------------------------------ the writer reads the feedback
    wpage.goto(f"{stack.web_url}/#/assignments")
    expect(
        wpage.locator(".assignment-card", has_text="Memo 1: fund a pilot").locator(
            "[data-writer-status]"
        )
    ).to_have_text("Reviewed")
    wpage.locator(".assignment-card", has_text="Memo 1: fund a pilot").get_by_role("link").click()
    expect(notice.locator("[data-slot='notice-title']")).to_have_text("Reviewed by your coach")
    feedback = wpage.locator("#writer-feedback")
    expect(feedback.locator("[data-overall='final'] dd")).to_have_text(
        f"{one_decimal(reviewed['final_overall_score'])} / 5"
    )
    crit = feedback.locator(f"tr[data-criterion='{first['criterion']}']")
    expect(crit).to_have_attribute("data-source", "coach")
    expect(crit.locator("[data-slot='score']")).to_have_text(f"{new_score} / 5")
    expect(crit.locator("[data-slot='ai-score']")).to_have_text(f"AI: {first['ai_score']}")
    expect(crit.locator("[data-slot='reason']")).to_have_text(f"Coach's reason: {REASON}")
    # The coach's comment sits on exactly the passage the coach selected.
    mark = feedback.locator("mark.hl-coach")
    expect(mark).to_have_count(1)
    expect(mark).to_contain_text(passage)
    mark.click()
    comment_card = wpage.locator("#writer-comment-card")
    expect(comment_card.locator("[data-slot='source']")).to_have_text("Coach")
    expect(comment_card.locator("[data-slot='quote']")).to_have_text(passage)
    expect(comment_card.locator("[data-slot='comment']")).to_have_text(COMMENT)
    # Overall feedback says it was reviewed, and links back here.
    wpage.goto(f"{stack.web_url}/#/overall/{evaluation_id}")
    expect(wpage.locator("#panel-overall [data-slot='review-title']")).to_have_text(
        "Reviewed by your coach"
    )
    expect(wpage.locator("#panel-overall [data-slot='review-link']")).to_have_attribute(
        "href", f"#/assignments/{assignment_id}"
    )
    assert real_errors(writer_app.errors) == []
    coach_app.page.context.close()
    wpage.context.close()
