"""The Write tab's "Try an example": a menu of strong / medium / weak memos from
examples/memos, in the interface language when one exists."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import App, new_app
from tests.e2e.test_accessibility import AXE, axe_violations
from tests.support.services import unavailable
from tests.support.stack import MEMOS, Stack

pytestmark = pytest.mark.e2e


def memo(name: str) -> str:
    return (MEMOS / f"{name}.txt").read_text(encoding="utf-8")


@pytest.fixture
def spanish(browser: Browser, offline_stack: Stack) -> Iterator[App]:
    app = new_app(browser, offline_stack, locale="es-ES")
    yield app
    app.page.context.close()


def test_picking_an_example_puts_that_memo_in_the_editor_and_it_evaluates(
    offline_app: App,
) -> None:
    page = offline_app.open().page
    button = page.locator("#sample-btn")
    options = page.locator("#sample-options")
    expect(options).to_be_hidden()
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(options.get_by_role("button")).to_have_text(["Strong memo", "Medium memo", "Weak memo"])
    # The first choice takes the focus, so the keyboard goes straight into the menu.
    expect(options.get_by_role("button", name="Strong memo")).to_be_focused()

    options.get_by_role("button", name="Weak memo").click()
    expected = memo("weak_01_en_ai_thoughts")
    expect(page.locator("#memo-text")).to_have_value(expected)
    expect(options).to_be_hidden()
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#char-count")).to_contain_text(f"{len(expected):,} / 10,000")

    # Another level replaces the text (the example is a new memo, not an addition).
    button.click()
    options.get_by_role("button", name="Strong memo").click()
    expect(page.locator("#memo-text")).to_have_value(memo("strong_01_en_hf_remote_monitoring"))

    page.click("#submit-btn")
    evaluation_id = offline_app.wait_for_result()
    assert offline_app.evaluation(evaluation_id)["text_content"] == memo(
        "strong_01_en_hf_remote_monitoring"
    )
    assert offline_app.errors == []


def test_escape_and_a_click_elsewhere_close_the_menu_without_changing_the_memo(
    offline_app: App,
) -> None:
    page = offline_app.open().page
    page.fill("#memo-text", "My own draft.")
    button = page.locator("#sample-btn")
    button.click()
    page.keyboard.press("Escape")
    expect(page.locator("#sample-options")).to_be_hidden()
    expect(button).to_be_focused()
    button.click()
    page.click("#heading-write")
    expect(page.locator("#sample-options")).to_be_hidden()
    expect(page.locator("#memo-text")).to_have_value("My own draft.")
    assert offline_app.errors == []


def test_spanish_interface_offers_spanish_examples_and_marks_the_english_one(
    spanish: App,
) -> None:
    page = spanish.open().page
    page.click("#sample-btn")
    options = page.locator("#sample-options")
    # No medium memo in Spanish yet: that choice says its example is in English.
    medium = options.locator("[data-level='medium']")
    expect(medium.locator(".sample-note")).to_have_text("en inglés")
    expect(options.locator("[data-level='strong'] .sample-note")).to_have_count(0)

    options.get_by_role("button", name="Memorando sólido").click()
    expect(page.locator("#memo-text")).to_have_value(memo("strong_03_es_cribado_retinopatia_ia"))
    page.click("#sample-btn")
    medium.click()
    expect(page.locator("#memo-text")).to_have_value(memo("medium_01_en_second_mri_scanner"))
    page.click("#sample-btn")
    options.get_by_role("button", name="Memorando débil").click()
    expect(page.locator("#memo-text")).to_have_value(memo("weak_03_es_salas_de_espera"))
    assert spanish.errors == []


def test_the_open_menu_passes_axe_wcag_aa_checks(browser: Browser, offline_stack: Stack) -> None:
    if not AXE.exists():
        unavailable("axe-core", "run `make install` (npm ci)")
    app = new_app(browser, offline_stack, locale="es-ES", bypass_csp=True, reduced_motion="reduce")
    try:
        page = app.open().page
        page.click("#sample-btn")
        # With the "in English" note shown: its colour is checked too.
        expect(page.locator("#sample-options .sample-note")).to_have_count(1)
        assert axe_violations(app, AXE) == []
    finally:
        app.page.context.close()
