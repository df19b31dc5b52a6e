// Detailed feedback: the memo with its commented passages highlighted. Selecting
// a highlight (click, Enter or Space) shows its comment and questions beside the
// text, or below it on narrow screens.

import { clear, el, scrollBehavior, slot } from "../core/dom.js";
import { number, plural, t } from "../core/i18n.js";
import {
  criteriaOf, level, levelLabel, markOffline, markReview, scaleOf, showResult,
} from "../core/results.js";
import { placeSegments, splitText } from "../core/segments.js";
import { on, state } from "../core/store.js";

let panel;
let ready;
let rendered = null;
let segments = [];
let marks = new Map(); // segment index -> its <mark>
let selected = null;

function renderMemo(evaluation) {
  const memo = clear(slot(ready, "memo"));
  const text = evaluation.text_content ?? "";
  segments = evaluation.segment_feedback ?? [];
  marks = new Map();
  const ranges = placeSegments(text, segments);
  const order = new Map(ranges.map((range, position) => [range.index, position + 1]));
  for (const run of splitText(text, ranges)) {
    if (run.index === null) {
      memo.append(run.text);
      continue;
    }
    const mark = el(
      "mark",
      {
        class: "hl",
        tabindex: "0",
        role: "button",
        "aria-pressed": "false",
        "aria-controls": "comment-card",
        "data-index": run.index,
      },
      run.text,
      el("span", { class: "hl-num", "aria-hidden": "true" }, number(order.get(run.index))),
    );
    marks.set(run.index, mark);
    memo.append(mark);
  }
  // Comments are read in text order; a passage that could not be placed comes last.
  segments = segments.map((segment, index) => ({ ...segment, index }));
  segments.sort((a, b) => (order.get(a.index) ?? Infinity) - (order.get(b.index) ?? Infinity));
  slot(ready, "count").textContent = plural("detailed.count", segments.length);
  renderPrintList();
  slot(ready, "none").hidden = segments.length > 0;
  document.getElementById("comment-card").hidden = segments.length === 0;
}

/** Every comment in text order, numbered as the highlights are: what a printout shows. */
function renderPrintList() {
  const list = clear(slot(ready, "print-comments"));
  for (const segment of segments) {
    const questions = segment.questions ?? [];
    list.append(el(
      "li",
      {},
      el("blockquote", { class: "comment-quote" }, segment.segment),
      el("p", { class: "comment-text" }, segment.comment),
      questions.length ? el("ul", { class: "questions" }, questions.map((q) => el("li", {}, q))) : null,
    ));
  }
}

function select(position, from) {
  if (position < 0 || position >= segments.length) return;
  const segment = segments[position];
  if (selected !== null) {
    const previous = marks.get(segments[selected]?.index);
    previous?.setAttribute("aria-pressed", "false");
  }
  selected = position;
  const mark = marks.get(segment.index);
  mark?.setAttribute("aria-pressed", "true");

  const card = document.getElementById("comment-card");
  slot(card, "hint").hidden = true;
  slot(card, "body").hidden = false;
  slot(card, "position").textContent = t("detailed.position", {
    n: number(position + 1), total: number(segments.length),
  });
  slot(card, "quote").textContent = segment.segment;
  slot(card, "comment").textContent = segment.comment;
  const questions = clear(slot(card, "questions"));
  for (const question of segment.questions ?? []) questions.append(el("li", {}, question));
  slot(card, "questions-wrap").hidden = !(segment.questions ?? []).length;
  const prev = card.querySelector("[data-nav='prev']");
  const next = card.querySelector("[data-nav='next']");
  prev.disabled = position === 0;
  next.disabled = position === segments.length - 1;
  // A button that just became disabled would drop keyboard focus to the page.
  if (document.activeElement === prev && prev.disabled) next.focus();
  if (document.activeElement === next && next.disabled) prev.focus();

  // Side by side, keep the passage in view; stacked (narrow), keep the comment in view.
  const stacked = window.matchMedia("(max-width: 899px)").matches;
  if (from === "nav" && !stacked) mark?.scrollIntoView({ block: "nearest", behavior: scrollBehavior() });
  if (from === "mark" && stacked) card.scrollIntoView({ block: "nearest", behavior: scrollBehavior() });
}

function positionOf(mark) {
  const index = Number(mark.dataset.index);
  return segments.findIndex((segment) => segment.index === index);
}

function renderBreakdown(evaluation) {
  const scale = scaleOf(evaluation);
  const body = clear(slot(ready, "breakdown"));
  for (const criterion of criteriaOf(evaluation)) {
    body.append(
      el(
        "tr",
        { "data-level": level(criterion.score, scale) },
        el("th", { scope: "row" }, criterion.name),
        el("td", { class: "num" }, `${number(criterion.weight)}%`),
        el(
          "td",
          { class: "num" },
          el("span", { class: "score-chip" }, `${number(criterion.score)} / ${number(scale.max)}`),
          el("span", { class: "level" }, levelLabel(criterion.score, scale)),
        ),
        el("td", {}, criterion.justification),
      ),
    );
  }
}

function render(evaluation) {
  if (rendered === evaluation.id) return;
  rendered = evaluation.id;
  selected = null;
  markOffline(ready, evaluation);
  markReview(ready, evaluation);
  renderMemo(evaluation);
  renderBreakdown(evaluation);
  const card = document.getElementById("comment-card");
  slot(card, "hint").hidden = false;
  slot(card, "body").hidden = true;
  slot(card, "position").textContent = "";
  card.querySelector("[data-nav='prev']").disabled = true;
  card.querySelector("[data-nav='next']").disabled = segments.length === 0;
}

export function init() {
  panel = document.getElementById("panel-detailed");
  ready = panel.querySelector("[data-state='ready']");
  const memo = slot(ready, "memo");
  memo.addEventListener("click", (event) => {
    const mark = event.target.closest("mark.hl");
    if (mark) select(positionOf(mark), "mark");
  });
  memo.addEventListener("keydown", (event) => {
    const mark = event.target.closest("mark.hl");
    if (!mark) return;
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      select(positionOf(mark), "mark");
    }
  });
  const card = document.getElementById("comment-card");
  card.querySelector("[data-nav='prev']").addEventListener("click", () => select((selected ?? 1) - 1, "nav"));
  card.querySelector("[data-nav='next']").addEventListener("click", () => select((selected ?? -1) + 1, "nav"));
  // Level names come with the configuration; redraw a table drawn before it arrived.
  on("config", () => {
    const evaluation = state.results.get(rendered);
    if (evaluation) renderBreakdown(evaluation);
  });
}

export function show(_ctx, param) {
  showResult(panel, "detailed", param, render);
}

