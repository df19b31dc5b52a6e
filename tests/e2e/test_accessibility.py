"""Accessibility checked by axe-core (WCAG 2.1 A and AA, colour contrast
included) on every tab with results loaded, at desktop and phone widths; and
the keyboard path through the app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.browser import DESKTOP, MOBILE
from tests.e2e.conftest import App, new_app
from tests.support.services import unavailable
from tests.support.stack import REPO, Stack

pytestmark = pytest.mark.e2e

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
TABS = ("write", "overall", "detailed", "coach", "progress", "batches", "integrations", "help")
MEMO = (
    "Recommendation: approve $300,000 by 30 April to hire two data analysts.\n"
    "The reporting backlog is 46 requests and costs about $80,000 a month in delays.\n"
    "Risks: hiring may be slow, so we mitigate it with a contractor for the first quarter.\n"
)


def axe_violations(app: App, path: Path) -> list[dict[str, Any]]:
    app.page.add_script_tag(path=str(path))
    result: dict[str, Any] = app.page.evaluate(
        """async () => axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
            resultTypes: ['violations'],
        })"""
    )
    assert len(result["passes"]) >= 10, "axe checked next to nothing"
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["desktop", "mobile"])
def test_every_tab_passes_axe_wcag_aa_checks(
    browser: Browser, offline_stack: Stack, viewport: dict[str, int]
) -> None:
    if not AXE.exists():
        unavailable("axe-core", "run `make install` (npm ci)")
    # axe is injected as an inline script, which the page's CSP rightly refuses.
    # Reduced motion: no panel is caught mid-fade, which axe would read as low contrast.
    app = new_app(
        browser, offline_stack, viewport=viewport, bypass_csp=True, reduced_motion="reduce"
    )
    try:
        app.open()
        app.submit(MEMO)
        app.wait_for_result()
        found = {}
        for tab in TABS:
            app.page.goto(f"{offline_stack.web_url}/#/{tab}")
            app.page.wait_for_selector(f"#panel-{tab}:not([hidden])")
            if tab == "detailed":
                app.page.locator("mark.hl").first.click()
            violations = axe_violations(app, AXE)
            if violations:
                found[tab] = violations
        assert found == {}
    finally:
        app.page.context.close()


def test_the_app_works_from_the_keyboard(offline_app: App) -> None:
    app = offline_app.open()
    page = app.page
    # The skip link comes first, before the header's links, and is visible when focused.
    page.locator(".brand").focus()
    page.keyboard.press("Shift+Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()

    page.locator("#memo-text").focus()
    page.keyboard.type(MEMO)
    page.keyboard.press("Control+Enter")
    app.wait_for_result()

    # Info bubbles open on focus and close with Escape.
    info = page.locator("#panel-overall .info-btn").first
    info.focus()
    bubble = page.locator("#panel-overall .bubble").first
    expect(bubble).to_be_visible()
    page.keyboard.press("Escape")
    expect(bubble).to_be_hidden()
    expect(info).to_be_focused()

    # Tabs are links: focus one, Enter opens it; highlights take Enter and Space.
    page.locator("#tab-detailed").focus()
    page.keyboard.press("Enter")
    mark = page.locator("mark.hl").first
    expect(mark).to_be_visible()
    mark.focus()
    page.keyboard.press("Space")
    expect(mark).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#comment-card [data-slot='comment']")).not_to_be_empty()
    # A visible focus indicator: the focused highlight draws an outline.
    outline = mark.evaluate("m => getComputedStyle(m).outlineStyle")
    assert outline == "solid"
