"""User and model text is shown as text: markup in a memo runs nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import App
from tests.fakes.anthropic_server import FakeAnthropic

pytestmark = pytest.mark.e2e

# No ".", "!" or "?" inside the payloads: a quoted sentence then holds each one whole.
SCRIPT = '<script>window["__pwned"] = "script"; alert("script")</script>'
IMG = "<img src=\"x\" onerror=\"window['__pwned'] = 'img'; alert('img')\">"
# The payloads sit inside sentences the (fake) model quotes, so they reach the
# highlights and the comment panel too, not only the memo text. The offline
# scorer quotes no sentence that carries markup, so the model's path is tested.
MEMO = (
    f"Recommendation: approve $1.2M by 31 March for remote monitoring {SCRIPT} now.\n"
    "The pilot cut readmissions by 38% and saved $400,000 in six months.\n"
    f"Risks: adoption may be slow {IMG} so we mitigate it with training and a help line.\n"
)


def test_script_and_img_onerror_payloads_are_displayed_as_text_and_run_nothing(
    claude_app: App, fake: FakeAnthropic
) -> None:
    app = claude_app.open()
    page = app.page
    app.submit(MEMO)
    evaluation_id = app.wait_for_result()
    page.click("#tab-detailed")
    memo_view = app.view("detailed", "ready").locator("[data-slot='memo']")
    # The memo reads back character for character (highlights minus their number badges).
    text = memo_view.evaluate(
        "node => Array.from(node.childNodes)"
        ".map(n => n.nodeType === 3 ? n.textContent : n.firstChild.textContent).join('')"
    )
    assert text == MEMO
    for mark in app.view("detailed", "ready").locator("mark.hl").all():
        mark.click()
    quotes = [s["segment"] for s in app.evaluation(evaluation_id)["segment_feedback"]]
    assert any(SCRIPT in q for q in quotes) and any(IMG in q for q in quotes)

    # Nothing ran, and no element was created from the memo's markup.
    page.wait_for_timeout(300)  # an onerror would fire as soon as the image failed
    assert app.dialogs == []
    assert page.evaluate("window.__pwned") is None
    assert page.locator("main script, main img").count() == 0
    expect(page.locator("#comment-card [data-slot='quote']")).to_contain_text("<")
    assert app.errors == []


def test_the_page_forbids_inline_scripts_with_a_content_security_policy(offline_app: App) -> None:
    response = offline_app.page.goto(offline_app.stack.web_url + "/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert directives["object-src"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    # The browser enforces it: an injected inline script is refused.
    offline_app.page.wait_for_selector("html[data-ready='true']")
    offline_app.page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__inline = true'; document.body.append(s); }"
    )
    assert offline_app.page.evaluate("window.__inline") is None
