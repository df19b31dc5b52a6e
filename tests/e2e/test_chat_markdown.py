"""Coach replies as sanitised Markdown in a real browser. The page's own CSP is
bypassed in these tests, so markup that got through would run: only the
sanitiser stands between a reply and the page.

The XSS reply comes from the real SDK and the fake Messages API (which echoes
the question into its reply, streamed piece by piece), so every partial reply
passes through the renderer too; the formatting reply is a conversation
history stubbed at the web proxy's HTTP level."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Route, expect

from tests.e2e.conftest import App, new_app
from tests.fakes.anthropic_server import FakeAnthropic
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

MEMO = "Recommendation: approve $48,000 for a triage chatbot by 1 June.\nRisk: adoption."

# Runs before the page's scripts: records every unsafe node that ever appears in
# a reply - including in a partial reply replaced a moment later.
WATCH_REPLIES = """
window.__unsafe = [];
const unsafe = (node) => {
  if (node.nodeType !== 1) return null;
  const tag = node.tagName.toLowerCase();
  const banned = ["script", "img", "iframe", "object", "embed", "svg", "style", "form"];
  if (banned.includes(tag)) return tag;
  for (const attr of node.attributes) {
    if (attr.name.startsWith("on")) return `${tag}[${attr.name}]`;
    const scheme = /^\\s*(javascript|data|vbscript):/i;
    if (scheme.test(attr.value)) return `${tag}[${attr.name}=${attr.value}]`;
  }
  return null;
};
new MutationObserver((records) => {
  for (const record of records) {
    for (const added of record.addedNodes) {
      if (added.nodeType !== 1) continue;
      for (const node of [added, ...added.querySelectorAll("*")]) {
        if (!node.parentElement?.closest(".chat-assistant .chat-body")) continue;
        const found = unsafe(node);
        if (found) window.__unsafe.push(found);
      }
    }
  }
}).observe(document, { childList: true, subtree: true });
"""


@pytest.fixture
def unsafe_claude_app(browser: Browser, claude_stack: Stack, fake: FakeAnthropic) -> Iterator[App]:
    app = new_app(browser, claude_stack, bypass_csp=True)
    app.page.add_init_script(WATCH_REPLIES)
    yield app
    app.page.context.close()


@pytest.fixture
def unsafe_offline_app(browser: Browser, offline_stack: Stack) -> Iterator[App]:
    app = new_app(browser, offline_stack, bypass_csp=True)
    app.page.add_init_script(WATCH_REPLIES)
    yield app
    app.page.context.close()


def _open_coach(app: App) -> None:
    app.open()
    app.submit(MEMO)
    evaluation_id = app.wait_for_result()
    app.open(f"#/coach/{evaluation_id}")
    app.view("coach", "ready").wait_for()


def _executed(app: App) -> Any:
    return app.page.evaluate("() => [window.__xss ?? null, window.__unsafe]")


def test_a_streamed_reply_with_markup_is_shown_inert_and_nothing_runs(
    unsafe_claude_app: App, fake: FakeAnthropic
) -> None:
    app = unsafe_claude_app
    _open_coach(app)
    fake.reset()
    fake.state.chunk_delay = 0.05  # several partial replies, cut anywhere in the markup
    # The fake model repeats the question in its reply: these reach the renderer as model text.
    question = (
        "<img src=x onerror=window.__xss=1> <script>window.__xss=2</script> "
        "[go](javascript:window.__xss=3) **ok**"
    )
    app.page.fill("#coach-input", question)
    app.page.press("#coach-input", "Enter")
    reply = app.panel("coach").locator("li.chat-assistant").last
    expect(reply).to_have_attribute("data-status", "completed", timeout=30_000)
    assert int(reply.get_attribute("data-updates") or 0) > 1, "rendered while streaming"
    body = reply.locator(".chat-body")
    expect(body).to_have_attribute("data-format", "markdown")
    # The markup is shown as text, the Markdown around it still works.
    text = body.inner_text()
    assert "<img src=x onerror=window.__xss=1>" in text
    assert "<script>window.__xss=2</script>" in text
    expect(body.locator("strong")).to_have_text("ok")
    expect(body.locator("img, script, iframe")).to_have_count(0)
    link = body.locator("a", has_text="go")
    expect(link).to_have_count(1)
    assert link.get_attribute("href") is None  # a javascript: link loses its target
    link.click()
    assert _executed(app) == [None, []]
    # The writer's own message is shown exactly as typed.
    expect(app.panel("coach").locator("li.chat-user .chat-body")).to_have_text(question)
    assert app.errors == []


RICH = """### Your next step

Put the **decision** and its *deadline* first:

1. State the ask
2. Give the figure

- quantify the baseline
- name an owner

Use `ROI = gain / cost`:

```
payback: 14 months
```

> Lead with the recommendation.

See [the guide](https://example.com/guide)."""

HOSTILE = """<script>window.__xss = 1</script>

<iframe src="javascript:window.__xss=2"></iframe>

<a href="javascript:window.__xss=3">raw link</a> and [cased](JaVaScRiPt:window.__xss=4)

[data](data:text/html,<script>window.__xss=5</script>) ![pixel](https://tracker.example/p.png)

<img src=x onerror="window.__xss=6"><svg onload="window.__xss=7"></svg>"""


def _stub_history(app: App, replies: list[str]) -> None:
    """Answer the conversation's history at the web proxy with these assistant replies."""

    def history(route: Route) -> None:
        if route.request.method != "GET":
            route.continue_()
            return
        messages = []
        for n, content in enumerate(replies):
            messages.append(
                {"id": f"u{n}", "role": "user", "content": "Help?", "status": "completed"}
            )
            messages.append(
                {
                    "id": f"a{n}",
                    "role": "assistant",
                    "content": content,
                    "status": "completed",
                    "llm_provider": "claude",
                }
            )
        body = {"data": {"messages": messages}, "meta": {}, "errors": []}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    app.page.route(re.compile(r".*/api/v1/chat/sessions/[^/]+/messages$"), history)


def test_reply_markdown_renders_lists_headings_code_emphasis_and_safe_links(
    unsafe_offline_app: App,
) -> None:
    app = unsafe_offline_app
    _stub_history(app, [RICH])
    _open_coach(app)
    body = app.panel("coach").locator("li.chat-assistant .chat-body").first
    expect(body).to_have_attribute("data-format", "markdown")
    # Headings sit below the tab's own: ### becomes h5.
    expect(body.locator("h5")).to_have_text("Your next step")
    expect(body.locator("strong")).to_have_text("decision")
    expect(body.locator("em")).to_have_text("deadline")
    expect(body.locator("ol > li")).to_have_text(["State the ask", "Give the figure"])
    expect(body.locator("ul > li")).to_have_text(["quantify the baseline", "name an owner"])
    expect(body.locator("p code")).to_have_text("ROI = gain / cost")
    expect(body.locator("pre code")).to_have_text("payback: 14 months")
    expect(body.locator("blockquote")).to_contain_text("Lead with the recommendation.")
    link = body.locator("a", has_text="the guide")
    expect(link).to_have_attribute("href", "https://example.com/guide")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")
    assert app.errors == []


def test_hostile_reply_markup_is_inert_whatever_its_form(unsafe_offline_app: App) -> None:
    app = unsafe_offline_app
    _stub_history(app, [HOSTILE])
    _open_coach(app)
    body = app.panel("coach").locator("li.chat-assistant .chat-body").first
    expect(body).to_have_attribute("data-format", "markdown")
    expect(body.locator("script, iframe, img, svg")).to_have_count(0)
    text = body.inner_text()
    assert "<script>window.__xss = 1</script>" in text  # shown, not run
    assert '<img src=x onerror="window.__xss=6">' in text
    for anchor in body.locator("a").all():
        href = anchor.get_attribute("href")
        assert href is None or href.startswith("https://"), href
    # The image became a plain link to where it pointed; nothing was loaded from there.
    expect(body.locator("a", has_text="pixel")).to_have_attribute(
        "href", "https://tracker.example/p.png"
    )
    for anchor in body.locator("a").all():
        if anchor.get_attribute("href") is None:
            anchor.click()
    assert _executed(app) == [None, []]
    assert app.errors == []
