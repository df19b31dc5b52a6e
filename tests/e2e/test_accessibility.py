"""Accessibility checked by axe-core (WCAG 2.1 A and AA, colour contrast
included) on every tab with results loaded, at desktop and phone widths, in the
light and the dark theme (the default theme follows the device, so the browser
asks for dark); and the keyboard path through the app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.browser import DESKTOP, MOBILE
from tests.e2e.cohorts_support import Course, memo, other_score, signed_in
from tests.e2e.conftest import App, new_app, web_stack
from tests.support.auth import ADMIN_PASSWORD, ADMIN_USERNAME, auth_overrides
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


THEMES = ("light", "dark")


def assert_theme(app: App, theme: str) -> None:
    """The page really is drawn in `theme`: its background is light or dark."""
    colour = app.page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    rgb = [int(part) for part in re.findall(r"\d+", colour)[:3]]
    luminance = (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255
    assert (luminance < 0.2) if theme == "dark" else (luminance > 0.8), (theme, rgb)


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


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["desktop", "mobile"])
def test_every_tab_passes_axe_wcag_aa_checks(
    browser: Browser, offline_stack: Stack, viewport: dict[str, int], theme: str
) -> None:
    if not AXE.exists():
        unavailable("axe-core", "run `make install` (npm ci)")
    # axe is injected as an inline script, which the page's CSP rightly refuses.
    # Reduced motion: no panel is caught mid-fade, which axe would read as low contrast.
    app = new_app(
        browser,
        offline_stack,
        viewport=viewport,
        bypass_csp=True,
        reduced_motion="reduce",
        color_scheme=theme,
    )
    try:
        app.open()
        assert_theme(app, theme)
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


@pytest.fixture(scope="module")
def admin_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with web_stack(tmp_path_factory, "web-a11y-admin", **auth_overrides()) as stack:
        yield stack


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["desktop", "mobile"])
def test_admin_and_debug_tabs_pass_axe_wcag_aa_checks(
    browser: Browser, admin_stack: Stack, viewport: dict[str, int], theme: str
) -> None:
    """The admin-only tabs, signed in as an administrator, with their content showing."""
    if not AXE.exists():
        unavailable("axe-core", "run `make install` (npm ci)")
    app = new_app(
        browser,
        admin_stack,
        viewport=viewport,
        bypass_csp=True,
        reduced_motion="reduce",
        color_scheme=theme,
    )
    try:
        page = app.sign_in(ADMIN_USERNAME, ADMIN_PASSWORD)
        assert_theme(app, theme)
        found = {}
        # Debug on, one evaluation, the self-test run and an evaluation opened.
        page.goto(f"{admin_stack.web_url}/#/debug")
        switch = page.locator("#debug-toggle")
        expect(switch).to_be_enabled()
        if not switch.is_checked():
            switch.check(force=True)
        expect(page.locator("#debug-mode-state")).to_contain_text("on")
        page.goto(f"{admin_stack.web_url}/#/write")
        app.submit(MEMO)
        app.wait_for_result()
        page.goto(f"{admin_stack.web_url}/#/debug")
        page.locator("#selftest-run").click()
        expect(page.locator("#selftest-results > li").first).to_be_visible(timeout=30_000)
        page.locator("#panel-debug details.debug-item summary").first.click()
        expect(page.locator("#panel-debug table.timing-table").first).to_be_visible()
        violations = axe_violations(app, AXE)
        if violations:
            found["debug"] = violations

        # Admin with a file open, a problem listed and every section loaded.
        page.goto(f"{admin_stack.web_url}/#/admin")
        page.locator(".config-file-btn", has_text="rubric.yaml").click()
        editor = page.locator("#config-editor textarea")
        expect(editor).not_to_have_value("")
        editor.fill(editor.input_value().replace("weight: 20", "weight: 21", 1))
        expect(page.locator("#config-problems li").first).to_be_visible()
        page.locator("#config-validate-all").click()
        expect(page.locator("#config-bulk")).to_be_visible()
        expect(page.locator("#admin-users tbody tr").first).to_be_visible()
        expect(page.locator("#admin-status .status-item").first).to_be_visible()
        violations = axe_violations(app, AXE)
        if violations:
            found["admin"] = violations

        # Account, with a refusal shown next to each of its fields.
        page.goto(f"{admin_stack.web_url}/#/account")
        form = page.locator("#password-form")
        expect(form).to_be_visible()
        page.locator("#password-submit").click()
        expect(page.locator("#password-confirm-error")).to_be_visible()
        violations = axe_violations(app, AXE)
        if violations:
            found["account"] = violations
        assert found == {}
        # Responsive: wide tables and the editor scroll inside their boxes, not the page.
        width = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1], width
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


def test_the_theme_switch_overrides_the_device_and_is_remembered(offline_app: App) -> None:
    app = offline_app.open()
    page = app.page
    # The device asks for light; the reader picks dark.
    page.emulate_media(color_scheme="light")
    assert_theme(app, "light")
    switch = page.get_by_role("group", name="Theme")
    switch.get_by_role("button", name="Dark").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(switch.get_by_role("button", name="Dark")).to_have_attribute("aria-pressed", "true")
    assert_theme(app, "dark")
    # Remembered: the next page load starts dark, before any module runs.
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert_theme(app, "dark")
    expect(switch.get_by_role("button", name="Dark")).to_have_attribute("aria-pressed", "true")
    # System follows the device again.
    switch.get_by_role("button", name="System").click()
    assert_theme(app, "light")
    page.emulate_media(color_scheme="dark")
    assert_theme(app, "dark")
    assert app.errors == []


@pytest.fixture(scope="module")
def course_stack(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Stack, dict[str, Any]]]:
    """A cohort, an assignment and two submissions, one released with an override and a comment."""
    with web_stack(tmp_path_factory, "web-a11y-coach", **auth_overrides()) as stack:
        course = Course(stack)
        coach, coach_headers = course.user("coach.a11y", role="coach")
        writers = [course.user(f"writer.a11y{n}") for n in (1, 2)]
        cohort = course.cohort("Accessible cohort")
        course.join(cohort, coach, "coach")
        for name, _ in writers:
            course.join(cohort, name, "writer")
        assignment = course.assignment(cohort, coach_headers, "Memo 1", instructions="One page.")
        evaluations = [
            course.submit(assignment["id"], headers, memo("medium_01_en_second_mri_scanner.txt", n))
            for n, (_, headers) in enumerate(writers)
        ]
        review = course.review(evaluations[0], coach_headers)
        first = review["scores"][0]
        course.override(
            evaluations[0],
            coach_headers,
            first["criterion_id"],
            other_score(first["ai_score"]),
            "Clear ask.",
        )
        segment = review["text_content"][10:30]
        course.call(
            "POST",
            f"/reviews/{evaluations[0]}/comments",
            coach_headers,
            json={
                "start": 10,
                "end": 30,
                "segment": segment,
                "comment": "Name the decision-maker.",
            },
        )
        course.release(evaluations[0], coach_headers)
        yield stack, {
            "coach": coach, "writer": writers[0][0], "cohort": cohort,
            "assignment": assignment["id"], "evaluation": evaluations[0],
        }  # fmt: skip
        course.close()


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["desktop", "mobile"])
def test_coach_area_and_assignments_pass_axe_wcag_aa_checks(
    browser: Browser,
    course_stack: tuple[Stack, dict[str, Any]],
    viewport: dict[str, int],
    theme: str,
) -> None:
    """Every view of the coach area and of a writer's Assignments tab, with data in them."""
    if not AXE.exists():
        unavailable("axe-core", "run `make install` (npm ci)")
    stack, ids = course_stack
    options = {
        "viewport": viewport,
        "bypass_csp": True,
        "reduced_motion": "reduce",
        "color_scheme": theme,
    }
    found = {}
    coach = signed_in(browser, stack, ids["coach"], **options)
    try:
        page = coach.page
        assert_theme(coach, theme)
        views = {
            "cohorts": ("#/cohorts", ".cohort-list-states > [data-state='ready']"),
            "cohort": (
                f"#/cohorts/cohort/{ids['cohort']}",
                "#cohort-analytics [data-state='ready']",
            ),
            "assignment": (
                f"#/cohorts/assignment/{ids['assignment']}",
                "#assignment-analytics [data-state='ready']",
            ),
            "queue": ("#/cohorts/queue", ".queue-states > [data-state='ready']"),
            "review": (
                f"#/cohorts/review/{ids['evaluation']}",
                ".review-states > [data-state='ready']",
            ),
        }
        for name, (route, ready) in views.items():
            page.goto(f"{stack.web_url}/{route}")
            expect(page.locator(ready)).to_be_visible()
            if name in ("cohort", "assignment"):
                for summary in page.locator(f"{ready} details.chart-data > summary").all()[:3]:
                    summary.click()
            if name == "review":
                # The scores with a reason field open, then the comments with one picked.
                page.locator(".score-row").nth(1).locator("select").select_option(index=0)
                violations = axe_violations(coach, AXE)
                if violations:
                    found["review-scores"] = violations
                page.locator("#panel-cohorts mark.hl-coach").first.click()
                expect(page.locator("#review-comments")).to_be_visible()
            violations = axe_violations(coach, AXE)
            if violations:
                found[name] = violations
            width = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
            assert width[0] <= width[1], (name, width)
    finally:
        coach.page.context.close()
    writer = signed_in(browser, stack, ids["writer"], **options)
    try:
        page = writer.page
        page.goto(f"{stack.web_url}/#/assignments")
        expect(page.locator(".assignments-states > [data-state='ready']")).to_be_visible()
        violations = axe_violations(writer, AXE)
        if violations:
            found["assignments"] = violations
        page.goto(f"{stack.web_url}/#/assignments/{ids['assignment']}")
        expect(page.locator("#writer-feedback [data-slot='body']")).to_be_visible()
        page.locator("#writer-feedback mark.hl").first.click()
        violations = axe_violations(writer, AXE)
        if violations:
            found["assignment-feedback"] = violations
        width = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1], width
    finally:
        writer.page.context.close()
    assert found == {}
