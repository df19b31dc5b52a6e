"""What the coach-area browser tests share: a stack with logins, accounts and
cohorts made through the REST API (the browser tests then drive the UI), and
small page helpers (sign in as someone, select a passage in the memo)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import App, new_app
from tests.support.auth import ADMIN_PASSWORD, ADMIN_USERNAME, USER_PASSWORD, bearer
from tests.support.stack import MEMOS, Stack

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# The executive_summary rubric of config/rubric.yaml (ids), pinned by the assignments here.
EXEC_RUBRIC = "executive_summary"


def memo(name: str, tag: str = "") -> str:
    """An example memo from examples/memos, tagged so two writers' texts differ."""
    text = (MEMOS / name).read_text(encoding="utf-8")
    return f"{text}\nRef {tag}\n" if tag else text


@dataclass
class Course:
    """Accounts, cohorts, assignments and submissions made through the API."""

    stack: Stack
    http: httpx.Client = field(init=False)
    admin: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.http = self.stack.client()
        self.admin = bearer(self.stack, ADMIN_USERNAME, ADMIN_PASSWORD)

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
        response = self.http.request(method, path, headers=headers, **kwargs)
        assert response.status_code < 300, (method, path, response.text)
        return response.json()["data"]

    def user(
        self, prefix: str, role: str = "user", unique: bool = True
    ) -> tuple[str, dict[str, str]]:
        """A new account (username made unique, unless told not to) and its bearer header."""
        name = f"{prefix}.{uuid.uuid4().hex[:6]}" if unique else prefix
        self.call(
            "POST",
            "/users",
            self.admin,
            json={"username": name, "password": USER_PASSWORD, "role": role},
        )
        return name, bearer(self.stack, name, USER_PASSWORD)

    def cohort(self, name: str) -> str:
        return str(self.call("POST", "/cohorts", self.admin, json={"name": name})["id"])

    def join(self, cohort_id: str, username: str, role: str) -> None:
        self.call(
            "POST",
            f"/cohorts/{cohort_id}/members",
            self.admin,
            json={"username": username, "role": role},
        )

    def assignment(
        self, cohort_id: str, coach: dict[str, str], title: str, **body: Any
    ) -> dict[str, Any]:
        due = (datetime.now(UTC) + timedelta(days=5)).isoformat()
        payload = {"title": title, "due_at": due, "rubric_id": EXEC_RUBRIC, **body}
        return dict(self.call("POST", f"/cohorts/{cohort_id}/assignments", coach, json=payload))

    def submit(self, assignment_id: str, writer: dict[str, str], text: str) -> str:
        data = self.call(
            "POST",
            f"/assignments/{assignment_id}/submissions",
            writer,
            json={"text_content": text},
        )
        evaluation_id = str(data["evaluation_id"])
        self.wait(evaluation_id, writer)
        return evaluation_id

    def wait(self, evaluation_id: str, headers: dict[str, str]) -> None:
        deadline = time.monotonic() + 30
        while True:
            status = self.call("GET", f"/evaluations/{evaluation_id}/status", headers)
            if status["status"] in ("completed", "failed"):
                assert status["status"] == "completed", status
                return
            assert time.monotonic() < deadline, status
            time.sleep(0.1)

    def review(self, evaluation_id: str, coach: dict[str, str]) -> dict[str, Any]:
        return dict(self.call("GET", f"/reviews/{evaluation_id}", coach))

    def override(
        self, evaluation_id: str, coach: dict[str, str], criterion_id: str, score: int, reason: str
    ) -> dict[str, Any]:
        return dict(
            self.call(
                "PUT",
                f"/reviews/{evaluation_id}/scores/{criterion_id}",
                coach,
                json={"score": score, "reason": reason},
            )
        )

    def release(self, evaluation_id: str, coach: dict[str, str]) -> dict[str, Any]:
        return dict(self.call("POST", f"/reviews/{evaluation_id}/release", coach))


def real_errors(errors: list[str]) -> list[str]:
    # The browser logs every 4xx it fetched (a signed-out /auth/verify, a refusal a
    # test provokes on purpose); script errors are what count.
    return [e for e in errors if "Failed to load resource" not in e]


def other_score(ai: int, low: int = 1, high: int = 5) -> int:
    """A level of the scale that differs from the AI's."""
    return ai - 1 if ai > low else ai + 1


def signed_in(
    browser: Browser,
    stack: Stack,
    username: str,
    route: str = "",
    spanish: bool = False,
    **context: Any,
) -> App:
    """A new browser tab signed in as `username` (the header's Sign in dialog),
    then switched to Spanish with the footer's language switch if asked."""
    app = new_app(browser, stack, **context)
    password = ADMIN_PASSWORD if username == ADMIN_USERNAME else USER_PASSWORD
    app.sign_in(username, password)
    if spanish:
        app.page.get_by_role("button", name="Español").click()
        app.page.wait_for_selector("html[lang='es'][data-ready='true']")
        expect(app.page.locator("#session-indicator")).to_have_attribute("data-state", "user")
    if route:
        app.page.goto(f"{stack.web_url}/{route}")
    return app


def open_tab(page: Page, tab: str) -> None:
    """Click a tab, through the menu when the tabs are folded into it."""
    toggle = page.locator(".menu-toggle")
    if toggle.is_visible():
        toggle.click()
    page.locator(f"#tab-{tab}").click()
    expect(page.locator(f"#panel-{tab}")).to_be_visible()


# Select `passage` in the memo as a reader's drag would (the text may run across
# highlights; their number badges are not part of the text), then let go.
_SELECT = """(memo, passage) => {
  const nodes = [];
  const walker = document.createTreeWalker(memo, NodeFilter.SHOW_TEXT);
  let text = "";
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest(".hl-num")) continue;
    nodes.push({ node, at: text.length });
    text += node.data;
  }
  const start = text.indexOf(passage);
  if (start < 0) throw new Error("passage not in the memo: " + passage);
  const end = start + passage.length;
  const point = (index, isEnd) => {
    const hit = nodes.findLast((n) => (isEnd ? n.at < index : n.at <= index));
    return [hit.node, index - hit.at];
  };
  const range = document.createRange();
  range.setStart(...point(start, false));
  range.setEnd(...point(end, true));
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  memo.dispatchEvent(new MouseEvent("mouseup", { bubbles: true }));
}"""


def select_passage(page: Page, passage: str) -> None:
    page.locator("#panel-cohorts [data-view='review'] [data-slot='memo']").evaluate(
        _SELECT, passage
    )
