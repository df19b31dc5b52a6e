"""The feedback views printed (page.emulate_media(media="print")): Overall and
Detailed feedback and the revision comparison without the navigation chrome or
controls, black on white even in the dark theme, and every highlight's comment
listed with it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import App, new_app
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def _memo(memos: list[dict[str, Any]], name: str) -> str:
    return str(next(m["text"] for m in memos if m["file"] == name))


@pytest.fixture
def dark_app(browser: Browser, offline_stack: Stack) -> Iterator[App]:
    # The device asks for dark: print must still come out black on white.
    app = new_app(browser, offline_stack, color_scheme="dark")
    yield app
    app.page.context.close()


def _colours(app: App, selector: str) -> tuple[str, str]:
    colour, background = app.page.evaluate(
        """(selector) => {
            const style = getComputedStyle(document.querySelector(selector));
            return [style.color, getComputedStyle(document.body).backgroundColor];
        }""",
        selector,
    )
    return colour, background


def _no_chrome(app: App) -> None:
    page = app.page
    for selector in (".topbar", "nav.tabs", ".footer", ".skip-link"):
        expect(page.locator(selector).first).to_be_hidden()
    # Controls are for the screen.
    for button in page.locator("main .btn").all():
        expect(button).to_be_hidden()


def test_printed_feedback_has_no_navigation_and_every_comment_with_its_highlight(
    dark_app: App, memos: list[dict[str, Any]]
) -> None:
    app = dark_app.open()
    page = app.page
    first, second = (_memo(memos, f"rev{n}_en_sepsis_early_warning.txt") for n in (1, 2))
    app.submit(first)
    v1 = app.wait_for_result()
    app.panel("overall").locator("[data-action='revise']").click()
    page.fill("#memo-text", second)
    page.click("#submit-btn")
    expect(page).not_to_have_url(re.compile(rf"#/overall/{v1}$"), timeout=30_000)
    app.wait_for_result()
    overall = app.panel("overall")
    expect(overall.locator("[data-slot='revision-body']")).to_be_visible()

    # On screen the chrome is there; on paper it is not.
    expect(page.locator("nav.tabs")).to_be_visible()
    page.emulate_media(media="print")
    _no_chrome(app)
    expect(overall.locator(".score-hero")).to_be_visible()
    expect(overall.locator("[data-slot='criteria'] > li").first).to_be_visible()
    expect(overall.locator("[data-slot='strengths'] > li").first).to_be_visible()
    # The revision comparison: score deltas and the text changes.
    card = overall.locator("[data-slot='revision']")
    expect(card.locator("tr[data-criterion]").first).to_be_visible()
    expect(card.locator(".diff-ins, .diff-del").first).to_be_visible()
    assert _colours(app, "#panel-overall h1") == ("rgb(0, 0, 0)", "rgb(255, 255, 255)")

    # Detailed feedback: the memo with its numbered highlights, then every comment.
    page.emulate_media(media="screen")
    page.locator("#tab-detailed").click()
    detailed = app.panel("detailed")
    marks = detailed.locator("mark.hl")
    expect(marks.first).to_be_visible()
    evaluation = app.evaluation(page.url.rsplit("/", 1)[1])
    comments = evaluation["segment_feedback"]
    assert comments
    printed = detailed.locator("[data-slot='print-comments'] > li")
    expect(printed.first).to_be_hidden()  # not on screen: the card shows one at a time

    page.emulate_media(media="print")
    _no_chrome(app)
    expect(detailed.locator(".comment-panel")).to_be_hidden()
    expect(marks.first).to_be_visible()
    expect(printed).to_have_count(len(comments))
    for item in printed.all():
        expect(item).to_be_visible()
    shown = {item.locator(".comment-text").inner_text() for item in printed.all()}
    assert shown == {c["comment"] for c in comments}
    # Numbered alike: the n-th highlight's passage is the n-th printed quote.
    numbers = [m.locator(".hl-num").inner_text() for m in marks.all()]
    assert numbers == [str(n) for n in range(1, len(numbers) + 1)]
    first_quote = printed.first.locator(".comment-quote").inner_text()
    assert first_quote.strip() in marks.first.inner_text()
    assert _colours(app, "#panel-detailed .print-comment-list .comment-text") == (
        "rgb(0, 0, 0)",
        "rgb(255, 255, 255)",
    )
    assert app.errors == []
