// The review screen's scores: for each criterion of the pinned rubric, the
// AI's score beside the coach's (a level of the scale, with a required reason
// the writer will read), and a way back to the AI's score.

import { request } from "../../core/api.js";
import { clear, el, slot } from "../../core/dom.js";
import { dateTime, number, t } from "../../core/i18n.js";
import { errorMessage } from "../../core/messages.js";
import { enc, problem, refusal } from "./shared.js";

let list;
let onReview = () => {};
let review = null;
const drafts = new Map(); // criterion id -> {score, reason}: typed, not saved yet (kept across re-renders)

const idFor = (prefix, criterionId) => `${prefix}-${criterionId}`.replace(/[^\w-]/g, "-");

function levelName(value) {
  return review.rubric.scale.labels?.[String(value)] ?? "";
}

function option(value, selected) {
  const name = levelName(value);
  return el("option", { value: String(value), selected: value === selected }, name ? `${number(value)} \u00b7 ${name}` : number(value));
}

function row(entry) {
  const { min, max } = review.rubric.scale;
  const draft = drafts.get(entry.criterion_id);
  const chosen = draft ? draft.score : entry.final_score ?? entry.ai_score ?? min;
  const scoreId = idFor("coach-score", entry.criterion_id);
  const reasonId = idFor("coach-reason", entry.criterion_id);
  const select = el("select", { class: "input input-small", id: scoreId, name: "score" });
  for (let value = min; value <= max; value += 1) select.append(option(value, chosen));
  const reason = el("textarea", { class: "input", id: reasonId, name: "reason", rows: "2", maxlength: "1000" });
  reason.value = draft ? draft.reason : entry.reason ?? "";
  const changed = entry.overridden && entry.final_score !== entry.ai_score;
  // The reason and Save appear once the coach picks another score (or has overridden it).
  const editing = entry.overridden || Boolean(draft);
  return el(
    "li",
    {
      class: "score-row",
      "data-criterion": entry.criterion_id,
      "data-overridden": String(entry.overridden),
      "data-level-changed": String(changed),
    },
    el(
      "div",
      { class: "score-row-head" },
      el("h4", { class: "score-row-name" }, entry.criterion),
      el("span", { class: "weight" }, t("overall.weight", { weight: number(entry.weight) })),
    ),
    el(
      "form",
      { class: "score-form", novalidate: true, "data-criterion": entry.criterion_id },
      el(
        "div",
        { class: "score-pair" },
        el(
          "p",
          { class: "ai-score" },
          el("span", { class: "source-chip source-ai" }, t("review.ai")),
          el("span", { class: "ai-value", "data-slot": "ai-score" }, entry.ai_score === null ? "\u2014" : number(entry.ai_score)),
          el("span", { class: "muted" }, levelName(entry.ai_score)),
        ),
        el(
          "div",
          { class: "coach-score" },
          el("label", { class: "label", for: scoreId }, t("review.coachScore"), el("span", { class: "visually-hidden" }, ` · ${entry.criterion}`)),
          select,
        ),
      ),
      el(
        "div",
        { class: "score-edit", "data-slot": "edit", hidden: !editing },
        el("label", { class: "label", for: reasonId }, t("review.reason"), el("span", { class: "visually-hidden" }, ` · ${entry.criterion}`)),
        reason,
        el("p", { class: "field-error", role: "alert", hidden: true, "data-slot": "error" }),
        el(
          "div",
          { class: "form-actions score-actions" },
          el("button", { type: "submit", class: "btn btn-small btn-primary", "data-action": "save" }, t("review.saveScore")),
          entry.overridden ? el("button", { type: "button", class: "btn btn-small", "data-action": "revert" }, t("review.revert", { score: number(entry.ai_score) })) : null,
        ),
      ),
    ),
    entry.overridden
      ? el("p", { class: "override-meta", "data-slot": "override-meta" }, el("span", { class: "source-chip source-coach" }, t("review.coach")), t("review.overriddenBy", { name: entry.overridden_by ?? "", date: dateTime(entry.overridden_at) }))
      : null,
    el("details", { class: "ai-justification" }, el("summary", {}, t("review.aiJustification")), el("p", {}, entry.justification)),
  );
}

export function render(value) {
  review = value;
  clear(list);
  for (const entry of review.scores) list.append(row(entry));
}

/** Forget typed edits (another submission is opened). */
export function reset() {
  drafts.clear();
}

async function save(form) {
  const id = form.dataset.criterion;
  const score = Number(form.elements.score.value);
  const reason = form.elements.reason.value.trim();
  const errorBox = slot(form, "error");
  if (!reason) {
    problem(errorBox, t("review.reasonMissing"));
    form.elements.reason.setAttribute("aria-invalid", "true");
    form.elements.reason.focus();
    return;
  }
  form.setAttribute("aria-busy", "true");
  try {
    const { data } = await request("PUT", `/reviews/${enc(review.evaluation_id)}/scores/${enc(id)}`, { body: { score, reason } });
    drafts.delete(id);
    onReview(data, { announce: t("review.scoreSaved", { criterion: data.scores.find((s) => s.criterion_id === id)?.criterion ?? id, score: number(score) }), focus: `#${idFor("coach-score", id)}` });
  } catch (error) {
    form.removeAttribute("aria-busy");
    problem(errorBox, refusal(error, errorMessage));
  }
}

async function revert(form) {
  const id = form.dataset.criterion;
  form.setAttribute("aria-busy", "true");
  try {
    const { data } = await request("DELETE", `/reviews/${enc(review.evaluation_id)}/scores/${enc(id)}`);
    drafts.delete(id);
    onReview(data, { announce: t("review.reverted"), focus: `#${idFor("coach-score", id)}` });
  } catch (error) {
    form.removeAttribute("aria-busy");
    problem(slot(form, "error"), refusal(error, errorMessage));
  }
}

export function init(container, changed) {
  list = container;
  onReview = changed;
  list.addEventListener("submit", (event) => {
    event.preventDefault();
    save(event.target);
  });
  list.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action='revert']");
    if (button) revert(button.form);
  });
  list.addEventListener("input", (event) => {
    const form = event.target.form;
    if (!form?.dataset.criterion) return;
    drafts.set(form.dataset.criterion, { score: Number(form.elements.score.value), reason: form.elements.reason.value });
    slot(form, "edit").hidden = false;
    if (event.target.name === "reason") event.target.removeAttribute("aria-invalid");
    problem(slot(form, "error"), null);
  });
}
