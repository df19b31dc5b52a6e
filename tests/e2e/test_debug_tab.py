"""The Debug tab against real processes and the real SDK talking to the fake
Messages API: an administrator turns debug mode on, submits a memo, and sees
its timings, tokens and the raw prompt carrying the memo; the self-test runs."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import App, new_app, web_stack
from tests.e2e.test_admin_tab import open_tab
from tests.fakes.anthropic_server import FakeAnthropic
from tests.support.auth import ADMIN_PASSWORD, ADMIN_USERNAME, MEMO, auth_overrides
from tests.support.stack import Stack, claude_overrides

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def debug_stack(
    tmp_path_factory: pytest.TempPathFactory, fake_anthropic: FakeAnthropic
) -> Iterator[Stack]:
    overrides = {**claude_overrides(fake_anthropic.url, LLM_TIMEOUT="10"), **auth_overrides()}
    with web_stack(tmp_path_factory, "web-debug", **overrides) as stack:
        yield stack


@pytest.fixture
def app(browser: Browser, debug_stack: Stack, fake: FakeAnthropic) -> Iterator[App]:
    instance = new_app(browser, debug_stack)
    yield instance
    instance.page.context.close()


def test_debug_mode_shows_timings_tokens_and_the_raw_prompt_of_a_new_memo(app: App) -> None:
    page = app.sign_in(ADMIN_USERNAME, ADMIN_PASSWORD)
    open_tab(page, "debug")
    switch = page.get_by_role("switch", name="Record debug data for new evaluations")
    expect(switch).to_be_enabled()
    if switch.is_checked():  # the stack starts with DEBUG_MODE=false, but be sure
        switch.uncheck()
        expect(switch).not_to_be_checked()
    switch.check()
    expect(switch).to_be_checked()
    expect(page.locator("#debug-mode-state")).to_contain_text("Debug mode is on")
    # The Debug tab carries a dot while debug data is recorded, after a reload too.
    badge = page.locator("#tab-debug .tab-badge")
    page.reload()
    expect(page.locator("#session-indicator")).to_have_attribute("data-state", "user")
    expect(page.locator("#tab-debug")).to_have_attribute("title", re.compile("Debug mode is on"))
    assert badge.evaluate("b => b.hidden") is False

    marker = f"Debug marker {time.monotonic_ns()} for the raw prompt."
    open_tab(page, "write")
    app.submit(f"{MEMO}\n\n{marker}")
    evaluation_id = app.wait_for_result()

    open_tab(page, "debug")
    item = page.locator(f"details[data-evaluation='{evaluation_id}']")
    expect(item).to_be_visible()
    item.locator("summary").click()
    table = item.locator("table.timing-table")
    for phase in ("Queue wait", "AI model", "Parsing", "Saving", "Total"):
        expect(table.locator("tbody th", has_text=phase)).to_have_count(1)
    # The model phase was measured, and the bar has a text alternative.
    llm_time = table.locator("tr", has_text="AI model").locator("td").first
    expect(llm_time).to_have_text(re.compile(r"\d"))
    bar = item.get_by_role("img", name=re.compile("Time by phase"))
    expect(bar).to_be_visible()
    assert bar.locator(".timing-part").count() >= 1
    expect(item.locator(".debug-facts")).to_contain_text(re.compile(r"\d+ in, \d+ out"))
    # The attempt count against the budget (backend.evaluation.max_attempts, 3).
    attempts = item.locator(".debug-facts div", has_text="Attempts").locator("dd")
    expect(attempts).to_have_text("1 of 3")
    prompt = item.get_by_role("region", name="Raw prompt")
    expect(prompt).to_contain_text(marker)
    expect(item.get_by_role("region", name="Raw response")).not_to_be_empty()

    # Turn it off again: the next evaluation keeps no raw data.
    switch.uncheck()
    expect(page.locator("#debug-mode-state")).to_contain_text("Debug mode is off")
    assert badge.evaluate("b => b.hidden") is True


def test_self_test_lists_each_check_with_its_result_and_time(app: App) -> None:
    page = app.sign_in(ADMIN_USERNAME, ADMIN_PASSWORD)
    open_tab(page, "debug")
    page.get_by_role("button", name="Run self-test").click()
    checks = page.locator("#selftest-results > li")
    expect(checks.first).to_be_visible(timeout=30_000)
    assert checks.count() >= 4
    names = " ".join(checks.locator(".check-name").all_inner_texts()).lower()
    assert "database" in names, names
    for index in range(checks.count()):
        expect(checks.nth(index).locator(".result-chip")).to_have_text(re.compile("^(OK|Failed)$"))
        expect(checks.nth(index).locator(".check-time")).to_have_text(re.compile(r"\d"))
    expect(checks.filter(has_text="database").locator(".result-chip")).to_have_text("OK")
