"""`make screenshots`: every tab at desktop and phone widths, into docs/screenshots/.

Starts the stack (offline evaluator, so results are deterministic apart from
dates), fills in the built-in example memo, revises it, asks the coach a
question, and photographs each tab's first screen in Debian's Chromium; then
signs in as the bootstrap admin for the Integrations, Admin and Debug tabs
(desktop only). Each PNG must stay under 300 KB.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

from tests.e2e.browser import DESKTOP, MOBILE, launch  # noqa: E402
from tests.support.auth import ADMIN_PASSWORD, ADMIN_USERNAME, auth_overrides  # noqa: E402
from tests.support.stack import running_stack  # noqa: E402

OUT = REPO / "docs" / "screenshots"
MAX_BYTES = 300 * 1024
REVISION_NOTE = "\n\nMeasure of success: readmissions below 20% within a year, reported monthly."


def settle(page: Page) -> None:
    page.evaluate("document.fonts.ready")
    page.wait_for_timeout(300)  # entrance animations and bar transitions


def shoot(page: Page, name: str) -> Path:
    page.evaluate("window.scrollTo(0, 0)")
    settle(page)
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def capture(browser: Browser, url: str, width: str, viewport: dict[str, int]) -> list[Path]:
    context = browser.new_context(viewport=viewport, reduced_motion="reduce")
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("html[data-ready='true']")
    shots = [shoot(page, f"write-{width}")]

    page.click("#sample-btn")
    page.click("#sample-options [data-level='strong']")
    page.wait_for_selector("#memo-text:not(:placeholder-shown)")  # the text has arrived
    page.evaluate("document.getElementById('memo-text').scrollTop = 0")
    shots.append(shoot(page, f"write-filled-{width}"))
    page.click("#submit-btn")
    page.locator("#panel-overall [data-state='ready']").wait_for()
    shots.append(shoot(page, f"overall-{width}"))

    page.goto(f"{url}#/detailed")
    page.locator("#panel-detailed mark.hl").nth(1).click()
    if width == "mobile":
        # Stacked: the comment sits below the memo, where the tap scrolled to.
        page.locator("#comment-card").evaluate("card => card.scrollIntoView({block: 'center'})")
        settle(page)
        path = OUT / f"detailed-{width}.png"
        page.screenshot(path=str(path))
        shots.append(path)
    else:
        shots.append(shoot(page, f"detailed-{width}"))

    # A revision: Overall then shows the version badge and what changed.
    page.goto(f"{url}#/overall")
    page.locator("#panel-overall [data-action='revise']").click()
    page.locator("#memo-text").press("End")
    page.fill("#memo-text", page.input_value("#memo-text") + REVISION_NOTE)
    page.click("#submit-btn")
    page.locator("#panel-overall [data-slot='version']").wait_for()
    page.locator("#panel-overall [data-slot='revision']").scroll_into_view_if_needed()
    settle(page)
    path = OUT / f"revision-{width}.png"
    page.screenshot(path=str(path))
    shots.append(path)

    page.locator("#panel-overall [data-action='chat']").click()
    page.locator("#panel-coach [data-state='ready']").first.wait_for()
    page.fill("#coach-input", "What should I fix first?")
    page.press("#coach-input", "Enter")
    page.locator("#panel-coach li.chat-assistant[data-status='completed']").wait_for()
    shots.append(shoot(page, f"coach-{width}"))

    for tab in ("progress", "help"):
        page.goto(f"{url}#/{tab}")
        page.locator(f"#panel-{tab} [data-state='ready']").first.wait_for()
        shots.append(shoot(page, f"{tab}-{width}"))
    page.goto(f"{url}#/batches")
    page.locator("#batch-files").wait_for(state="attached")
    shots.append(shoot(page, f"batches-{width}"))
    if width == "mobile":
        page.click(".menu-toggle")
        shots.append(shoot(page, "menu-mobile"))
    context.close()
    return shots


def capture_admin(browser: Browser, url: str) -> list[Path]:
    context = browser.new_context(viewport=DESKTOP, reduced_motion="reduce")
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("html[data-ready='true']")
    page.locator("#login-footer").click()  # the optional sign-in (AUTH_ENABLED=false)
    dialog = page.get_by_role("dialog", name="Sign in")
    dialog.get_by_label("Username").fill(ADMIN_USERNAME)
    dialog.get_by_label("Password").fill(ADMIN_PASSWORD)
    dialog.get_by_role("button", name="Sign in").click()
    page.locator("#session-indicator[data-state='user']").wait_for()
    shots = []
    page.goto(f"{url}#/integrations")
    page.locator("#tokens-area").wait_for()
    shots.append(shoot(page, "integrations-desktop"))
    page.goto(f"{url}#/admin")
    files = page.get_by_role("navigation", name="Configuration files")
    files.get_by_role("button", name="rubric.yaml", exact=False).first.click()
    page.get_by_role("textbox", name="Content of rubric.yaml").wait_for()
    shots.append(shoot(page, "admin-desktop"))
    page.goto(f"{url}#/debug")
    page.get_by_role("switch", name="Record debug data for new evaluations").wait_for()
    shots.append(shoot(page, "debug-desktop"))
    context.close()
    return shots


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="memoai-screenshots-") as tmp,
        running_stack(
            Path(tmp),
            "sqlite",
            services=("api", "worker", "web"),
            # Anonymous writing as in development, plus an admin who can sign in.
            **auth_overrides(AUTH_ENABLED="false"),
        ) as stack,
        sync_playwright() as playwright,
    ):
        browser = launch(playwright)
        shots = capture(browser, f"{stack.web_url}/", "desktop", DESKTOP)
        shots += capture(browser, f"{stack.web_url}/", "mobile", MOBILE)
        shots += capture_admin(browser, f"{stack.web_url}/")
        browser.close()
    too_big = [p for p in shots if p.stat().st_size > MAX_BYTES]
    for path in shots:
        print(f"{path.relative_to(REPO)}  {path.stat().st_size / 1024:.0f} KB")
    if too_big:
        print(f"Over {MAX_BYTES // 1024} KB: {', '.join(p.name for p in too_big)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
