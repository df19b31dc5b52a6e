"""With AUTH_ENABLED=false (the default) writing needs no account, yet an admin
can still sign in from the header to reach the Admin tab, and signing out goes
back to an anonymous session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import App, new_app, web_stack
from tests.e2e.test_admin_tab import open_tab
from tests.support.auth import ADMIN_PASSWORD, ADMIN_USERNAME, auth_overrides
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

MEMO = (
    "Recommendation: approve $40,000 by 1 June for a shared data dictionary.\n"
    "Analysts lose about six hours a week reconciling field names across reports."
)


@pytest.fixture(scope="module")
def open_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with web_stack(tmp_path_factory, "web-optional", **auth_overrides(AUTH_ENABLED="false")) as s:
        yield s


@pytest.fixture
def app(browser: Browser, open_stack: Stack) -> Iterator[App]:
    instance = new_app(browser, open_stack)
    yield instance
    instance.page.context.close()


def test_anonymous_writing_with_an_optional_sign_in_for_admins(app: App) -> None:
    page = app.open().page
    indicator = page.locator("#session-indicator")
    expect(indicator).to_have_attribute("data-state", "anonymous")
    expect(page.locator("li:has(> #tab-admin)")).to_be_hidden()
    # The header stays the anonymous writer's; the optional sign-in is in the footer.
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_hidden()
    app.submit(MEMO)
    app.wait_for_result()

    # The page reloads as the admin, keeping nothing of the anonymous session's results.
    page.get_by_role("button", name="Sign in (admins and API token owners)").click()
    dialog = page.get_by_role("dialog", name="Sign in")
    dialog.get_by_label("Username").fill(ADMIN_USERNAME)
    dialog.get_by_label("Password").fill(ADMIN_PASSWORD)
    dialog.get_by_role("button", name="Sign in").click()
    expect(indicator).to_contain_text(ADMIN_USERNAME)
    open_tab(page, "admin")  # through the menu when the tabs are folded
    expect(page.get_by_role("navigation", name="Configuration files")).to_be_visible()

    # A reload stays signed in (the login cookie is verified at start-up).
    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    expect(indicator).to_have_attribute("data-state", "user")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("html[data-ready='true']")
    expect(indicator).to_have_attribute("data-state", "anonymous")
    expect(page.locator("li:has(> #tab-admin)")).to_be_hidden()
    assert app.errors == []
