"""Coaching in the browser on real processes: the coach chat (streamed through
the real SDK from the fake Messages API), revisions compared, progress charts
against GET /progress, and the PDF download."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.browser import DESKTOP, MOBILE
from tests.e2e.conftest import App, new_app, unique
from tests.e2e.test_accessibility import AXE, axe_violations
from tests.fakes.anthropic_server import FakeAnthropic
from tests.support.services import unavailable
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def _memo(memos: list[dict[str, Any]], name: str) -> str:
    return str(next(m["text"] for m in memos if m["file"] == name))


def _api(app: App, path: str) -> dict[str, Any]:
    with app.stack.client() as client:
        response = client.get(path, headers={"X-Session-ID": app.session()})
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def _number(text: str) -> float:
    """A number as the page writes it (en: '.' decimals, '−' or '-' signs)."""
    return float(text.replace("\u2212", "-").replace(",", "").strip())


def _reply_lengths(app: App, timeout: float = 30) -> tuple[list[int], Any]:
    """Watch the coach's reply being written: its length at each look, until it is done."""
    reply = app.page.locator("#panel-coach li.chat-assistant").last
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = reply.get_attribute("data-status")
        if status in ("completed", "failed"):
            return seen, reply
        length = len(reply.locator(".chat-body").text_content() or "")
        if length and (not seen or seen[-1] != length):
            seen.append(length)
        time.sleep(0.03)
    raise AssertionError(f"the reply did not finish; lengths seen {seen}")


def test_coach_reply_streams_token_by_token_and_history_survives_a_reload(
    claude_app: App, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    app = claude_app.open()
    page = app.page
    memo = unique(memos[3]["text"])
    app.submit(memo)
    evaluation_id = app.wait_for_result()
    evaluation = app.evaluation(evaluation_id)

    chat = app.panel("overall").locator("[data-action='chat']")
    expect(chat).to_be_visible()  # the API reports features.chat
    chat.click()
    expect(page).to_have_url(re.compile(rf"#/coach/{evaluation_id}$"))
    app.view("coach", "ready").wait_for()

    # Starter questions come from the evaluation: the weakest criterion first.
    weakest = min(evaluation["rubric_scores"].items(), key=lambda kv: kv[1]["score"])[0]
    starters = app.panel("coach").locator(".starter")
    expect(starters.first).to_contain_text(weakest)

    composer = page.locator("#coach-input")
    # Shift+Enter is a new line, not a send.
    composer.fill("First line")
    composer.press("Shift+Enter")
    composer.type("second line")
    assert composer.input_value() == "First line\nsecond line"
    expect(app.panel("coach").locator("li.chat-msg")).to_have_count(0)

    fake.reset()
    fake.state.latency = 0.3
    fake.state.chunk_delay = 0.15  # the fake model writes its reply slowly, piece by piece
    question = "Please explain my weakest criterion in detail."
    composer.fill(question)
    composer.press("Enter")
    expect(page.locator("#coach-send")).to_be_disabled()
    expect(composer).to_have_js_property("readOnly", True)
    expect(app.panel("coach").locator("[data-slot='typing']")).to_be_visible()

    lengths, reply = _reply_lengths(app)
    assert reply.get_attribute("data-status") == "completed"
    assert len(lengths) >= 2, f"the reply should arrive in pieces, saw lengths {lengths}"
    assert lengths == sorted(lengths), "the reply only grows while it is written"
    assert int(reply.get_attribute("data-updates") or 0) > 1, "more than one streamed update"
    expect(app.panel("coach").locator("[data-slot='typing']")).to_be_hidden()
    expect(composer).to_have_js_property("readOnly", False)
    expect(composer).to_have_value("")
    # It came over the event stream, not by polling the conversation.
    assert len([c for c in app.api_calls if c.endswith("/stream")]) == 1
    assert (
        len([c for c in app.api_calls if c.startswith("GET /chat/") and c.endswith("/messages")])
        == 1
    )

    # The page shows exactly what the API stored.
    chat_id = _chat_id(app, evaluation_id)
    stored = _api(app, f"/chat/sessions/{chat_id}/messages")["messages"]
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert stored[0]["content"] == question
    assert reply.locator(".chat-body").inner_text().strip() == stored[1]["content"].strip()
    assert question in stored[1]["content"]  # the fake echoes the question it got

    # The model was given the memo, its evaluation and the rubric.
    (request,) = [r for r in fake.requests if r.body.get("stream") and r.body.get("system")]
    system = " ".join(block["text"] for block in request.body["system"])
    assert memo in system
    assert "Healthcare Investment Memo Rubric" in system
    assert weakest in system and "Strengths:" in system
    # The newest turn carries the cache breakpoint, so the next turn reads this one's prefix.
    assert request.body["messages"][-1] == {
        "role": "user",
        "content": [{"type": "text", "text": question, "cache_control": {"type": "ephemeral"}}],
    }

    # A reload fetches the conversation again.
    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    app.view("coach", "ready").wait_for()
    messages = app.panel("coach").locator("li.chat-msg")
    expect(messages).to_have_count(2)
    expect(messages.nth(0)).to_contain_text(question)
    expect(messages.nth(1)).to_have_attribute("data-status", "completed")
    assert (
        messages.nth(1).locator(".chat-body").inner_text().strip() == stored[1]["content"].strip()
    )
    expect(app.panel("coach").locator("[data-slot='starters']")).to_be_hidden()
    assert app.errors == []


def _chat_id(app: App, evaluation_id: str) -> str:
    with app.stack.client() as client:
        opened = client.post(
            "/chat/sessions",
            json={"evaluation_id": evaluation_id},
            headers={"X-Session-ID": app.session()},
        )
    assert opened.status_code == 200, opened.text  # reopened: the browser made it
    return str(opened.json()["data"]["chat_session_id"])


def test_another_sessions_coach_address_says_not_found(
    browser: Browser, offline_stack: Stack
) -> None:
    owner = new_app(browser, offline_stack)
    stranger = new_app(browser, offline_stack)
    try:
        owner.open()
        owner.submit("Recommendation: approve $40,000 for two scanners by 1 May.\nRisk: delay.")
        evaluation_id = owner.wait_for_result()
        stranger.open(f"#/coach/{evaluation_id}")
        error = stranger.view("coach", "error")
        expect(error).to_be_visible()
        expect(error).to_contain_text("belongs to another session")
        expect(stranger.panel("coach").locator("[data-state='ready']")).to_be_hidden()
    finally:
        owner.page.context.close()
        stranger.page.context.close()


def test_offline_coach_is_labelled_and_answers_a_starter(offline_app: App) -> None:
    app = offline_app.open()
    app.submit("Recommendation: approve $90,000 for a pilot by 30 June.\nRisk: adoption.")
    evaluation_id = app.wait_for_result()
    app.open(f"#/coach/{evaluation_id}")
    app.view("coach", "ready").wait_for()
    expect(app.panel("coach").locator("[data-slot='offline']")).to_be_visible()
    app.panel("coach").locator(".starter").first.click()
    reply = app.panel("coach").locator("li.chat-assistant")
    expect(reply).to_have_attribute("data-status", "completed", timeout=20_000)
    expect(reply.locator("[data-slot='offline-label']")).to_be_visible()
    expect(reply.locator(".chat-body strong").first).to_be_visible()  # **bold** rendered, not shown
    assert "**" not in (reply.locator(".chat-body").text_content() or "")


def test_a_revision_shows_its_version_the_diff_and_the_score_deltas(
    offline_app: App, memos: list[dict[str, Any]]
) -> None:
    app = offline_app.open()
    page = app.page
    first, second = (_memo(memos, f"rev{n}_en_sepsis_early_warning.txt") for n in (1, 2))
    app.submit(first)
    v1 = app.wait_for_result()
    expect(app.panel("overall").locator("[data-slot='version']")).to_be_hidden()
    expect(app.panel("overall").locator("[data-slot='revision']")).to_be_hidden()

    # "Revise this memo" puts the memo in the editor as the next version.
    app.panel("overall").locator("[data-action='revise']").click()
    expect(page.locator("#memo-text")).to_have_value(first)
    expect(page.locator("#revise-note")).to_contain_text("version 2")
    page.fill("#memo-text", second)
    page.click("#submit-btn")
    expect(page).not_to_have_url(re.compile(rf"#/overall/{v1}$"), timeout=30_000)
    v2 = app.wait_for_result()
    assert v2 != v1

    result = app.evaluation(v2)
    assert result["version_number"] == 2
    assert result["previous_submission_id"] == app.evaluation(v1)["submission_id"]
    comparison = _api(app, f"/evaluations/{v2}/comparison")
    assert comparison["previous_evaluation_id"] == v1

    overall = app.panel("overall")
    expect(overall.locator("[data-slot='version']")).to_have_text("Version 2 of this memo")
    card = overall.locator("[data-slot='revision']")
    expect(card.locator("[data-slot='revision-body']")).to_be_visible()
    expect(card.locator("h2")).to_contain_text("version 1")

    # Every criterion's delta, as the API computed it, with an arrow and its number.
    for name, entry in comparison["criteria"].items():
        row = card.locator(f"tr[data-criterion='{name}']")
        cells = row.locator("td")
        assert _number(cells.nth(0).inner_text()) == entry["previous"]
        assert _number(cells.nth(1).inner_text()) == entry["current"]
        delta = row.locator(".delta")
        assert delta.get_attribute("data-direction") == entry["direction"]
        if entry["delta"]:
            assert _number(delta.locator(".delta-value").inner_text()) == entry["delta"]
            arrow = "\u2191" if entry["delta"] > 0 else "\u2193"
            expect(delta.locator(".delta-arrow")).to_have_text(arrow)
            expect(delta).to_contain_text(
                ("up " if entry["delta"] > 0 else "down ") + str(abs(entry["delta"]))
            )
    changed = [e for e in comparison["criteria"].values() if e["delta"]]
    assert changed, "the revision pair moves at least one criterion"
    overall_row = card.locator("tr.delta-overall .delta")
    if comparison["overall"]["delta"]:
        assert _number(overall_row.locator(".delta-value").inner_text()) == pytest.approx(
            comparison["overall"]["delta"], abs=0.005
        )

    # The text diff: insertions and deletions marked with words, not colour alone.
    inserted = [op["new"] for op in comparison["diff"] if op["op"] in ("insert", "replace")]
    deleted = [op["old"] for op in comparison["diff"] if op["op"] in ("delete", "replace")]
    expect(card.locator("ins.diff-ins")).to_have_count(len(inserted))
    expect(card.locator("del.diff-del")).to_have_count(len(deleted))
    assert inserted, "the revision adds text"
    first_ins = card.locator("ins.diff-ins").first
    expect(first_ins.locator(".diff-label")).to_have_text("Added:")
    assert inserted[0].split("\n")[0] in (first_ins.text_content() or "")

    # The earlier questions, each marked answered or still open.
    items = card.locator(".question-item")
    expect(items).to_have_count(len(comparison["questions"]))
    for index, question in enumerate(comparison["questions"]):
        item = items.nth(index)
        expect(item).to_have_attribute("data-status", question["status"])
        expect(item).to_contain_text(
            "Answered" if question["status"] == "addressed" else "Still open"
        )
    assert app.errors == []


def test_progress_charts_show_each_evaluation_and_match_the_api(
    offline_app: App, memos: list[dict[str, Any]]
) -> None:
    app = offline_app.open()
    page = app.page
    for memo in memos[6:9]:
        page.goto(f"{app.stack.web_url}/#/write")
        app.submit(unique(memo["text"]))
        app.wait_for_result()
    page.click("#tab-progress")
    charts = page.locator("#charts")
    charts.locator("[data-state='ready']").wait_for()
    expect(page.locator("#panel-progress .history li")).to_have_count(3)  # the list is kept
    progress = _api(app, "/progress?range=all")
    assert progress["evaluations"] == 3

    overall = charts.locator("[data-chart='overall']")
    expect(overall.locator(".chart-point")).to_have_count(3)
    # The table is in a closed disclosure: read its text content, not what is painted.
    shown = [_number(c or "") for c in overall.locator("tbody td").all_text_contents()]
    assert shown == [
        pytest.approx(p["overall_score"], abs=0.005) for p in progress["overall_trends"]
    ]
    expect(overall.locator("g[role='img']")).to_have_attribute(
        "aria-label", re.compile(r"across 3 evaluations")
    )

    multiples = charts.locator(".small-multiples > figure")
    expect(multiples).to_have_count(len(progress["rubric_improvements"]))
    for name, trend in progress["rubric_improvements"].items():
        figure = charts.locator(f"figure[data-criterion='{name}']")
        expect(figure.locator(".chart-point")).to_have_count(3)
        values = [_number(c) for c in figure.locator("tbody td").all_text_contents()]
        assert values == [p["score"] for p in trend["points"]]

    bars = charts.locator("[data-chart='frequency']")
    counts = [int(_number(c)) for c in bars.locator("tbody td").all_text_contents()]
    assert counts == [p["count"] for p in progress["submission_frequency"]]
    assert sum(counts) == 3
    strongest = charts.locator("[data-glance='strongest'] dd")
    expect(strongest).to_have_text(", ".join(progress["strongest_criteria"]))
    expect(charts.locator("[data-glance='weakest'] dd")).to_have_text(
        ", ".join(progress["weakest_criteria"])
    )

    # Points take keyboard focus and show their value in a tooltip.
    point = overall.locator(".chart-point").nth(1)
    point.focus()
    tip = overall.locator(".chart-tip")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text(shown_text(progress["overall_trends"][1]["overall_score"]))
    page.keyboard.press("Escape")
    expect(tip).to_be_hidden()

    # The range selector asks the API again; all three are within the last week.
    charts.locator("[data-range='week']").click()
    expect(charts.locator("[data-range='week']")).to_have_attribute("aria-pressed", "true")
    expect(charts.locator("[data-range='all']")).to_have_attribute("aria-pressed", "false")
    expect(overall.locator(".chart-point")).to_have_count(3)
    week = _api(app, "/progress?range=week")
    week_bars = charts.locator("[data-chart='frequency'] .chart-bar")
    expect(week_bars).to_have_count(len(week["submission_frequency"]))
    assert "GET /progress?range=week" in app.api_calls
    assert app.errors == []


def shown_text(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def test_download_pdf_saves_the_report(offline_app: App) -> None:
    app = offline_app.open()
    app.submit(
        "Recommendation: approve $75,000 by 1 June for triage software.\nRisk: training time."
    )
    evaluation_id = app.wait_for_result()
    button = app.panel("overall").locator("[data-action='pdf']")
    expect(button).to_be_visible()
    assert button.get_attribute("href") == f"/api/v1/export/pdf/{evaluation_id}"
    with app.page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename == f"memo-evaluation-{evaluation_id[:8]}.pdf"
    path = download.path()
    assert path is not None
    with open(path, "rb") as handle:
        assert handle.read(5) == b"%PDF-"
    expect(button).not_to_have_attribute("aria-busy", "true")
    assert app.errors == []


def test_chat_falls_back_to_polling_when_the_stream_fails(offline_app: App) -> None:
    app = offline_app.open()
    page = app.page
    app.submit("Recommendation: approve $60,000 for a scheduling tool by 1 July.\nRisk: cost.")
    evaluation_id = app.wait_for_result()
    # The event stream is cut before any event: the page polls the conversation instead.
    page.route(re.compile(r".*/messages/[^/]+/stream$"), lambda route: route.abort())
    app.open(f"#/coach/{evaluation_id}")
    app.view("coach", "ready").wait_for()
    page.fill("#coach-input", "What should I fix first?")
    page.press("#coach-input", "Enter")
    reply = app.panel("coach").locator("li.chat-assistant")
    expect(reply).to_have_attribute("data-status", "completed", timeout=20_000)
    assert (reply.locator(".chat-body").text_content() or "").strip()
    polls = [c for c in app.api_calls if c.startswith("GET /chat/") and c.endswith("/messages")]
    assert len(polls) >= 2, "opened once, then polled for the reply"
    expect(page.locator("#coach-input")).to_have_js_property("readOnly", False)


def test_chat_rate_limit_says_how_long_to_wait_and_retry_sends_again(offline_app: App) -> None:
    app = offline_app.open()
    page = app.page
    app.submit("Recommendation: approve $55,000 for a nurse app by 1 August.\nRisk: uptake.")
    evaluation_id = app.wait_for_result()
    refused: list[str] = []

    def refuse_once(route: Any) -> None:
        if refused:
            route.continue_()
            return
        refused.append(route.request.url)
        route.fulfill(
            status=429,
            headers={"Retry-After": "42", "Content-Type": "application/json"},
            body='{"data": null, "errors": [{"code": "rate_limited", "message": "Too many"}]}',
        )

    page.route(re.compile(r".*/chat/sessions/[^/]+/messages\?wait=false$"), refuse_once)
    app.open(f"#/coach/{evaluation_id}")
    app.view("coach", "ready").wait_for()
    page.fill("#coach-input", "How do I make my ask clearer?")
    page.click("#coach-send")
    error = app.panel("coach").locator("[data-slot='chat-error']")
    expect(error).to_be_visible()
    expect(error).to_contain_text("42")
    expect(error).to_contain_text("wait")
    # Nothing was sent: the question is back in the composer, no message shown.
    expect(page.locator("#coach-input")).to_have_value("How do I make my ask clearer?")
    expect(app.panel("coach").locator("li.chat-msg")).to_have_count(0)
    error.locator("[data-action='chat-retry']").click()
    expect(error).to_be_hidden()
    expect(app.panel("coach").locator("li.chat-assistant")).to_have_attribute(
        "data-status", "completed", timeout=20_000
    )
    assert len(refused) == 1


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["desktop", "mobile"])
def test_coaching_views_pass_axe_with_content(
    browser: Browser, offline_stack: Stack, memos: list[dict[str, Any]], viewport: dict[str, int]
) -> None:
    if not AXE.exists():
        unavailable("axe-core", "run `make install` (npm ci)")
    app = new_app(
        browser, offline_stack, viewport=viewport, bypass_csp=True, reduced_motion="reduce"
    )
    page = app.page
    try:
        app.open()
        app.submit(_memo(memos, "rev1_en_sepsis_early_warning.txt"))
        app.wait_for_result()
        app.panel("overall").locator("[data-action='revise']").click()
        page.fill("#memo-text", _memo(memos, "rev2_en_sepsis_early_warning.txt"))
        page.click("#submit-btn")
        expect(app.panel("overall").locator("[data-slot='version']")).to_be_visible(timeout=30_000)
        expect(app.panel("overall").locator("[data-slot='revision-body']")).to_be_visible()
        found = {}
        found["overall"] = axe_violations(app, AXE)

        page.goto(f"{offline_stack.web_url}/#/progress")
        page.locator("#charts [data-state='ready']").wait_for()
        page.locator("#charts details").first.locator("summary").click()
        page.locator("#charts .chart-point").first.focus()
        found["progress"] = axe_violations(app, AXE)

        page.goto(f"{offline_stack.web_url}/#/coach")
        app.view("coach", "ready").wait_for()
        app.panel("coach").locator(".starter").first.click()
        expect(app.panel("coach").locator("li.chat-assistant")).to_have_attribute(
            "data-status", "completed", timeout=20_000
        )
        found["coach"] = axe_violations(app, AXE)
        assert {tab: v for tab, v in found.items() if v} == {}
    finally:
        page.context.close()


def test_a_failed_reply_is_shown_inline_and_retry_writes_it_again(
    claude_app: App, fake: FakeAnthropic, memos: list[dict[str, Any]]
) -> None:
    app = claude_app.open()
    app.submit(unique(memos[5]["text"]))
    evaluation_id = app.wait_for_result()
    app.open(f"#/coach/{evaluation_id}")
    app.view("coach", "ready").wait_for()
    fake.reset()
    fake.script("server_error")  # the model fails this once (no retries on this stack)
    question = "Which risk should I address first?"
    app.page.fill("#coach-input", question)
    app.page.press("#coach-input", "Enter")
    replies = app.panel("coach").locator("li.chat-assistant")
    expect(replies.first).to_have_attribute("data-status", "failed", timeout=20_000)
    error = app.panel("coach").locator("[data-slot='chat-error']")
    expect(error).to_be_visible()
    expect(error).to_contain_text("couldn't answer")
    expect(app.page.locator("#coach-input")).to_have_js_property("readOnly", False)

    error.locator("[data-action='chat-retry']").click()
    expect(error).to_be_hidden()
    # The same reply is written again (POST …/retry), not a second question.
    expect(replies.first).to_have_attribute("data-status", "completed", timeout=20_000)
    expect(replies).to_have_count(1)
    expect(replies.first).to_contain_text(question)
    user_turns = app.panel("coach").locator("li.chat-user")
    expect(user_turns).to_have_count(1)

    # A reply that failed before a reload still offers the retry afterwards.
    fake.script("server_error")
    app.page.fill("#coach-input", "And the second risk?")
    app.page.press("#coach-input", "Enter")
    expect(replies.nth(1)).to_have_attribute("data-status", "failed", timeout=20_000)
    app.page.reload()
    app.view("coach", "ready").wait_for()
    expect(replies.nth(1)).to_have_attribute("data-status", "failed")
    expect(error).to_be_visible()
    error.locator("[data-action='chat-retry']").click()
    expect(replies.nth(1)).to_have_attribute("data-status", "completed", timeout=20_000)
    expect(replies).to_have_count(2)
    expect(replies.nth(1)).to_contain_text("And the second risk?")


def test_the_coach_talks_in_the_memos_language(
    offline_app: App, memos: list[dict[str, Any]]
) -> None:
    app = offline_app.open()
    app.submit(unique(_memo(memos, "weak_03_es_salas_de_espera.txt")))
    evaluation_id = app.wait_for_result()
    assert app.evaluation(evaluation_id)["language"] == "es"
    app.open(f"#/coach/{evaluation_id}")
    app.view("coach", "ready").wait_for()
    expect(app.panel("coach").locator("[data-slot='language']")).to_contain_text("Spanish")
    app.panel("coach").locator(".starter").first.click()
    reply = app.panel("coach").locator("li.chat-assistant")
    expect(reply).to_have_attribute("data-status", "completed", timeout=20_000)
    body = reply.locator(".chat-body")
    expect(body).to_have_attribute("lang", "es")
    expect(body).to_contain_text("Trabajemos")  # the offline coach's Spanish
