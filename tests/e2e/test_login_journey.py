"""Signing in through the web app against the real auth API: the login dialog,
cookie + CSRF writes from the page, and sign-out revoking the session."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

# The web UI is built in parallel: on a build without it there is nothing to drive.
pytest.importorskip("memoai_web.app", reason="the web UI is not part of this build")

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import App, new_app, web_stack
from tests.support.auth import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    MEMO,
    USER_PASSWORD,
    auth_overrides,
    bearer,
    create_user,
)
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def login_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with web_stack(tmp_path_factory, "web-login", **auth_overrides()) as stack:
        yield stack


@pytest.fixture
def app(browser: Browser, login_stack: Stack) -> Iterator[App]:
    instance = new_app(browser, login_stack)
    yield instance
    instance.page.context.close()


def test_sign_in_submit_and_sign_out_in_the_browser(app: App, login_stack: Stack) -> None:
    admin = bearer(login_stack, ADMIN_USERNAME, ADMIN_PASSWORD)
    user = create_user(login_stack, admin, "browser-user")
    page = app.open().page
    indicator = page.locator("#session-indicator")
    expect(indicator).to_have_attribute("data-state", "signed-out")

    page.get_by_role("button", name="Sign in").click()
    dialog = page.get_by_role("dialog", name="Sign in")
    dialog.get_by_label("Username").fill(user["username"])
    dialog.get_by_label("Password").fill("Wrong-passw0rd-x")
    dialog.get_by_role("button", name="Sign in").click()
    expect(dialog.locator("#login-error")).to_have_text("That username and password don't match.")
    dialog.get_by_label("Password").fill(USER_PASSWORD)
    dialog.get_by_role("button", name="Sign in").click()
    expect(dialog).to_be_hidden()
    expect(indicator).to_have_attribute("data-state", "user")
    expect(indicator).to_contain_text(user["username"])

    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["memoai_access"]["httpOnly"] is True
    assert cookies["memoai_access"]["sameSite"] == "Strict"
    assert cookies["memoai_csrf_token"]["httpOnly"] is False

    # The page's write carries X-CSRF-Token from the cookie; the API accepts it.
    with page.expect_request(lambda r: r.url.endswith("/evaluations/submit")) as sent:
        app.submit(MEMO)
    assert sent.value.headers.get("x-csrf-token") == cookies["memoai_csrf_token"]["value"]
    evaluation_id = app.wait_for_result()
    with login_stack.client(cookies={"memoai_access": cookies["memoai_access"]["value"]}) as c:
        assert c.get(f"/evaluations/{evaluation_id}").status_code == 200

    page.get_by_role("button", name="Sign out").click()
    expect(indicator).to_have_attribute("data-state", "signed-out")
    # Signed out server-side: the old cookie value is dead everywhere.
    with httpx.Client(
        base_url=f"{login_stack.api_url}/api/v1",
        cookies={"memoai_access": cookies["memoai_access"]["value"]},
    ) as c:
        assert c.get("/auth/verify").status_code == 401
    # Only the expected refusals (verify while signed out, the wrong password) logged.
    unexpected = [e for e in app.errors if "status of 401" not in e]
    assert unexpected == [], unexpected
