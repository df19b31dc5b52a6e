"""`make screenshots`: every tab at desktop and phone widths, into docs/screenshots/.

Starts the stack (offline evaluator, so results are deterministic apart from
dates), fills in the built-in example memo, and photographs each tab's first
screen in Debian's Chromium. Each PNG must stay under 300 KB.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

from tests.e2e.browser import DESKTOP, MOBILE, launch  # noqa: E402
from tests.support.stack import running_stack  # noqa: E402

OUT = REPO / "docs" / "screenshots"
MAX_BYTES = 300 * 1024
TABS = ("write", "overall", "detailed", "progress", "help")


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

    for tab in ("progress", "help"):
        page.goto(f"{url}#/{tab}")
        page.locator(f"#panel-{tab} [data-state='ready']").first.wait_for()
        shots.append(shoot(page, f"{tab}-{width}"))
    if width == "mobile":
        page.click(".menu-toggle")
        shots.append(shoot(page, "menu-mobile"))
    context.close()
    return shots


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="memoai-screenshots-") as tmp,
        running_stack(Path(tmp), "sqlite", services=("api", "worker", "web")) as stack,
        sync_playwright() as playwright,
    ):
        browser = launch(playwright)
        shots = capture(browser, f"{stack.web_url}/", "desktop", DESKTOP)
        shots += capture(browser, f"{stack.web_url}/", "mobile", MOBILE)
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
