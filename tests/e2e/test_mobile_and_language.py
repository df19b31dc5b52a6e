"""A phone-sized journey (tabs become a menu, comments stack under the memo)
and the Spanish interface (browser language, configured language, switcher)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.browser import MOBILE
from tests.e2e.conftest import App, new_app, one_decimal
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def phone(browser: Browser, offline_stack: Stack) -> Iterator[App]:
    app = new_app(
        browser,
        offline_stack,
        viewport=MOBILE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    yield app
    app.page.context.close()


@pytest.fixture
def spanish(browser: Browser, offline_stack: Stack) -> Iterator[App]:
    app = new_app(browser, offline_stack, locale="es-ES")
    yield app
    app.page.context.close()


def no_sideways_scroll(app: App) -> None:
    width = app.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width


def test_mobile_journey_uses_a_menu_and_stacks_comments_under_the_memo(phone: App) -> None:
    app = phone.open()
    page = app.page
    toggle = page.locator(".menu-toggle")
    expect(toggle).to_be_visible()
    expect(toggle).to_contain_text("Write")
    expect(page.locator("#tab-help")).to_be_hidden()
    no_sideways_scroll(app)

    # Write with the example memo and submit with a tap.
    page.locator("#sample-btn").tap()
    page.locator("#sample-options [data-level='strong']").tap()
    expect(page.locator("#memo-text")).not_to_have_value("")
    page.locator("#submit-btn").tap()
    app.wait_for_result()
    expect(toggle).to_contain_text("Overall feedback")
    expect(app.view("overall", "ready").locator(".criterion").first).to_be_visible()
    no_sideways_scroll(app)

    # The menu lists every tab; choosing one closes it.
    toggle.tap()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.locator("#tab-detailed").tap()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#tab-help")).to_be_hidden()

    mark = app.view("detailed", "ready").locator("mark.hl").first
    mark.tap()
    card = page.locator("#comment-card")
    expect(card.locator("[data-slot='comment']")).not_to_be_empty()
    # Both boxes read at the same instant: the card is scrolled into view smoothly.
    memo_bottom, card_top = page.evaluate(
        """() => [document.querySelector('.memo-card').getBoundingClientRect().bottom,
                  document.getElementById('comment-card').getBoundingClientRect().top]"""
    )
    assert card_top >= memo_bottom
    expect(card).to_be_in_viewport()  # brought into view after the tap
    no_sideways_scroll(app)

    toggle.tap()
    page.locator("#tab-help").tap()
    expect(app.view("help", "ready")).to_be_visible()
    no_sideways_scroll(app)
    assert app.errors == []


def test_spanish_interface_follows_the_browser_language(spanish: App) -> None:
    app = spanish.open()
    page = app.page
    expect(page.locator("html")).to_have_attribute("lang", "es")
    # The tabs everyone sees (admin-only ones stay hidden).
    expect(page.locator("nav li:not([hidden]) .tab")).to_have_text(
        [
            "Escribir",
            "Valoración general",
            "Comentarios detallados",
            "Coach",
            "Progreso",
            "Lotes",
            "Integraciones",
            "Ayuda",
        ]
    )
    expect(page.locator("#heading-write")).to_have_text("Escribe tu memorando")
    expect(page.locator("#char-count")).to_have_text("0 / 10.000 caracteres")
    expect(page.locator("#session-indicator")).to_have_attribute("data-state", "anonymous")

    page.click("#sample-btn")
    page.click("#sample-options [data-level='strong']")
    expect(page.locator("#memo-text")).to_have_value(re.compile(r"^PARA: Dña\. Carmen Ibáñez"))
    page.click("#submit-btn")
    evaluation_id = app.wait_for_result()
    overall = app.view("overall", "ready")
    expect(page.locator("#heading-overall")).to_have_text("Valoración general")
    expect(overall.locator("[data-slot='offline']")).to_contain_text("Evaluación sin conexión")
    expect(overall.locator(".criterion .weight").first).to_contain_text("% de la nota")
    score = app.evaluation(evaluation_id)["overall_score"]
    expect(overall.locator("[data-slot='score']")).to_have_text(one_decimal(score, ","))

    page.click("#tab-help")
    expect(page.locator("#help-rubric-heading")).to_have_text("La rúbrica")
    expect(page.locator("#help-faq summary").first).to_have_text(
        "¿Cómo se calcula la puntuación global?"
    )
    assert app.errors == []


def test_the_language_switch_keeps_the_draft(spanish: App) -> None:
    app = spanish.open()
    page = app.page
    page.fill("#memo-text", "Borrador: inversión de 2 M€ 😀")
    page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[lang='en'][data-ready='true']")
    expect(page.locator("#heading-write")).to_have_text("Write your memo")
    expect(page.locator("#memo-text")).to_have_value("Borrador: inversión de 2 M€ 😀")
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")


@pytest.mark.parametrize("locale", ["en-US", "es-ES"])
def test_the_tabs_fold_into_the_menu_whenever_they_would_not_fit(
    browser: Browser, offline_stack: Stack, locale: str
) -> None:
    app = new_app(browser, offline_stack, locale=locale)
    try:
        app.open()
        page = app.page
        collapsed = {}
        for width in (1280, 1024, 900, 800, 600):
            page.set_viewport_size({"width": width, "height": 700})
            page.wait_for_timeout(100)  # the resize observer runs after layout
            # Left to right: the logo, each tab (or the menu button), the status area.
            boxes = page.evaluate(
                """() => [...document.querySelectorAll(
                        '.brand, .menu-toggle, .tab-list .tab, .status-area')]
                    .filter((e) => e.checkVisibility())
                    .map((e) => e.getBoundingClientRect())
                    .map((r) => [r.left, r.right])"""
            )
            assert len(boxes) >= 3
            for (_, right), (left, _) in pairwise(boxes):
                assert right <= left + 0.5, (width, boxes)  # nothing overlaps
            collapsed[width] = page.locator(".menu-toggle").is_visible()
            if collapsed[width]:
                expect(page.locator("#tab-help")).to_be_hidden()
            else:
                expect(page.locator("#tab-help")).to_be_visible()
        assert collapsed[1280] is False and collapsed[600] is True
    finally:
        app.page.context.close()
