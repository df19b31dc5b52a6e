"""Browser tests: real api, worker and web processes, Debian's Chromium via Playwright.

Two stacks serve the whole session: `offline_stack` (the default experience, no
key: results in a fraction of a second) and `claude_stack` (the real SDK against
the fake Messages API, so a test can slow the model down or make it fail).
Locally a missing browser skips; under CI=true it fails (tests/support/services.py).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import DESKTOP, chromium_path, launch
from tests.fakes.anthropic_server import FakeAnthropic
from tests.support.services import unavailable
from tests.support.stack import Stack, claude_overrides, running_stack

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

SESSION_COOKIE = "memoai_session"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable("Playwright", str(exc))
    if chromium_path() is None:
        unavailable("Chromium", "install it with scripts/install-system-deps.sh")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    instance = launch(playwright)
    yield instance
    instance.close()


@contextmanager
def web_stack(
    tmp_path_factory: pytest.TempPathFactory, name: str, **overrides: str
) -> Iterator[Stack]:
    """api, worker and web on SQLite in a fresh directory."""
    root = tmp_path_factory.mktemp(name)
    with running_stack(root, "sqlite", services=("api", "worker", "web"), **overrides) as stack:
        yield stack


@pytest.fixture(scope="session")
def offline_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with web_stack(tmp_path_factory, "web-offline") as stack:
        yield stack


@pytest.fixture(scope="session")
def claude_stack(
    tmp_path_factory: pytest.TempPathFactory, fake_anthropic: FakeAnthropic
) -> Iterator[Stack]:
    # No retries: one scripted failure is one failed evaluation.
    overrides = claude_overrides(fake_anthropic.url, LLM_RETRY_ATTEMPTS="0", LLM_TIMEOUT="10")
    with web_stack(tmp_path_factory, "web-claude", **overrides) as stack:
        yield stack


@dataclass
class App:
    """One browser tab on the web UI, with what it logged."""

    page: Page
    stack: Stack
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    api_calls: list[str] = field(default_factory=list)

    def open(self, route: str = "") -> App:
        self.page.goto(f"{self.stack.web_url}/{route}")
        self.page.wait_for_selector("html[data-ready='true']", timeout=15_000)
        return self

    def sign_in(self, username: str, password: str, route: str = "") -> Page:
        """Open the app (at `route`) and sign in through the header's dialog."""
        page = self.open(route).page
        page.get_by_role("button", name="Sign in").click()
        dialog = page.get_by_role("dialog", name="Sign in")
        dialog.get_by_label("Username").fill(username)
        dialog.get_by_label("Password").fill(password)
        dialog.get_by_role("button", name="Sign in").click()
        expect(page.locator("#session-indicator")).to_have_attribute("data-state", "user")
        return page

    def panel(self, tab: str) -> Any:
        return self.page.locator(f"#panel-{tab}")

    def view(self, tab: str, state: str) -> Any:
        return self.page.locator(f"#panel-{tab} [data-state='{state}']").first

    def submit(self, text: str) -> None:
        self.page.fill("#memo-text", text)
        self.page.click("#submit-btn")

    def wait_for_result(self, timeout: float = 30_000) -> str:
        """Wait for the automatic move to Overall feedback; the evaluation id from the address."""
        # Not wait_for_function: it evaluates a string, which the page's CSP forbids.
        expect(self.page).to_have_url(re.compile(r"#/overall/[\w-]+$"), timeout=timeout)
        self.view("overall", "ready").wait_for(timeout=timeout)
        return self.page.url.rsplit("/", 1)[1]

    def session(self) -> str:
        cookies = self.page.context.cookies()
        return next(c["value"] for c in cookies if c["name"] == SESSION_COOKIE)

    def evaluation(self, evaluation_id: str) -> dict[str, Any]:
        """The result as the API returns it to this browser's session."""
        return self.stack.result(self.session(), evaluation_id)

    def public_config(self) -> dict[str, Any]:
        with self.stack.client() as client:
            return dict(client.get("/config/public").json()["data"])


def new_app(browser: Browser, stack: Stack, **context: Any) -> App:
    ctx = browser.new_context(**{"viewport": DESKTOP, **context})
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    app = App(page, stack)
    page.on(
        "console",
        lambda msg: app.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    page.on("pageerror", lambda exc: app.errors.append(f"pageerror: {exc}"))
    page.on("dialog", lambda dialog: (app.dialogs.append(dialog.message), dialog.dismiss()))
    page.on(
        "request",
        lambda req: (
            app.api_calls.append(f"{req.method} {req.url.split('/api/v1', 1)[1]}")
            if "/api/v1/" in req.url
            else None
        ),
    )
    return app


@pytest.fixture
def offline_app(browser: Browser, offline_stack: Stack) -> Iterator[App]:
    app = new_app(browser, offline_stack)
    yield app
    app.page.context.close()


@pytest.fixture
def claude_app(browser: Browser, claude_stack: Stack, fake: FakeAnthropic) -> Iterator[App]:
    app = new_app(browser, claude_stack)
    yield app
    app.page.context.close()


def unique(text: str) -> str:
    """Tag a memo so its requests to the fake model can be told apart."""
    return f"{text}\n\nRef {time.monotonic_ns()}."


def one_decimal(value: float, decimal_mark: str = ".") -> str:
    """A score as the page shows it: Intl.NumberFormat rounds half away from zero."""
    shown = str(Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    return shown.replace(".", decimal_mark)
