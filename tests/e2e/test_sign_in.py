"""With AUTH_ENABLED the header offers sign-in and the dialog works from the
keyboard; the auth issue's endpoints do the rest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import App, new_app
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def auth_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("web-auth")
    with running_stack(root, "sqlite", services=("api", "web"), AUTH_ENABLED="true") as stack:
        yield stack


@pytest.fixture
def app(browser: Browser, auth_stack: Stack) -> Iterator[App]:
    instance = new_app(browser, auth_stack)
    yield instance
    instance.page.context.close()


def test_sign_in_dialog_appears_when_auth_is_enabled(app: App) -> None:
    app.open()
    page = app.page
    expect(page.locator("#session-indicator")).to_have_attribute("data-state", "signed-out")
    button = page.get_by_role("button", name="Sign in")
    expect(button).to_be_visible()
    button.click()

    dialog = page.get_by_role("dialog", name="Sign in")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Username")).to_be_focused()
    dialog.get_by_role("button", name="Sign in").click()
    expect(dialog.locator("#login-error")).to_have_text("Enter your username and password.")

    dialog.get_by_label("Username").fill("nobody")
    dialog.get_by_label("Password").fill("not-the-password-1")
    dialog.get_by_role("button", name="Sign in").click()
    # Refused either way: wrong credentials, or no sign-in endpoint on this build yet.
    expect(dialog.locator("#login-error")).to_have_text(
        "That username and password don't match."
        if _has_login(app)
        else "Sign-in isn't available on this server yet."
    )
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()


def _has_login(app: App) -> bool:
    with app.stack.client() as client:
        return client.post("/auth/login", json={}).status_code != 404
