"""The coach area and the Assignments tab around the review journey, on one
small course made through the API: who sees what, next/previous with the
keyboard, the analytics tables against numbers worked out from the reviews,
the gradebook download, immediate feedback and a closed assignment, Spanish,
and a phone's width."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import mean
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import MOBILE
from tests.e2e.cohorts_support import Course, memo, open_tab, other_score, signed_in
from tests.e2e.conftest import web_stack
from tests.support.auth import auth_overrides
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

MEMOS = (
    "strong_01_en_hf_remote_monitoring.txt",
    "medium_02_en_nurse_float_pool.txt",
    "weak_02_en_staff_wellness_cafeteria.txt",
)


@dataclass
class Fixture:
    """Cohort A: a coach, four writers (three submitted to A1, the first also to
    A2, the fourth to nothing), the first two released (the first with an
    override), the third not reviewed. Cohort B: its own coach, writer and
    assignment. A3 in cohort A releases the AI's feedback at once."""

    course: Course
    cohort_a: str
    cohort_b: str
    coach: tuple[str, dict[str, str]]
    coach_b: tuple[str, dict[str, str]]
    writers: list[tuple[str, dict[str, str]]]
    writer_b: tuple[str, dict[str, str]]
    a1: dict[str, Any]
    a2: dict[str, Any]
    a3: dict[str, Any]
    b1: dict[str, Any]
    a1_evaluations: list[str]
    b1_evaluation: str
    overridden: str  # the criterion id the coach changed on the first writer's memo


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with web_stack(tmp_path_factory, "web-coach-area", **auth_overrides()) as running:
        yield running


@pytest.fixture(scope="module")
def fx(stack: Stack) -> Iterator[Fixture]:
    course = Course(stack)
    coach = course.user("coach.ana", role="coach")
    coach_b = course.user("coach.ben", role="coach")
    writers = [course.user(f"writer.{n}") for n in ("a", "b", "c", "d")]
    writer_b = course.user("writer.z")
    cohort_a = course.cohort("Cohort A — Tuesdays")
    cohort_b = course.cohort("Cohort B — Thursdays")
    course.join(cohort_a, coach[0], "coach")
    for name, _ in writers:
        course.join(cohort_a, name, "writer")
    course.join(cohort_b, coach_b[0], "coach")
    course.join(cohort_b, writer_b[0], "writer")
    a1 = course.assignment(cohort_a, coach[1], "A1: fund the pilot")
    a2 = course.assignment(cohort_a, coach[1], "A2: the budget note")
    a3 = course.assignment(cohort_a, coach[1], "A3: quick memo", feedback_release="immediate")
    b1 = course.assignment(cohort_b, coach_b[1], "B1: other cohort")
    evaluations = [
        course.submit(a1["id"], headers, memo(name, tag=w))
        for (w, headers), name in zip(writers[:3], MEMOS, strict=True)
    ]
    course.submit(a2["id"], writers[0][1], memo(MEMOS[1], tag="a2"))
    b1_evaluation = course.submit(b1["id"], writer_b[1], memo(MEMOS[0], tag="b"))
    first = course.review(evaluations[0], coach[1])["scores"][0]
    course.override(
        evaluations[0],
        coach[1],
        first["criterion_id"],
        other_score(first["ai_score"]),
        "The ask is in the first sentence.",
    )
    course.release(evaluations[0], coach[1])
    course.release(evaluations[1], coach[1])
    yield Fixture(
        course, cohort_a, cohort_b, coach, coach_b, writers, writer_b,
        a1, a2, a3, b1, evaluations, b1_evaluation, first["criterion_id"],
    )  # fmt: skip
    course.close()


def table(page: Page, name: str) -> list[list[str]]:
    """A chart's data table (core/charts.js), as the text of its body rows."""
    rows = page.locator(f"table[data-table='{name}'] tbody tr")
    return [
        [cell.strip() for cell in row.locator("th, td").all_text_contents()] for row in rows.all()
    ]


def two(value: float | None) -> str:
    return "\u2014" if value is None else f"{value:.2f}"


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
    assert width[0] <= width[1], width


# ---------------------------------------------------------------- visibility


def test_writers_see_only_their_assignments_and_coaches_only_their_cohorts(
    browser: Browser, stack: Stack, fx: Fixture
) -> None:
    writer = signed_in(browser, stack, fx.writers[0][0])
    page = writer.page
    open_tab(page, "assignments")
    cards = page.locator(".assignment-card")
    expect(cards).to_have_count(3)
    titles = cards.locator(".history-title").all_inner_texts()
    assert sorted(titles) == sorted([fx.a1["title"], fx.a2["title"], fx.a3["title"]])
    # Another cohort's assignment, by its address: not found, and nothing leaks.
    page.goto(f"{stack.web_url}/#/assignments/{fx.b1['id']}")
    expect(page.locator(".assignment-detail-states > [data-state='error']")).to_contain_text(
        "doesn't exist, or it isn't one of yours"
    )
    expect(page.locator("#writer-assignment-heading")).not_to_have_text(fx.b1["title"])
    # No coach area for a writer, even by its address.
    expect(page.locator("#tab-cohorts")).to_be_hidden()
    page.goto(f"{stack.web_url}/#/cohorts/cohort/{fx.cohort_a}")
    expect(page.locator("#panel-cohorts")).to_be_hidden()
    page.context.close()

    coach = signed_in(browser, stack, fx.coach[0], route="#/cohorts")
    page = coach.page
    expect(page.locator(".cohort-card")).to_have_count(1)
    expect(page.locator(".cohort-card")).to_contain_text("Cohort A")
    page.goto(f"{stack.web_url}/#/cohorts/cohort/{fx.cohort_b}")
    expect(page.locator(".cohort-states > [data-state='error']")).to_contain_text(
        "doesn't exist, or it isn't one of yours"
    )
    page.goto(f"{stack.web_url}/#/cohorts/review/{fx.b1_evaluation}")
    expect(page.locator(".review-states > [data-state='error']")).to_contain_text(
        "isn't in a cohort you coach"
    )
    # The queue holds cohort A's submissions only.
    page.goto(f"{stack.web_url}/#/cohorts/queue")
    page.locator("#queue-status").select_option("")
    expect(page.locator(".queue-table tbody tr")).to_have_count(4)  # A1 three times, A2 once
    expect(page.locator(f"tr[data-evaluation='{fx.b1_evaluation}']")).to_have_count(0)
    page.context.close()


# ---------------------------------------------------------------- keyboard


def test_j_and_k_walk_the_queue_but_not_while_typing(
    browser: Browser, stack: Stack, fx: Fixture
) -> None:
    app = signed_in(browser, stack, fx.coach[0], route=f"#/cohorts/queue/{fx.a1['id']}")
    page = app.page
    page.locator("#queue-status").select_option("")
    rows = page.locator(".queue-table tbody tr")
    expect(rows).to_have_count(3)
    # Oldest first: the order the writers submitted in.
    order = [rows.nth(i).get_attribute("data-evaluation") for i in range(3)]
    assert order == fx.a1_evaluations
    rows.first.get_by_role("link").click()
    position = page.locator("[data-view='review'] [data-slot='position']")
    expect(position).to_have_text("Submission 1 of 3 in the queue")
    expect(page.locator("#review-shortcuts")).to_contain_text("j or ] next submission")

    def at(index: int) -> None:
        expect(page).to_have_url(re.compile(rf"#/cohorts/review/{fx.a1_evaluations[index]}$"))
        expect(position).to_have_text(f"Submission {index + 1} of 3 in the queue")
        expect(page.locator("#review-heading")).to_contain_text(fx.writers[index][0])

    page.locator("#review-heading").focus()
    page.keyboard.press("j")
    at(1)
    page.keyboard.press("]")
    at(2)
    page.keyboard.press("j")  # the last one: nowhere to go
    expect(page.locator("#live")).to_have_text("This is the last submission in the queue.")
    at(2)
    page.keyboard.press("k")
    at(1)
    # Typing a reason is typing: j stays in the field.
    reason_row = page.locator(".score-row").first
    reason_row.locator("select").select_option(index=0)
    reason = reason_row.get_by_label("Reason (shown to the writer)")
    reason.fill("")
    reason.press("j")
    reason.press("k")
    expect(reason).to_have_value("jk")
    at(1)
    page.locator("#review-heading").focus()
    page.keyboard.press("[")
    at(0)
    page.get_by_role("button", name="Next").click()
    at(1)
    page.context.close()


# ---------------------------------------------------------------- analytics and gradebook


def expected_assignment_stats(fx: Fixture) -> dict[str, Any]:
    """Per criterion: every submission's final score, and the released ones' with the AI's."""
    coach = fx.coach[1]
    reviews = [fx.course.review(e, coach) for e in fx.a1_evaluations]
    stats: dict[str, Any] = {}
    for review in reviews:
        for s in review["scores"]:
            entry = stats.setdefault(
                s["criterion_id"], {"name": s["criterion"], "finals": [], "pairs": []}
            )
            entry["finals"].append(s["final_score"])
            if review["status"] == "released":
                entry["pairs"].append((s["final_score"], s["ai_score"]))
    return stats


def test_assignment_analytics_tables_show_the_numbers_of_the_reviews(
    browser: Browser, stack: Stack, fx: Fixture
) -> None:
    stats = expected_assignment_stats(fx)
    api = fx.course.call("GET", f"/assignments/{fx.a1['id']}/analytics", fx.coach[1])
    app = signed_in(browser, stack, fx.coach[0], route=f"#/cohorts/assignment/{fx.a1['id']}")
    page = app.page
    view = page.locator("#assignment-analytics")
    expect(view.locator("[data-glance='submitted'] dd")).to_have_text("3 of 4")
    expect(view.locator("[data-glance='reviewed'] dd")).to_have_text("2")
    expect(view.locator("[data-list='not-submitted'] li")).to_have_text([fx.writers[3][0]])
    for criterion_id, entry in stats.items():
        counts = {level: entry["finals"].count(level) for level in range(1, 6)}
        assert table(page, f"a-hist-{criterion_id}") == [
            [str(level), str(count)] for level, count in counts.items()
        ]
    # Means by criterion, the AI's beside them, and n.
    api_means = {c["criterion_id"]: c for c in api["criteria"]}
    means_rows = table(page, "a-means")
    for row, (criterion_id, entry) in zip(means_rows, stats.items(), strict=True):
        assert api_means[criterion_id]["mean"] == pytest.approx(mean(entry["finals"]), abs=0.006)
        assert row == [
            entry["name"],
            two(api_means[criterion_id]["mean"]),
            two(api_means[criterion_id]["ai_mean"]),
            str(len(entry["finals"])),
        ]
    # Agreement on the two released reviews: one criterion score changed of six.
    changed = sum(1 for e in stats.values() for f, a in e["pairs"] if f != a)
    total = sum(len(e["pairs"]) for e in stats.values())
    assert (changed, total) == (1, 6)
    expect(view.locator("[data-glance='override-share'] dd")).to_have_text("16.7%")
    expect(view.locator("[data-slot='agreement-summary']")).to_contain_text(
        "Over 2 reviewed submissions the coaches changed 1 of 6 criterion scores (16.7%)"
    )
    agreement = table(page, "a-agreement")
    for row, entry in zip(agreement, stats.values(), strict=True):
        mad = mean(abs(f - a) for f, a in entry["pairs"])
        overridden = sum(1 for f, a in entry["pairs"] if f != a)
        assert row == [entry["name"], two(round(mad, 2)), str(overridden), str(len(entry["pairs"]))]
    # The weakest criteria, lowest mean first.
    weakest = view.locator("[data-list='weakest'] li")
    expect(weakest).to_have_count(len(api["weakest_criteria"]))
    for i, item in enumerate(api["weakest_criteria"]):
        expect(weakest.nth(i)).to_have_attribute("data-criterion", item["criterion_id"])
    page.context.close()


def test_cohort_analytics_progress_and_the_gradebook_download(
    browser: Browser, stack: Stack, fx: Fixture
) -> None:
    api = fx.course.call("GET", f"/cohorts/{fx.cohort_a}/analytics", fx.coach[1])
    app = signed_in(browser, stack, fx.coach[0], route=f"#/cohorts/cohort/{fx.cohort_a}")
    page = app.page
    view = page.locator("#cohort-analytics")
    expect(view.locator("[data-glance='writers'] dd")).to_have_text("4")
    # Progress over the assignments with a mean, by due date.
    progress = [p for p in api["progress"]["cohort"] if p["mean"] is not None]
    assert [p["title"] for p in progress] == [fx.a1["title"], fx.a2["title"], fx.a3["title"]][
        : len(progress)
    ]
    rows = table(page, "c-progress")
    assert [[r[0], r[2], r[3]] for r in rows] == [
        [p["title"], two(p["mean"]), str(p["n"])] for p in progress
    ]
    # Each writer's overall per assignment.
    writers = table(page, "c-writers")
    first = next(r for r in writers if r[0] == fx.writers[0][0])
    scores = next(
        w for w in api["progress"]["writers"] if w["writer"]["username"] == fx.writers[0][0]
    )
    by_id = {s["assignment_id"]: s["overall"] for s in scores["scores"]}
    assert first[1:] == [two(by_id.get(a["assignment_id"])) for a in api["assignments"]]

    # The gradebook: what the link downloads is the API's CSV.
    with page.expect_download() as info:
        page.locator("[data-view='cohort'] [data-slot='gradebook']").click()
    download = info.value
    assert download.suggested_filename == f"gradebook-cohort-{fx.cohort_a[:8]}.csv"
    body = download.path().read_bytes().decode("utf-8")
    with fx.course.stack.client() as client:
        expected = client.get(f"/cohorts/{fx.cohort_a}/gradebook.csv", headers=fx.coach[1]).text
    assert body == expected
    records = list(csv.DictReader(io.StringIO(body)))
    assert len(records) == 4 * 3  # writers x assignments, not-submitted included
    mine = next(
        r for r in records if r["writer"] == fx.writers[0][0] and r["assignment"] == fx.a1["title"]
    )
    assert mine["review_status"] == "released"
    page.context.close()


# ---------------------------------------------------------------- writer views


def test_immediate_feedback_is_the_ais_marked_awaiting_and_a_closed_assignment_refuses(
    browser: Browser, stack: Stack, fx: Fixture
) -> None:
    name, headers = fx.writers[1]
    evaluation_id = fx.course.submit(fx.a3["id"], headers, memo(MEMOS[2], tag="a3"))
    ai = fx.course.call("GET", f"/evaluations/{evaluation_id}", headers)["evaluation"]
    app = signed_in(browser, stack, name, route=f"#/assignments/{fx.a3['id']}")
    page = app.page
    feedback = page.locator("#writer-feedback")
    expect(feedback.locator("[data-slot='notice-title']")).to_have_text(
        "AI feedback, awaiting coach review"
    )
    rows = feedback.locator("tbody tr")
    expect(rows).to_have_count(len(ai["rubric_scores"]))
    for criterion, entry in ai["rubric_scores"].items():
        row = feedback.locator(f"tr[data-criterion='{criterion}']")
        expect(row).to_have_attribute("data-source", "ai")
        expect(row.locator("[data-slot='score']")).to_have_text(f"{entry['score']} / 5")
    expect(page.get_by_role("button", name="Submit revision")).to_be_enabled()
    # The coach moves the due date into the past: the assignment closes.
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    fx.course.call("PUT", f"/assignments/{fx.a3['id']}", fx.coach[1], json={"due_at": past})
    page.reload()
    expect(page.locator("#writer-submit [data-slot='closed']")).to_contain_text(
        "no more submissions or revisions"
    )
    expect(page.get_by_role("button", name="Submit revision")).to_be_disabled()
    expect(page.locator("[data-view='detail'] [data-slot='due']")).to_contain_text("Closed")
    page.context.close()


def test_spanish_writer_and_coach(browser: Browser, stack: Stack, fx: Fixture) -> None:
    writer = signed_in(browser, stack, fx.writers[0][0], spanish=True)
    page = writer.page
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("#tab-assignments")).to_have_text("Tareas")
    page.goto(f"{stack.web_url}/#/assignments/{fx.a1['id']}")
    feedback = page.locator("#writer-feedback")
    expect(feedback.locator("[data-slot='notice-title']")).to_have_text("Revisada por tu coach")
    expect(feedback.locator("tr[data-source='coach']")).to_contain_text("Motivo del coach:")
    count = feedback.locator("[data-slot='comment-count']")
    expect(count).to_have_text(re.compile(r"^\d+ comentarios?$"))
    n = int(count.inner_text().split()[0])
    expect(count).to_have_text(f"{n} comentario" if n == 1 else f"{n} comentarios")
    page.goto(f"{stack.web_url}/#/assignments")
    expect(page.locator(".assignment-card", has_text=fx.a1["title"])).to_contain_text("Revisada")
    page.context.close()

    coach = signed_in(browser, stack, fx.coach[0], spanish=True)
    page = coach.page
    page.goto(f"{stack.web_url}/#/cohorts/review/{fx.a1_evaluations[0]}")
    review = page.locator("[data-view='review']")
    expect(review.locator("[data-slot='status']")).to_have_text("Publicada")
    expect(review.get_by_role("button", name="Publicar de nuevo")).to_be_disabled()
    expect(page.locator("#review-shortcuts")).to_contain_text("siguiente entrega")
    expect(review.locator("[data-slot='history-count']")).to_have_text("2 cambios")
    page.context.close()


def test_a_phone_reads_the_feedback_and_the_review_without_sideways_scrolling(
    browser: Browser, stack: Stack, fx: Fixture
) -> None:
    writer = signed_in(browser, stack, fx.writers[0][0], viewport=MOBILE)
    page = writer.page
    page.goto(f"{stack.web_url}/#/assignments/{fx.a1['id']}")
    expect(page.locator("#writer-feedback [data-slot='body']")).to_be_visible()
    no_sideways_scroll(page)
    page.locator("#writer-feedback mark.hl").first.click()
    expect(page.locator("#writer-comment-card [data-slot='comment']")).not_to_be_empty()
    no_sideways_scroll(page)
    page.context.close()

    coach = signed_in(browser, stack, fx.coach[0], viewport=MOBILE)
    page = coach.page
    for route, ready in (
        (f"#/cohorts/review/{fx.a1_evaluations[0]}", ".review-states [data-state='ready']"),
        (f"#/cohorts/cohort/{fx.cohort_a}", "#cohort-analytics [data-state='ready']"),
        (f"#/cohorts/assignment/{fx.a1['id']}", "#assignment-analytics [data-state='ready']"),
        ("#/cohorts/queue", ".queue-states [data-state='ready']"),
    ):
        page.goto(f"{stack.web_url}/{route}")
        expect(page.locator(ready)).to_be_visible()
        no_sideways_scroll(page)
    page.context.close()


def test_a_typed_passage_is_anchored_where_it_appears_and_a_wrong_one_is_refused(
    browser: Browser, stack: Stack, fx: Fixture
) -> None:
    evaluation_id = fx.a1_evaluations[2]
    text = fx.course.review(evaluation_id, fx.coach[1])["text_content"]
    passage = text.split("\n")[0][:24].strip()  # from the first line, typed by hand
    app = signed_in(browser, stack, fx.coach[0], route=f"#/cohorts/review/{evaluation_id}")
    page = app.page
    page.get_by_role("button", name="Comments").click()
    page.get_by_label("Passage").fill("Words that are not in this memo")
    page.get_by_label("Your comment").fill("Say who decides.")
    page.get_by_role("button", name="Add comment").click()
    expect(page.locator("#comment-add-error")).to_have_text(
        "That passage is not in the memo: select it there, or copy it exactly."
    )
    page.get_by_label("Passage").fill(passage)
    page.get_by_role("button", name="Add comment").click()
    expect(page.locator(".review-comment[data-source='coach']")).to_contain_text("Say who decides.")
    added = next(
        c
        for c in fx.course.review(evaluation_id, fx.coach[1])["comments"]
        if c["source"] == "coach"
    )
    assert (added["start"], added["end"]) == (
        text.index(passage),
        text.index(passage) + len(passage),
    )
    page.context.close()


def test_the_queue_pages_through_a_large_cohort_oldest_first(
    browser: Browser, stack: Stack, fx: Fixture
) -> None:
    course = fx.course
    cohort = course.cohort("Cohort C — large")
    course.join(cohort, fx.coach[0], "coach")
    assignment = course.assignment(cohort, fx.coach[1], "C1: many memos")
    order = []
    for n in range(22):
        name, headers = course.user(f"writer.c{n}")
        course.join(cohort, name, "writer")
        order.append(course.submit(assignment["id"], headers, memo(MEMOS[n % 3], tag=f"c{n}")))
    app = signed_in(browser, stack, fx.coach[0], route=f"#/cohorts/queue/{assignment['id']}")
    page = app.page
    rows = page.locator(".queue-table tbody tr")
    total = page.locator(".queue-states [data-slot='total']")
    expect(total).to_have_text("1–20 of 22 submissions, oldest first")
    expect(rows).to_have_count(20)
    assert [rows.nth(i).get_attribute("data-evaluation") for i in range(20)] == order[:20]
    expect(page.get_by_role("button", name="Previous page")).to_be_disabled()
    page.get_by_role("button", name="Next page").click()
    expect(total).to_have_text("21–22 of 22 submissions, oldest first")
    expect(page.locator(".queue-states [data-slot='page']")).to_have_text("Page 2 of 2")
    expect(rows).to_have_count(2)
    assert [rows.nth(i).get_attribute("data-evaluation") for i in range(2)] == order[20:]
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    # The review screen walks the whole filtered queue, past the page it was opened from.
    rows.first.get_by_role("link").click()
    expect(page.locator("[data-view='review'] [data-slot='position']")).to_have_text(
        "Submission 21 of 22 in the queue"
    )
    page.context.close()


def test_the_coach_moves_a_due_date_and_a_closed_assignment_reopens(
    browser: Browser, stack: Stack, fx: Fixture
) -> None:
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    fx.course.call("PUT", f"/assignments/{fx.a3['id']}", fx.coach[1], json={"due_at": past})
    app = signed_in(
        browser,
        stack,
        fx.coach[0],
        route=f"#/cohorts/assignment/{fx.a3['id']}",
        timezone_id="America/New_York",
    )
    page = app.page
    expect(page.locator("#assignment-heading")).to_have_text(fx.a3["title"])
    expect(page.locator("[data-view='assignment'] [data-slot='meta']")).to_contain_text("Closed")
    page.get_by_role("button", name="Edit assignment").click()
    form = page.locator("#assignment-edit")
    form.get_by_label("Due").fill("2031-01-15T18:00")
    form.get_by_label("Instructions").fill("Two pages at most.")
    form.get_by_role("button", name="Save changes").click()
    expect(page.locator("#live")).to_have_text(f"Assignment {fx.a3['title']} saved.")
    saved = fx.course.call("GET", f"/assignments/{fx.a3['id']}", fx.coach[1])
    assert saved["due_at"].startswith("2031-01-15T23:00:00")  # 18:00 in New York (EST) is 23:00 UTC
    assert saved["is_closed"] is False
    assert saved["instructions"] == "Two pages at most."
    assert saved["title"] == fx.a3["title"]  # unchanged fields are not sent
    expect(page.locator("[data-view='assignment'] [data-slot='meta']")).not_to_contain_text(
        "Closed"
    )
    page.context.close()


def test_the_coach_edits_and_deletes_ai_comments_reverts_a_score_and_releases_again(
    browser: Browser, stack: Stack, fx: Fixture
) -> None:
    evaluation_id = fx.a1_evaluations[1]  # released once, without changes
    writer_name, writer_headers = fx.writers[1]
    before = fx.course.review(evaluation_id, fx.coach[1])
    ai = [c for c in before["comments"] if c["source"] == "ai"]
    assert len(ai) >= 2, "the fixture memo needs two AI comments"
    app = signed_in(browser, stack, fx.coach[0], route=f"#/cohorts/review/{evaluation_id}")
    page = app.page
    view = page.locator("[data-view='review']")
    expect(view.locator("[data-slot='status']")).to_have_text("Released")
    expect(view.get_by_role("button", name="Release again")).to_be_disabled()

    # A score overridden, then put back: the AI's again, nothing to release for it.
    second = before["scores"][1]
    row = view.locator(f".score-row[data-criterion='{second['criterion_id']}']")
    row.get_by_label("Coach's score").select_option(str(other_score(second["ai_score"])))
    row.get_by_label("Reason (shown to the writer)").fill("Tried a different level.")
    row.get_by_role("button", name="Save score").click()
    row = view.locator(f".score-row[data-criterion='{second['criterion_id']}']")
    expect(row).to_have_attribute("data-overridden", "true")
    row.get_by_role("button", name=f"Back to the AI's {second['ai_score']}").click()
    expect(
        view.locator(f".score-row[data-criterion='{second['criterion_id']}']")
    ).to_have_attribute("data-overridden", "false")
    reverted = fx.course.review(evaluation_id, fx.coach[1])["scores"][1]
    assert (reverted["final_score"], reverted["overridden"]) == (second["ai_score"], False)

    # Edit the AI's first comment, delete its second.
    view.get_by_role("button", name="Comments").click()
    edited_text = "Lead with this sentence: it is the ask."
    item = view.locator(f".review-comment[data-comment='{ai[0]['id']}']")
    item.get_by_role("button", name="Edit").click()
    item.get_by_label("Comment", exact=True).fill(edited_text)
    item.get_by_role("button", name="Save comment").click()
    item = view.locator(f".review-comment[data-comment='{ai[0]['id']}']")
    expect(item.locator("[data-slot='text']")).to_have_text(edited_text)
    expect(item).to_have_attribute("data-state", "edited")
    expect(item.locator(".ai-original")).to_contain_text(ai[0]["comment"])
    view.locator(f".review-comment[data-comment='{ai[1]['id']}']").get_by_role(
        "button", name="Delete"
    ).click()
    page.get_by_role("dialog", name="Delete this comment?").get_by_role(
        "button", name="Delete"
    ).click()
    deleted = view.locator(f".review-comment[data-comment='{ai[1]['id']}']")
    expect(deleted).to_have_attribute("data-state", "deleted")
    expect(deleted).to_contain_text("Hidden from the writer.")
    expect(view.locator("mark.hl")).not_to_have_count(0)

    # Changed since the release: release again, after its own confirmation.
    expect(view.locator("[data-slot='status']")).to_have_text("Edited since release")
    view.get_by_role("button", name="Release again").click()
    page.get_by_role("dialog", name=f"Release the new version to {writer_name}?").get_by_role(
        "button", name="Release again"
    ).click()
    expect(view.locator("[data-slot='status']")).to_have_text("Released")
    after = fx.course.review(evaluation_id, fx.coach[1])
    assert after["release_count"] == 2 and after["unreleased_changes"] is False
    page.context.close()

    # The writer reads exactly the released comments: the edit, not the deleted one.
    final = fx.course.call("GET", f"/evaluations/{evaluation_id}", writer_headers)["evaluation"]
    released = final["review"]["comments"]
    assert edited_text in [c["comment"] for c in released]
    assert ai[1]["comment"] not in [c["comment"] for c in released]
    # Instant scrolling: a Next click must not land while the memo still
    # scrolls smoothly to the previous comment (a click lost under load).
    app = signed_in(
        browser,
        stack,
        writer_name,
        route=f"#/assignments/{fx.a1['id']}",
        reduced_motion="reduce",
    )
    page = app.page
    feedback = page.locator("#writer-feedback")
    expect(feedback.locator("[data-slot='notice-title']")).to_have_text("Reviewed by your coach")
    feedback.locator("mark.hl").first.click()
    card = page.locator("#writer-comment-card")
    shown = []
    for n in range(len(released)):
        expect(card.locator("[data-slot='position']")).to_have_text(f"{n + 1} of {len(released)}")
        shown.append(card.locator("[data-slot='comment']").inner_text())
        if n + 1 < len(released):
            card.get_by_role("button", name="Next").click()
    assert sorted(shown) == sorted(c["comment"] for c in released)
    page.context.close()
