// A writer's feedback on their submission to an assignment (GET /evaluations/{id}
// with its `review`): withheld until the coach releases it (after_review), or
// the AI's marked "awaiting coach review" (immediate), and once released the
// coach's scores, reasons and comments - each labelled coach or AI.

import { clear, el, scrollBehavior, slot } from "../../core/dom.js";
import { dateTime, number, plural, t } from "../../core/i18n.js";
import { commentOfMark, pressMarks, renderHighlights } from "../../components/highlights.js";

let card;
let comments = [];
let drawn = { order: [], marks: new Map(), numbers: new Map() };
let selected = null; // position in drawn.order

const fmt = (value) => (value === null || value === undefined ? "\u2014" : number(value, { minimumFractionDigits: 1, maximumFractionDigits: 1 }));

function notice(kind, title, body) {
  const box = slot(card, "notice");
  box.dataset.kind = kind;
  slot(box, "notice-title").textContent = title;
  slot(box, "notice-body").textContent = body;
  box.hidden = false;
}

function sourceChip(source) {
  return el("span", { class: `source-chip source-${source}` }, t(source === "coach" ? "assignments.byCoach" : "assignments.byAi"));
}

/** The criteria in the pinned rubric's order, each with its entry in `scores` (keyed by name). */
function ordered(rubric, scores) {
  const names = rubric?.criteria?.map((c) => c.name) ?? Object.keys(scores);
  return names.filter((name) => scores[name]).map((name) => ({ name, ...scores[name] }));
}

function scoreRows(rows, max) {
  const body = clear(slot(card, "scores"));
  for (const row of rows) {
    const coach = Boolean(row.coach_override);
    body.append(el(
      "tr",
      { "data-criterion": row.name, "data-source": coach ? "coach" : "ai" },
      el("th", { scope: "row" }, row.name, el("span", { class: "cell-sub" }, t("overall.weight", { weight: number(row.weight) }))),
      el(
        "td",
        { class: "num" },
        el("span", { class: "score-chip", "data-slot": "score" }, `${number(row.score)} / ${number(max)}`),
        sourceChip(coach ? "coach" : "ai"),
        coach && row.ai_score !== null && row.ai_score !== undefined
          ? el("span", { class: "cell-sub", "data-slot": "ai-score" }, t("assignments.aiWas", { score: number(row.ai_score) }))
          : null,
      ),
      el(
        "td",
        {},
        coach ? el("p", { class: "coach-reason", "data-slot": "reason" }, el("strong", {}, `${t("assignments.coachReason")} `), row.reason) : null,
        el("p", { class: coach ? "muted ai-note" : "ai-note" }, coach ? el("strong", {}, `${t("assignments.aiAssessment")} `) : null, row.justification),
      ),
    ));
  }
}

function overall(entries) {
  const list = clear(slot(card, "overall"));
  for (const [key, value, name] of entries) {
    list.append(el("div", { "data-overall": name }, el("dt", {}, t(key)), el("dd", {}, value)));
  }
}

function select(position, from) {
  if (position < 0 || position >= drawn.order.length) return;
  selected = position;
  const index = drawn.order[position];
  const comment = comments[index];
  const box = document.getElementById("writer-comment-card");
  pressMarks(slot(card, "memo"), drawn.marks, index);
  slot(box, "hint").hidden = true;
  slot(box, "comment-body").hidden = false;
  slot(box, "position").textContent = t("detailed.position", { n: number(position + 1), total: number(drawn.order.length) });
  slot(box, "source").replaceChildren(sourceChip(comment.source ?? "ai"));
  slot(box, "quote").textContent = comment.segment;
  slot(box, "comment").textContent = comment.comment;
  const questions = clear(slot(box, "questions"));
  for (const question of comment.questions ?? []) questions.append(el("li", {}, question));
  slot(box, "questions-wrap").hidden = !(comment.questions ?? []).length;
  const prev = box.querySelector("[data-nav='prev']");
  const next = box.querySelector("[data-nav='next']");
  prev.disabled = position === 0;
  next.disabled = position === drawn.order.length - 1;
  if (document.activeElement === prev && prev.disabled) next.focus();
  if (document.activeElement === next && next.disabled) prev.focus();
  const stacked = window.matchMedia("(max-width: 899px)").matches;
  if (from === "nav" && !stacked) drawn.marks.get(index)?.[0]?.scrollIntoView({ block: "nearest", behavior: scrollBehavior() });
  if (from === "mark" && stacked) box.scrollIntoView({ block: "nearest", behavior: scrollBehavior() });
}

function memo(text, list) {
  comments = list;
  drawn = renderHighlights(slot(card, "memo"), text, comments);
  selected = null;
  slot(card, "comment-count").textContent = plural("detailed.count", drawn.order.length);
  const box = document.getElementById("writer-comment-card");
  slot(box, "hint").hidden = false;
  slot(box, "comment-body").hidden = true;
  slot(box, "position").textContent = "";
  box.querySelector("[data-nav='prev']").disabled = true;
  box.querySelector("[data-nav='next']").disabled = drawn.order.length === 0;
}

/** Draw the feedback on `evaluation` (null: nothing submitted yet). */
export function renderFeedback(evaluation, assignment, progress = null) {
  card.hidden = !evaluation && !progress;
  slot(card, "evaluating").hidden = !progress;
  slot(card, "body").hidden = true;
  slot(card, "notice").hidden = true;
  if (progress) {
    notice("pending", t("assignments.evaluatingTitle"), t("assignments.evaluatingBody"));
    slot(card, "progress-label").textContent = t(`progress.${progress.status === "queued" ? "queued" : "processing"}`);
    const bar = document.getElementById("writer-progress");
    const pct = Math.max(0, Math.min(100, Math.round(progress.progress_percentage ?? 0)));
    bar.setAttribute("aria-valuenow", String(pct));
    bar.style.setProperty("--value", String(pct / 100));
    return;
  }
  if (!evaluation) return;
  slot(card, "version").textContent = t("assignments.version", { n: number(evaluation.version_number ?? 1) });
  if (evaluation.status === "failed") {
    notice("failed", t("assignments.failedTitle"), t("assignments.failedBody"));
    return;
  }
  const review = evaluation.review;
  const scale = evaluation.rubric?.scale ?? assignment.rubric.scale;
  if (review?.status === "released") {
    notice("released", t("assignments.releasedTitle"), t("assignments.releasedBody", { date: dateTime(review.released_at) }));
    overall([
      ["assignments.overall", `${fmt(review.overall_score)} / ${number(scale.max)}`, "final"],
      ["assignments.aiOverall", fmt(review.ai_overall_score), "ai"],
    ]);
    scoreRows(ordered(assignment.rubric, review.rubric_scores), scale.max);
    memo(evaluation.text_content ?? "", review.comments);
    slot(card, "body").hidden = false;
    return;
  }
  if (evaluation.overall_score === null || evaluation.overall_score === undefined) {
    // after_review: nothing of the AI's feedback until the coach releases it.
    notice("withheld", t("assignments.withheldTitle"), t("assignments.withheldBody"));
    return;
  }
  notice("awaiting", t("assignments.awaitingTitle"), t("assignments.awaitingBody"));
  overall([["assignments.aiOverall", `${fmt(evaluation.overall_score)} / ${number(scale.max)}`, "ai"]]);
  scoreRows(ordered(assignment.rubric, evaluation.rubric_scores ?? {}), scale.max);
  memo(evaluation.text_content ?? "", (evaluation.segment_feedback ?? []).map((c) => ({ ...c, source: "ai" })));
  slot(card, "body").hidden = false;
}

export function init() {
  card = document.getElementById("writer-feedback");
  const memoNode = slot(card, "memo");
  const pickMark = (mark) => {
    const index = commentOfMark(mark, comments);
    if (index !== null) select(drawn.order.indexOf(index), "mark");
  };
  memoNode.addEventListener("click", (event) => {
    const mark = event.target.closest("mark.hl");
    if (mark) pickMark(mark);
  });
  memoNode.addEventListener("keydown", (event) => {
    const mark = event.target.closest("mark.hl");
    if (mark && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      pickMark(mark);
    }
  });
  const box = document.getElementById("writer-comment-card");
  box.querySelector("[data-nav='prev']").addEventListener("click", () => select((selected ?? 1) - 1, "nav"));
  box.querySelector("[data-nav='next']").addEventListener("click", () => select((selected ?? -1) + 1, "nav"));
}
