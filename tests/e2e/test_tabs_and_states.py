"""Tabs keep their state and never refetch; empty, loading, error, failure and
offline states each say what happened and offer the way on."""

from __future__ import annotations

import pytest
from playwright.sync_api import Route, expect

from tests.e2e.conftest import App, unique
from tests.fakes.anthropic_server import FakeAnthropic

pytestmark = pytest.mark.e2e

MEMO = (
    "Recommendation: approve $450,000 by 30 April to open a second MRI scanner.\n"
    "Patients now wait 41 days for a scan, against a target of 14 days.\n"
    "The scanner pays for itself in 26 months from outpatient revenue.\n"
)


def test_tab_switching_keeps_the_typed_text_and_the_results_without_refetching(
    offline_app: App,
) -> None:
    app = offline_app.open()
    page = app.page
    draft = "A draft I have not submitted yet: café, naïve, 😀."
    page.fill("#memo-text", draft)
    for tab in ("overall", "detailed", "progress", "help", "write"):
        page.click(f"#tab-{tab}")
        expect(app.panel(tab)).to_be_visible()
    expect(page.locator("#memo-text")).to_have_value(draft)

    app.submit(MEMO)
    evaluation_id = app.wait_for_result()
    score = app.view("overall", "ready").locator("[data-slot='score']").inner_text()
    page.click("#tab-detailed")
    expect(app.view("detailed", "ready").locator("mark.hl").first).to_be_visible()
    for tab in ("write", "help", "overall", "detailed", "overall"):
        page.click(f"#tab-{tab}")
    expect(app.view("overall", "ready").locator("[data-slot='score']")).to_have_text(score)
    page.click("#tab-write")
    expect(page.locator("#memo-text")).to_have_value(MEMO)
    # The browser's Back button walks the tabs back.
    page.go_back()
    expect(app.panel("overall")).to_be_visible()
    page.go_back()
    expect(app.panel("detailed")).to_be_visible()

    # Loaded once each: the configuration, and the result (the status was polled).
    assert app.api_calls.count("GET /config/public") == 1
    assert app.api_calls.count(f"GET /evaluations/{evaluation_id}") == 1
    assert app.errors == []


def test_the_draft_survives_a_reload(offline_app: App) -> None:
    app = offline_app.open()
    app.page.fill("#memo-text", "Half-written memo 😀 that must not be lost.")
    app.page.wait_for_timeout(600)  # the draft is saved 400 ms after typing stops
    app.open()
    expect(app.page.locator("#memo-text")).to_have_value(
        "Half-written memo 😀 that must not be lost."
    )


def test_results_tabs_show_an_empty_state_before_any_memo(offline_app: App) -> None:
    app = offline_app.open("#/overall")
    empty = app.view("overall", "empty")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("No feedback yet")
    empty.get_by_role("link", name="Start writing").click()
    expect(app.page.locator("#memo-text")).to_be_visible()
    app.page.click("#tab-progress")
    expect(app.page.locator("#panel-progress .history-states [data-state='empty']")).to_be_visible()


def test_input_problems_are_explained_inline_before_submitting(offline_app: App) -> None:
    app = offline_app.open()
    page = app.page
    page.fill("#memo-text", "   \n  ")
    expect(page.locator("#submit-btn")).to_be_disabled()
    page.fill("#memo-text", "😀" * 10_001)  # counted in code points, as the API counts
    expect(page.locator("#char-count")).to_have_text("10,001 / 10,000 characters")
    expect(page.locator("#char-count")).to_have_attribute("data-level", "over")
    expect(page.locator("#write-error")).to_contain_text("over the 10,000-character limit by 1.")
    expect(page.locator("#submit-btn")).to_be_disabled()
    page.fill("#memo-text", "😀" * 10_000)
    expect(page.locator("#write-error")).to_be_hidden()
    expect(page.locator("#submit-btn")).to_be_enabled()


def test_offline_results_are_labelled_offline_everywhere(offline_app: App) -> None:
    app = offline_app.open()
    expect(app.page.locator("#offline-chip")).to_be_visible()
    app.submit(MEMO)
    evaluation_id = app.wait_for_result()
    assert app.evaluation(evaluation_id)["offline"] is True
    expect(app.view("overall", "ready").locator("[data-slot='offline']")).to_contain_text(
        "Offline evaluation"
    )
    expect(app.view("overall", "ready").locator("[data-slot='meta']")).to_contain_text(
        "Scored offline"
    )
    app.page.click("#tab-detailed")
    expect(app.view("detailed", "ready").locator("[data-slot='offline']")).to_be_visible()


def test_a_failed_evaluation_shows_why_and_retry_evaluates_it_again(
    claude_app: App, fake: FakeAnthropic
) -> None:
    app = claude_app.open()
    fake.script("overloaded")
    memo = unique(MEMO)
    app.submit(memo)
    failure = app.page.locator("#failure-card")
    expect(failure).to_be_visible(timeout=15_000)
    expect(failure).to_contain_text("busy or unavailable")
    expect(failure.locator("#failure-details")).to_contain_text("could not complete")
    expect(app.page.locator("#progress-card")).to_be_hidden()
    expect(app.page.locator("#memo-text")).to_have_value(memo)

    app.page.click("#retry-btn")
    evaluation_id = app.wait_for_result()
    assert app.evaluation(evaluation_id)["status"] == "completed"
    assert [r.behaviour for r in fake.requests_for(memo[-30:])] == ["overloaded", "ok"]
    # The retry re-queued the same evaluation rather than storing the memo twice.
    assert app.api_calls.count("POST /evaluations/submit") == 1
    assert app.api_calls.count(f"POST /evaluations/{evaluation_id}/retry") == 1


def test_a_network_failure_shows_a_banner_whose_retry_recovers(offline_app: App) -> None:
    page = offline_app.page
    page.route("**/api/v1/config/public", lambda route: route.abort())
    page.goto(offline_app.stack.web_url + "/#/help")
    banner = page.locator("#banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("can't reach the service")
    expect(page.locator("#session-indicator")).to_have_attribute("data-state", "error")
    expect(offline_app.view("help", "error")).to_be_visible()

    page.unroute("**/api/v1/config/public")
    banner.get_by_role("button", name="Try again").click()
    expect(banner).to_be_hidden()
    expect(page.locator("html")).to_have_attribute("data-ready", "true")
    expect(offline_app.view("help", "ready")).to_be_visible()
    expect(page.locator("#help-rubric [data-slot='rubric-name']")).to_have_text(
        offline_app.public_config()["rubric"]["name"]
    )


def test_a_result_that_arrives_while_reading_another_tab_is_announced_not_forced(
    claude_app: App, fake: FakeAnthropic
) -> None:
    fake.state.latency = 2.0
    app = claude_app.open()
    page = app.page
    app.submit(unique(MEMO))
    expect(page.locator("#tab-write .tab-badge")).to_be_visible()  # work in progress
    page.click("#tab-help")
    toast = page.locator("#toast")
    expect(toast).to_be_visible(timeout=15_000)
    expect(toast).to_contain_text("Your feedback is ready")
    expect(app.panel("help")).to_be_visible()  # the reader was not moved
    expect(page.locator("#tab-write .tab-badge")).to_be_hidden()
    toast.get_by_role("link", name="View").click()
    expect(app.view("overall", "ready")).to_be_visible()
    expect(toast).to_be_hidden()


def test_revising_a_memo_submits_its_next_version(offline_app: App) -> None:
    app = offline_app.open()
    page = app.page
    app.submit(MEMO)
    first = app.wait_for_result()
    app.view("overall", "ready").get_by_role("button", name="Revise this memo").click()
    expect(page.locator("#memo-text")).to_have_value(MEMO)
    expect(page.locator("#memo-text")).to_be_focused()
    expect(page.locator("#revise-note")).to_contain_text("version 2")
    page.fill("#memo-text", MEMO + "Next steps: the owner reports monthly to this committee.\n")
    page.click("#submit-btn")
    page.wait_for_url(lambda url: first not in url)
    second = app.wait_for_result()
    assert app.evaluation(second)["version_number"] == 2
    expect(page.locator("#revise-note")).to_be_hidden()

    page.click("#tab-progress")
    history = page.locator("#panel-progress .history li")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("version 2")
    history.last.get_by_role("link").click()
    expect(page).to_have_url(f"{app.stack.web_url}/#/overall/{first}")


def test_an_expired_session_is_replaced_without_bothering_the_writer(offline_app: App) -> None:
    app = offline_app.open()
    app.page.context.clear_cookies()  # as if the session had expired server-side
    app.submit(MEMO)
    app.wait_for_result()
    assert app.api_calls.count("POST /sessions") == 2  # the first one, then its replacement


def test_a_reload_during_the_evaluation_resumes_following_it(
    claude_app: App, fake: FakeAnthropic
) -> None:
    # Long enough that the reload, on a busy machine, lands while the model still works.
    fake.state.latency = 5.0
    app = claude_app.open()
    memo = unique(MEMO)
    app.submit(memo)
    expect(app.page.locator("#progress-card")).to_be_visible()
    app.page.wait_for_timeout(400)  # accepted and being followed
    app.open()
    expect(app.page.locator("#progress-card")).to_be_visible()
    expect(app.page.locator("#memo-text")).to_have_value(memo)
    app.wait_for_result()
    assert len(fake.requests_for(memo[-30:])) == 1  # followed, not submitted again


def test_a_submit_whose_answer_was_lost_is_not_stored_twice_when_sent_again(
    offline_app: App,
) -> None:
    app = offline_app.open()
    page = app.page

    def lose_the_answer(route: Route) -> None:
        route.fetch()  # the API stores the memo...
        route.abort()  # ...but its answer never reaches the browser

    page.route("**/api/v1/evaluations/submit", lose_the_answer)
    app.submit(MEMO)
    expect(page.locator("#write-error")).to_contain_text("can't reach the service")
    page.unroute("**/api/v1/evaluations/submit")

    page.click("#submit-btn")
    evaluation_id = app.wait_for_result()
    with app.stack.client() as client:
        listed = client.get("/evaluations", headers={"X-Session-ID": app.session()}).json()
    assert [item["id"] for item in listed["data"]["items"]] == [evaluation_id]
