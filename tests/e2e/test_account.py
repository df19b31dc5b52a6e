"""The Account tab in a real browser against the real stack: a signed-in
writer changes their password. A wrong current password is refused next to
its field and changes nothing; the right one with "Sign out everywhere"
revokes the API token and the other sessions while this browser stays signed
in (as the API does); without it they keep working. Checked through the REST
API, not only on the page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import MOBILE
from tests.e2e.conftest import App, new_app, web_stack
from tests.e2e.test_accessibility import AXE, axe_violations
from tests.support.auth import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    USER_PASSWORD,
    auth_overrides,
    bearer,
    create_user,
    login,
)
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "Fresh-passw0rd-2027"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with web_stack(tmp_path_factory, "web-account", **auth_overrides(BCRYPT_ROUNDS="4")) as s:
        yield s


@pytest.fixture
def app(browser: Browser, stack: Stack) -> Iterator[App]:
    instance = new_app(browser, stack, bypass_csp=True, reduced_motion="reduce")
    yield instance
    instance.page.context.close()


def new_writer(stack: Stack) -> str:
    admin = bearer(stack, ADMIN_USERNAME, ADMIN_PASSWORD)
    return str(create_user(stack, admin, f"writer.{uuid.uuid4().hex[:6]}")["username"])


def api_token(stack: Stack, headers: dict[str, str]) -> dict[str, str]:
    with stack.client() as client:
        made = client.post(
            "/tokens", json={"name": "grading script", "scopes": ["read"]}, headers=headers
        )
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['data']['token']}"}


def status_with(stack: Stack, headers: dict[str, str]) -> int:
    """What the API answers a read made with these credentials."""
    return httpx.get(f"{stack.api_url}/api/v1/evaluations", headers=headers, timeout=15).status_code


def open_account(page: Page) -> Any:
    page.get_by_role("link", name=re.compile(r"^Account:")).click()
    panel = page.locator("#panel-account")
    expect(panel).to_be_visible()
    expect(page.locator("#heading-account")).to_be_focused()
    return panel


def change(panel: Any, current: str, new: str, *, everywhere: bool) -> None:
    panel.get_by_label("Current password").fill(current)
    panel.get_by_label("New password", exact=True).fill(new)
    panel.get_by_label("Confirm new password").fill(new)
    box = panel.get_by_role("checkbox", name=re.compile(r"^Sign out everywhere"))
    expect(box).to_be_checked()  # the API's default, and the safe one
    box.set_checked(everywhere)
    panel.get_by_role("button", name="Change password").click()


def test_sign_out_everywhere_revokes_the_token_and_other_sessions_but_not_this_browser(
    app: App, stack: Stack
) -> None:
    username = new_writer(stack)
    other_session = bearer(stack, username, USER_PASSWORD)  # another device, signed in before
    token = api_token(stack, other_session)
    assert status_with(stack, token) == 200
    page = app.sign_in(username, USER_PASSWORD)
    panel = open_account(page)
    expect(panel.locator("#account-username")).to_have_text(username)
    expect(panel.locator("#account-role")).to_have_text("Writer")
    expect(panel.locator("#password-new-hint")).to_have_text(
        "At least 12 characters, with a letter and a digit."
    )

    # A wrong current password: refused next to its field; nothing changed.
    change(panel, "Not-my-passw0rd", NEW_PASSWORD, everywhere=True)
    current = panel.get_by_label("Current password")
    error = panel.locator("#password-current-error")
    expect(error).to_have_text("The current password is wrong.")
    expect(current).to_have_attribute("aria-invalid", "true")
    expect(current).to_be_focused()
    expect(panel.locator("#account-success")).to_be_hidden()
    assert status_with(stack, token) == 200
    assert status_with(stack, other_session) == 200
    assert login(stack, username, NEW_PASSWORD).status_code == 401
    assert login(stack, username, USER_PASSWORD).status_code == 200

    # Typing again clears the complaint; the right password with "sign out everywhere".
    current.fill("x")
    expect(error).to_be_hidden()
    change(panel, USER_PASSWORD, NEW_PASSWORD, everywhere=True)
    done = panel.locator("#account-success")
    expect(done).to_contain_text("Your password has been changed.")
    expect(done).to_contain_text("This browser stays signed in.")
    expect(done).to_contain_text("and 1 API token was revoked.")
    expect(panel.get_by_label("Current password")).to_have_value("")

    assert status_with(stack, token) == 401
    assert status_with(stack, other_session) == 401
    assert login(stack, username, USER_PASSWORD).status_code == 401
    assert login(stack, username, NEW_PASSWORD).status_code == 200

    # Integrations says why the token stopped and lists it as revoked.
    page.goto(f"{stack.web_url}/#/integrations")  # the same page: no reload
    expect(page.locator("#tokens-revoked-notice")).to_contain_text("1 token stopped working")
    row = page.locator("#token-rows tr", has_text="grading script")
    expect(row).to_have_attribute("data-status", "revoked")
    expect(row).to_contain_text("revoked ")

    # This browser's session is the one the API kept: still signed in after a reload.
    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    expect(page.locator("#session-indicator")).to_have_attribute("data-state", "user")
    unexpected = [e for e in app.errors if "status of 401" not in e and "status of 422" not in e]
    assert unexpected == [], unexpected


def test_without_sign_out_everywhere_the_token_and_other_sessions_keep_working(
    app: App, stack: Stack
) -> None:
    username = new_writer(stack)
    other_session = bearer(stack, username, USER_PASSWORD)
    token = api_token(stack, other_session)
    page = app.sign_in(username, USER_PASSWORD)
    panel = open_account(page)
    change(panel, USER_PASSWORD, NEW_PASSWORD, everywhere=False)
    expect(panel.locator("#account-success")).to_contain_text(
        "Your other sessions and API tokens keep working."
    )
    assert status_with(stack, token) == 200
    assert status_with(stack, other_session) == 200
    assert login(stack, username, USER_PASSWORD).status_code == 401
    assert login(stack, username, NEW_PASSWORD).status_code == 200
    page.goto(f"{stack.web_url}/#/integrations")  # the same page: no reload
    row = page.locator("#token-rows tr", has_text="grading script")
    expect(row).to_have_attribute("data-status", "active")
    expect(page.locator("#tokens-revoked-notice")).to_be_hidden()


def test_the_form_checks_in_the_browser_from_the_keyboard_on_a_phone(
    browser: Browser, stack: Stack
) -> None:
    username = new_writer(stack)
    app = new_app(browser, stack, viewport=MOBILE, bypass_csp=True, reduced_motion="reduce")
    try:
        page = app.sign_in(username, USER_PASSWORD)
        link = page.get_by_role("link", name=f"Account: {username}")
        expect(link).to_be_visible()
        link.focus()
        page.keyboard.press("Enter")
        expect(page.locator("#heading-account")).to_be_focused()
        page.keyboard.press("Tab")
        expect(page.locator("#password-current")).to_be_focused()
        page.keyboard.type(USER_PASSWORD)
        page.keyboard.press("Tab")
        page.keyboard.type("short1")
        page.keyboard.press("Tab")
        page.keyboard.type("short2")
        app.api_calls.clear()
        page.keyboard.press("Enter")
        # The first problem takes the focus; each field says its own; nothing was sent.
        expect(page.locator("#password-new")).to_be_focused()
        expect(page.locator("#password-new-error")).to_have_text(
            "The new password needs at least 12 characters."
        )
        expect(page.locator("#password-confirm-error")).to_have_text(
            "The two new passwords don't match."
        )
        assert not [c for c in app.api_calls if c.startswith("PUT")], app.api_calls
        if AXE.exists():
            assert axe_violations(app, AXE) == []
        width = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1], width
        assert login(stack, username, USER_PASSWORD).status_code == 200
    finally:
        app.page.context.close()
