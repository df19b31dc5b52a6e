"""The whole journey in a real browser: open, write, submit, watch the progress
bar, read the overall feedback, select a highlighted passage, read the rubric."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import App, one_decimal, unique
from tests.fakes.anthropic_server import FakeAnthropic

pytestmark = pytest.mark.e2e

# Emoji (two UTF-16 units each) and accents before and inside the quoted
# sentences: highlights must land on the same characters the API counted.
MEMO = (
    "TO: Executive Team 🏥\nSUBJECT: Remote monitoring for heart failure — décision 😀\n\n"
    "Recommendation 👉 we request $1.2M to extend remote monitoring to 600 patients by July.\n"
    "Our pilot at the Clínica Señora de Fátima cut readmissions by 38% in six months 📉.\n"
    "Payback is under eleven months, and the risks of adoption have clear mitigations.\n"
)

PROGRESS_RECORDER = """
() => {
  window.__progress = [];
  const bar = document.getElementById('progress-bar');
  const card = document.getElementById('progress-card');
  const record = () => window.__progress.push({
    visible: !card.hidden,
    value: Number(bar.getAttribute('aria-valuenow')),
    label: document.getElementById('progress-label').textContent,
    eta: document.getElementById('progress-eta').textContent,
  });
  new MutationObserver(record).observe(
    card, {attributes: true, subtree: true, childList: true, characterData: true});
}
"""


def test_full_journey_from_writing_to_inline_comments_and_the_rubric(
    claude_app: App, fake: FakeAnthropic
) -> None:
    fake.state.latency = 1.5  # slow enough to watch the progress bar move
    app = claude_app
    page = app.page
    app.open()

    # Write is the default tab, its text area has the focus and counts characters.
    expect(page.locator("#tab-write")).to_have_attribute("aria-current", "page")
    expect(page.locator("#memo-text")).to_be_focused()
    expect(page.locator("#submit-btn")).to_be_disabled()
    memo = unique(MEMO)
    page.locator("#memo-text").fill(memo)
    code_points = len(memo)
    expect(page.locator("#char-count")).to_contain_text(f"{code_points:,} / 10,000")

    # Submit: a real progress bar with an estimate, then the automatic move to Overall.
    page.evaluate(PROGRESS_RECORDER)
    page.click("#submit-btn")
    expect(page.locator("#progress-card")).to_be_visible()
    expect(page.locator("#progress-bar")).to_have_attribute("role", "progressbar")
    evaluation_id = app.wait_for_result()
    seen = page.evaluate("window.__progress")
    assert any(s["visible"] and 0 < s["value"] < 100 for s in seen), seen
    assert any(s["eta"] for s in seen if s["visible"]), seen  # an estimate of the time left
    assert any(s["label"] == "Reading your memo…" for s in seen), seen

    # Overall: the score, one bar per criterion with its justification, lists.
    result = app.evaluation(evaluation_id)
    overall = app.view("overall", "ready")
    expect(page.locator("#tab-overall")).to_have_attribute("aria-current", "page")
    expect(overall.locator("[data-slot='score']")).to_have_text(
        one_decimal(result["overall_score"])
    )
    criteria = overall.locator(".criterion")
    expect(criteria).to_have_count(len(result["rubric_scores"]))
    for name, entry in result["rubric_scores"].items():
        item = criteria.filter(has=page.get_by_role("heading", name=name, exact=True))
        expect(item.locator(".criterion-score strong")).to_have_text(str(entry["score"]))
        expect(item.locator(".justification")).to_have_text(entry["justification"])
    expect(overall.locator("[data-slot='strengths'] li")).to_have_count(len(result["strengths"]))
    expect(overall.locator("[data-slot='opportunities'] li")).to_have_count(
        len(result["opportunities"])
    )
    expect(overall.locator("[data-slot='offline']")).to_be_hidden()  # scored by the model

    # Detailed: every commented segment highlighted on exactly its characters.
    page.click("#tab-detailed")
    detailed = app.view("detailed", "ready")
    marks = detailed.locator("mark.hl")
    segments = result["segment_feedback"]
    assert len(segments) >= 3
    expect(marks).to_have_count(len(segments))
    shown = marks.evaluate_all(
        "ms => ms.map(m => m.firstChild.textContent)"  # the passage, without its number badge
    )
    assert shown == [s["segment"] for s in sorted(segments, key=lambda s: s["start"])]
    assert any(ord(ch) > 0xFFFF for ch in memo[: segments[0]["start"]])  # emoji came first

    # Click a highlight: its comment and questions appear beside the text.
    second = sorted(segments, key=lambda s: s["start"])[1]
    marks.nth(1).click()
    card = page.locator("#comment-card")
    expect(marks.nth(1)).to_have_attribute("aria-pressed", "true")
    expect(card.locator("[data-slot='quote']")).to_have_text(second["segment"])
    expect(card.locator("[data-slot='comment']")).to_have_text(second["comment"])
    expect(card.locator("[data-slot='questions'] li")).to_have_text(second["questions"])
    expect(card.locator("[data-slot='position']")).to_have_text(f"2 of {len(segments)}")
    box_text = marks.nth(1).bounding_box()
    box_card = card.bounding_box()
    assert box_text and box_card and box_card["x"] > box_text["x"]  # beside, on a wide screen

    # The keyboard works too: focus the first highlight, Enter selects it.
    marks.nth(0).focus()
    page.keyboard.press("Enter")
    expect(card.locator("[data-slot='quote']")).to_have_text(
        sorted(segments, key=lambda s: s["start"])[0]["segment"]
    )
    page.click("#comment-card [data-nav='next']")
    expect(card.locator("[data-slot='position']")).to_have_text(f"2 of {len(segments)}")

    # Help: the rubric and frameworks from the live configuration.
    page.click("#tab-help")
    config = app.public_config()
    rubric = config["rubric"]
    help_panel = app.panel("help")
    expect(help_panel.locator("[data-slot='rubric-name']")).to_have_text(rubric["name"])
    readers = config["context"]["audience"]
    expect(help_panel.locator("[data-slot='who']")).to_have_text(readers["description"])
    expect(help_panel.locator("[data-slot='priorities'] li")).to_have_text(readers["priorities"])
    blocks = help_panel.locator(".rubric-criterion")
    expect(blocks).to_have_count(len(rubric["criteria"]))
    for block, criterion in zip(blocks.all(), rubric["criteria"], strict=True):
        expect(block.locator(".rubric-criterion-name")).to_have_text(criterion["name"])
        expect(block.locator(".weight")).to_have_text(f"{criterion['weight']:g}% of score")
        expect(block.locator(".level-text").first).to_have_text(
            criterion["scoring_guidance"][str(rubric["scale"]["max"])]
        )
    expect(help_panel.locator(".framework h3")).to_have_text(
        [f["name"] for f in config["frameworks"]]
    )

    assert app.errors == []  # no script error and no CSP violation on the way
    assert len(fake.requests_for(memo[-30:])) == 1


def test_deep_link_reopens_a_result_in_a_new_tab(offline_app: App) -> None:
    app = offline_app.open()
    app.submit(
        "We request $300,000 to hire two analysts by May. The backlog costs us $80,000 a month."
    )
    evaluation_id = app.wait_for_result()

    other = app.page.context.new_page()
    other.goto(f"{app.stack.web_url}/#/detailed/{evaluation_id}")
    expect(other.locator("#tab-detailed")).to_have_attribute("aria-current", "page")
    expect(other.locator("#panel-detailed [data-state='ready'] mark.hl").first).to_be_visible()
    expect(other.locator("#panel-detailed [data-slot='memo']")).to_contain_text("two analysts")

    other.goto(f"{app.stack.web_url}/#/overall/does-not-exist")
    expect(other.locator("#panel-overall [data-state='error']")).to_be_visible()
    expect(other.locator("#panel-overall [data-state='error']")).to_contain_text("doesn't exist")
