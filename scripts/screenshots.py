"""`make screenshots`: every tab at desktop and phone widths, into docs/screenshots/.

Starts the stack (offline evaluator, so results are deterministic apart from
dates), fills in the built-in example memo, revises it, asks the coach a
question, and photographs each tab's first screen in Debian's Chromium; then
signs in as the bootstrap admin for the Integrations, Admin and Debug tabs
(desktop only) and the Account tab (both widths); then builds a small course
through the API (a cohort, a coach, four writers, one assignment, three
submissions, two reviews released) and photographs the coach area, the review
screen, the analytics and a writer's Assignments tab at desktop and phone widths.
Each PNG must stay under 300 KB.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

from tests.e2e.browser import DESKTOP, MOBILE, launch  # noqa: E402
from tests.e2e.cohorts_support import Course, memo  # noqa: E402
from tests.support.auth import (  # noqa: E402
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    USER_PASSWORD,
    auth_overrides,
)
from tests.support.stack import Stack, running_stack  # noqa: E402

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


def capture_account(browser: Browser, url: str) -> list[Path]:
    """The Account tab at both widths: the form with the browser's own checks showing."""
    shots = []
    for width, viewport in (("desktop", DESKTOP), ("mobile", MOBILE)):
        page = sign_in(browser, url, ADMIN_USERNAME, ADMIN_PASSWORD, viewport)
        page.goto(f"{url}#/account")
        page.locator("#password-form").wait_for()
        page.get_by_label("Current password").fill(ADMIN_PASSWORD)
        page.get_by_label("New password", exact=True).fill("too-short")
        page.get_by_label("Confirm new password").fill("too-short")
        page.locator("#password-submit").click()
        page.locator("#password-new-error").wait_for()
        shots.append(shoot(page, f"account-{width}"))
        page.context.close()
    return shots


def sign_in(
    browser: Browser, url: str, username: str, password: str, viewport: dict[str, int]
) -> Page:
    """A new tab signed in through the footer's optional sign-in (AUTH_ENABLED=false)."""
    context = browser.new_context(viewport=viewport, reduced_motion="reduce")
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("html[data-ready='true']")
    page.locator("#login-footer").click()
    dialog = page.get_by_role("dialog", name="Sign in")
    dialog.get_by_label("Username").fill(username)
    dialog.get_by_label("Password").fill(password)
    dialog.get_by_role("button", name="Sign in").click()
    page.locator("#session-indicator[data-state='user']").wait_for()
    return page


def build_course(stack: Stack) -> dict[str, str]:
    """A cohort of four writers: three submitted, two reviews released, one a draft."""
    course = Course(stack)
    try:
        coach, as_coach = course.user("coach.maria", role="coach", unique=False)
        cohort = course.cohort("Business Writing — Spring 2027")
        course.join(cohort, coach, "coach")
        writers = [
            course.user(name, unique=False)
            for name in ("writer.li", "writer.omar", "writer.ines", "writer.sam")
        ]
        for name, _ in writers:
            course.join(cohort, name, "writer")
        assignment = course.assignment(
            cohort,
            as_coach,
            "Memo 1: fund a pilot",
            instructions="Ask the executive team to fund a six-month pilot. One page.",
        )
        files = (
            "strong_01_en_hf_remote_monitoring.txt",
            "medium_01_en_second_mri_scanner.txt",
            "weak_02_en_staff_wellness_cafeteria.txt",
        )
        evaluations = [
            course.submit(assignment["id"], headers, memo(name))
            for (_, headers), name in zip(writers[:3], files, strict=True)
        ]
        reasons = (
            "The recommendation and the amount are in the first two lines.",
            "The baseline comes without a source.",
        )
        for evaluation_id, reason in zip(evaluations[:2], reasons, strict=True):
            review = course.review(evaluation_id, as_coach)
            first = review["scores"][0]
            score = first["ai_score"] - 1 if first["ai_score"] > 3 else first["ai_score"] + 1
            course.override(evaluation_id, as_coach, first["criterion_id"], score, reason)
            ai = next(c for c in review["comments"] if c["source"] == "ai")
            words = ai["segment"].split()[:4]
            passage = " ".join(words)
            start = review["text_content"].index(passage)
            course.call(
                "POST",
                f"/reviews/{evaluation_id}/comments",
                as_coach,
                json={
                    "start": start,
                    "end": start + len(passage),
                    "segment": passage,
                    "comment": "Good: lead with this.",
                },
            )
            course.release(evaluation_id, as_coach)
        course.review(evaluations[2], as_coach)
        return {
            "coach": coach,
            "writer": writers[0][0],
            "cohort": cohort,
            "assignment": assignment["id"],
            "evaluation": evaluations[0],
        }
    finally:
        course.close()


def capture_coach(browser: Browser, url: str, ids: dict[str, str]) -> list[Path]:
    shots = []
    for width, viewport in (("desktop", DESKTOP), ("mobile", MOBILE)):
        page = sign_in(browser, url, ids["coach"], USER_PASSWORD, viewport)
        page.goto(f"{url}#/cohorts/cohort/{ids['cohort']}")
        page.locator("#cohort-analytics [data-state='ready']").wait_for()
        shots.append(shoot(page, f"cohorts-{width}"))
        page.goto(f"{url}#/cohorts/queue")
        page.locator(".queue-states > [data-state='ready']").wait_for()
        if width == "desktop":
            shots.append(shoot(page, "queue-desktop"))
        page.goto(f"{url}#/cohorts/review/{ids['evaluation']}")
        page.locator(".review-states > [data-state='ready']").wait_for()
        page.locator("[data-view='review'] [data-slot='position']").filter(has_text="1").wait_for()
        shots.append(shoot(page, f"review-{width}"))
        if width == "desktop":
            page.locator("#panel-cohorts mark.hl-coach").first.click()
            page.locator("#review-comments").wait_for()
            page.locator("#panel-cohorts mark.hl-coach").first.scroll_into_view_if_needed()
            settle(page)
            path = OUT / "review-comments-desktop.png"
            page.screenshot(path=str(path))
            shots.append(path)
        page.goto(f"{url}#/cohorts/assignment/{ids['assignment']}")
        page.locator("#assignment-analytics [data-state='ready']").wait_for()
        page.locator("#assignment-analytics").scroll_into_view_if_needed()
        page.evaluate("document.getElementById('assignment-analytics').scrollIntoView()")
        settle(page)
        path = OUT / f"analytics-{width}.png"
        page.screenshot(path=str(path))
        shots.append(path)
        if width == "desktop":
            page.locator("#assignment-analytics .agreement").evaluate(
                "block => block.closest('.analytics-block').previousElementSibling.scrollIntoView()"
            )
            settle(page)
            path = OUT / "agreement-desktop.png"
            page.screenshot(path=str(path))
            shots.append(path)
        page.context.close()

        page = sign_in(browser, url, ids["writer"], USER_PASSWORD, viewport)
        page.goto(f"{url}#/assignments")
        page.locator(".assignments-states > [data-state='ready']").wait_for()
        page.goto(f"{url}#/assignments/{ids['assignment']}")
        page.locator("#writer-feedback [data-slot='body']").wait_for()
        page.locator("#writer-feedback mark.hl-coach").first.click()
        page.evaluate("document.getElementById('writer-feedback').scrollIntoView()")
        settle(page)
        path = OUT / f"assignments-{width}.png"
        page.screenshot(path=str(path))
        shots.append(path)
        page.context.close()
    return shots


def main(argv: list[str]) -> int:
    # --coach-only: just the coach area and Assignments shots (the rest stay as they are).
    coach_only = "--coach-only" in argv
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
        shots: list[Path] = []
        if not coach_only:
            shots += capture(browser, f"{stack.web_url}/", "desktop", DESKTOP)
            shots += capture(browser, f"{stack.web_url}/", "mobile", MOBILE)
            shots += capture_admin(browser, f"{stack.web_url}/")
            shots += capture_account(browser, f"{stack.web_url}/")
        shots += capture_coach(browser, f"{stack.web_url}/", build_course(stack))
        browser.close()
    too_big = [p for p in shots if p.stat().st_size > MAX_BYTES]
    for path in shots:
        print(f"{path.relative_to(REPO)}  {path.stat().st_size / 1024:.0f} KB")
    if too_big:
        print(f"Over {MAX_BYTES // 1024} KB: {', '.join(p.name for p in too_big)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
