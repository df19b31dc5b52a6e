"""The coach's edits beyond scores, in Chromium against real api, worker and
web processes: the questions of an AI comment changed on the review screen and
read by the writer after release; questions set on a coach's own comment, with
the API's refusal shown in the form; the AI's strengths and opportunities on
the review screen; a cohort renamed by an admin, its new name in the list."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.cohorts_support import Course, memo, real_errors, select_passage, signed_in
from tests.e2e.conftest import web_stack
from tests.e2e.test_accessibility import AXE, axe_violations
from tests.support.auth import ADMIN_USERNAME, auth_overrides
from tests.support.services import unavailable
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

# A low limit on a coach's comment, so the browser can send one the API refuses.
MAX_COMMENT = 300
EDITED_QUESTION = "Which number would make the board say yes on the spot?"
ADDED_QUESTION = "Who else has to agree before this goes ahead?"
COACH_QUESTION = "What happens if we wait a quarter?"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    overrides = auth_overrides(REVIEW_MAX_COMMENT_LENGTH=str(MAX_COMMENT))
    with web_stack(tmp_path_factory, "web-coach-edits", **overrides) as running:
        yield running


@pytest.fixture
def course(stack: Stack) -> Iterator[Course]:
    instance = Course(stack)
    yield instance
    instance.close()


def submitted(course: Course, tag: str) -> tuple[str, str, str, dict[str, str], str]:
    """A cohort with a coach and a writer, an assignment and the writer's completed memo."""
    coach_name, coach = course.user("coach.ana", role="coach")
    writer_name, writer = course.user("writer.tom")
    cohort_id = course.cohort(f"Business Writing {tag}")
    course.join(cohort_id, coach_name, "coach")
    course.join(cohort_id, writer_name, "writer")
    assignment = course.assignment(cohort_id, coach, "Memo 2: the budget ask")
    evaluation_id = course.submit(
        assignment["id"], writer, memo("medium_01_en_second_mri_scanner.txt", tag)
    )
    return coach_name, writer_name, assignment["id"], writer, evaluation_id


def no_axe_violations(app: Any) -> None:
    """axe-core's WCAG 2.1 AA checks on the page as it is now (new controls open)."""
    if not AXE.exists():
        unavailable("axe-core", "run `make install` (npm ci)")
    assert axe_violations(app, AXE) == []


def first_in_text(comments: list[dict[str, Any]]) -> dict[str, Any]:
    """The comment the writer's Next button shows first: the earliest passage."""
    return min(comments, key=lambda c: (c["start"], c["end"]))


def test_the_writer_reads_the_question_a_coach_changed_in_an_ai_comment(
    browser: Browser, stack: Stack, course: Course
) -> None:
    coach_name, writer_name, assignment_id, writer, evaluation_id = submitted(course, "q1")
    coach_app = signed_in(browser, stack, coach_name, route=f"#/cohorts/review/{evaluation_id}")
    page = coach_app.page
    review = course.review(evaluation_id, course.admin)
    target = first_in_text([c for c in review["comments"] if c["source"] == "ai"])
    assert target["questions"], "the offline evaluator asks questions in every comment"
    kept = target["questions"][1:]

    view = page.locator("#panel-cohorts [data-view='review']")
    view.get_by_role("button", name="Comments").click()
    item = view.locator(f".review-comment[data-comment='{target['id']}']")
    expect(item.locator("[data-slot='questions'] li")).to_have_count(len(target["questions"]))
    item.get_by_role("button", name="Edit").click()
    first = item.get_by_label("Question 1", exact=True)
    expect(first).to_have_value(target["questions"][0])
    first.fill(EDITED_QUESTION)
    if len(target["questions"]) < 6:
        item.get_by_role("button", name="Add a question").click()
        added = item.get_by_label(f"Question {len(target['questions']) + 1}", exact=True)
        expect(added).to_be_focused()
        added.fill(ADDED_QUESTION)
    item.get_by_role("button", name="Save comment").click()
    expect(page.locator("#live")).to_have_text("Comment saved.")
    item = view.locator(f".review-comment[data-comment='{target['id']}']")
    expect(item).to_have_attribute("data-state", "edited")
    wanted = [EDITED_QUESTION, *kept] + ([ADDED_QUESTION] if len(target["questions"]) < 6 else [])
    expect(item.locator("[data-slot='questions'] li")).to_have_text(wanted)
    saved = next(
        c for c in course.review(evaluation_id, course.admin)["comments"] if c["id"] == target["id"]
    )
    assert saved["questions"] == wanted
    assert saved["comment"] == target["comment"]  # only the questions were sent
    history = view.locator("[data-slot='history'] li")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text(f"{coach_name} changed a comment's questions")

    # Removing a question from the editor saves the list without it.
    item.get_by_role("button", name="Edit").click()
    item.get_by_role("button", name="Remove question 1").click()
    expect(item.get_by_label("Question 1", exact=True)).to_be_focused()
    item.get_by_role("button", name="Save comment").click()
    item = view.locator(f".review-comment[data-comment='{target['id']}']")
    expect(item.locator("[data-slot='questions'] li")).to_have_text(wanted[1:])
    # ...and the coach puts the edited one back.
    item.get_by_role("button", name="Edit").click()
    item.get_by_role("button", name="Add a question").click()
    item.get_by_label(f"Question {len(wanted)}", exact=True).fill(EDITED_QUESTION)
    item.get_by_role("button", name="Save comment").click()
    item = view.locator(f".review-comment[data-comment='{target['id']}']")
    final = [*wanted[1:], EDITED_QUESTION]
    expect(item.locator("[data-slot='questions'] li")).to_have_text(final)
    # Escape leaves the editor without saving, the focus back on Edit.
    item.get_by_role("button", name="Edit").click()
    item.get_by_label("Question 1", exact=True).fill("Not this one")
    item.get_by_label("Question 1", exact=True).press("Escape")
    expect(item.get_by_role("button", name="Edit")).to_be_focused()
    expect(item.locator("[data-slot='questions'] li")).to_have_text(final)

    view.get_by_role("button", name="Release to the writer").click()
    page.get_by_role("dialog").get_by_role("button", name="Release to the writer").click()
    expect(view.locator("[data-slot='status']")).to_have_text("Released")
    assert real_errors(coach_app.errors) == []

    writer_app = signed_in(browser, stack, writer_name, route=f"#/assignments/{assignment_id}")
    wpage = writer_app.page
    notice = wpage.locator("#writer-feedback [data-slot='notice']")
    expect(notice.locator("[data-slot='notice-title']")).to_have_text("Reviewed by your coach")
    card = wpage.locator("#writer-comment-card")
    card.locator("[data-nav='next']").click()  # the first comment in the text
    expect(card.locator("[data-slot='quote']")).to_have_text(target["segment"])
    expect(card.locator("[data-slot='questions'] li")).to_have_text(final)
    shown = course.call("GET", f"/evaluations/{evaluation_id}", writer)["evaluation"]["review"]
    assert next(c for c in shown["comments"] if c["start"] == target["start"])["questions"] == final
    assert real_errors(writer_app.errors) == []
    page.context.close()
    wpage.context.close()


def test_the_coach_sees_the_ai_strengths_and_asks_questions_in_a_comment(
    browser: Browser, stack: Stack, course: Course
) -> None:
    coach_name, _, _, _, evaluation_id = submitted(course, "q2")
    review = course.review(evaluation_id, course.admin)
    assert review["strengths"] and review["opportunities"]
    coach_app = signed_in(
        browser,
        stack,
        coach_name,
        route=f"#/cohorts/review/{evaluation_id}",
        bypass_csp=True,  # to load axe-core
        color_scheme="dark",
    )
    page = coach_app.page
    view = page.locator("#panel-cohorts [data-view='review']")
    summary = view.locator("#review-summary")
    expect(summary.get_by_role("heading", name="The AI's overall feedback")).to_be_visible()
    expect(summary.locator("[data-slot='strengths'] li")).to_have_text(review["strengths"])
    expect(summary.locator("[data-slot='opportunities'] li")).to_have_text(review["opportunities"])

    # A coach's comment with a question; too long a comment is refused by the API, in the form.
    line = next(ln for ln in review["text_content"].splitlines() if len(ln.split()) >= 6)
    passage = " ".join(line.split()[1:5])
    select_passage(page, passage)
    form = page.locator("#comment-add")
    form.get_by_label("Your comment").fill("x" * (MAX_COMMENT + 1))
    form.get_by_role("button", name="Add a question").click()
    form.get_by_label("Question 1", exact=True).fill(COACH_QUESTION)
    form.get_by_role("button", name="Add comment").click()
    expect(page.locator("#comment-add-error")).to_contain_text(str(MAX_COMMENT))
    assert not [
        c for c in course.review(evaluation_id, course.admin)["comments"] if c["source"] == "coach"
    ]
    form.get_by_label("Your comment").fill("Say what it costs next to what it saves.")
    form.get_by_role("button", name="Add comment").click()
    mine = view.locator(".review-comment[data-source='coach']")
    expect(mine.locator("[data-slot='questions'] li")).to_have_text([COACH_QUESTION])
    expect(page.locator("#comment-add-error")).to_be_hidden()
    expect(form.get_by_label("Question 1", exact=True)).to_have_count(0)  # the form starts afresh
    added = next(
        c for c in course.review(evaluation_id, course.admin)["comments"] if c["source"] == "coach"
    )
    assert added["questions"] == [COACH_QUESTION] and added["segment"] == passage
    # At most six questions: the seventh cannot be added.
    mine.get_by_role("button", name="Edit").click()
    for n in range(2, 7):
        mine.get_by_role("button", name="Add a question").click()
        mine.get_by_label(f"Question {n}", exact=True).fill(f"Question number {n}?")
    expect(mine.get_by_role("button", name="Add a question")).to_be_disabled()
    expect(mine).to_contain_text("That is as many as a comment can ask (6)")
    no_axe_violations(coach_app)  # the summary, and the editor with six questions, in dark
    mine.get_by_role("button", name="Save comment").click()
    mine = view.locator(".review-comment[data-source='coach']")
    expect(mine.locator("[data-slot='questions'] li")).to_have_count(6)
    assert real_errors(coach_app.errors) == []
    page.context.close()


def test_an_admin_renames_a_cohort_and_the_list_shows_the_new_name(
    browser: Browser, stack: Stack, course: Course
) -> None:
    cohort_id = course.cohort("Business Writing — draft name")
    coach_name, _ = course.user("coach.eva", role="coach")
    course.join(cohort_id, coach_name, "coach")
    app = signed_in(
        browser, stack, ADMIN_USERNAME, route=f"#/cohorts/cohort/{cohort_id}", bypass_csp=True
    )
    page = app.page
    expect(page.locator("#cohort-heading")).to_have_text("Business Writing — draft name")
    toggle = page.get_by_role("button", name="Edit name and description")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    form = page.locator("#cohort-edit")
    name = form.get_by_label("Cohort name")
    expect(name).to_be_focused()
    name.fill("   ")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_role("alert")).to_have_text("Give the cohort a name.")
    expect(name).to_have_attribute("aria-invalid", "true")
    no_axe_violations(app)
    name.fill("Business Writing — Fall 2027")
    form.get_by_label("Description (optional)").fill("Thursday mornings, 40 writers")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#live")).to_have_text("Cohort Business Writing — Fall 2027 saved.")
    expect(form).to_be_hidden()
    expect(toggle).to_be_focused()
    expect(page.locator("#cohort-heading")).to_have_text("Business Writing — Fall 2027")
    stored = course.call("GET", f"/cohorts/{cohort_id}", course.admin)
    assert (stored["name"], stored["description"]) == (
        "Business Writing — Fall 2027",
        "Thursday mornings, 40 writers",
    )
    # Escape closes the form without saving.
    toggle.click()
    name.fill("Not this one")
    name.press("Escape")
    expect(form).to_be_hidden()
    expect(page.locator("#cohort-heading")).to_have_text("Business Writing — Fall 2027")

    page.locator("[data-subnav='list']").click()
    card = page.locator(f".cohort-card[data-cohort='{cohort_id}']")
    expect(card.locator(".cohort-name")).to_have_text("Business Writing — Fall 2027")
    expect(card.locator(".cohort-desc")).to_have_text("Thursday mornings, 40 writers")
    assert real_errors(app.errors) == []
    page.context.close()

    # A coach of the cohort cannot rename it (PUT /cohorts/{id} is for admins).
    coach_app = signed_in(browser, stack, coach_name, route=f"#/cohorts/cohort/{cohort_id}")
    expect(coach_app.page.locator("#cohort-heading")).to_have_text("Business Writing — Fall 2027")
    expect(coach_app.page.locator("#cohort-edit-toggle")).to_be_hidden()
    coach_app.page.context.close()
