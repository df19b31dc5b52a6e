// Overall feedback: the score, each criterion with its justification, strengths,
// opportunities and what to do next.

import { clear, el, slot } from "../core/dom.js";
import { dateTime, duration, number, t } from "../core/i18n.js";
import {
  criteriaOf, formatScore, level, levelLabel, markOffline, rubricOf, scaleOf, showResult,
} from "../core/results.js";
import { emit, on, state } from "../core/store.js";

let panel;
let rendered = null;

function metaLine(evaluation) {
  const parts = [];
  const rubric = rubricOf(evaluation);
  if (rubric?.name) parts.push(rubric.name);
  parts.push(evaluation.offline ? t("overall.byOffline") : t("overall.byModel", { model: evaluation.llm_model ?? evaluation.llm_provider ?? "" }));
  if (evaluation.processing_time) parts.push(t("overall.took", { time: duration(evaluation.processing_time) }));
  if (evaluation.completed_at) parts.push(dateTime(evaluation.completed_at));
  return parts.join(" · ");
}

function criterionItem(criterion, scale) {
  const share = (criterion.score - scale.min) / Math.max(1, scale.max - scale.min);
  const bar = el("div", { class: "bar", "aria-hidden": "true" }, el("div", { class: "bar-fill" }));
  bar.style.setProperty("--value", String(Math.max(0.04, share)));
  return el(
    "li",
    { class: "criterion", "data-level": level(criterion.score, scale) },
    el(
      "div",
      { class: "criterion-head" },
      el("h3", { class: "criterion-name" }, criterion.name),
      el("span", { class: "weight" }, t("overall.weight", { weight: number(criterion.weight) })),
      el(
        "span",
        { class: "criterion-score" },
        el("strong", {}, number(criterion.score)),
        el("span", { class: "of" }, ` / ${number(scale.max)}`),
        el("span", { class: "level" }, levelLabel(criterion.score, scale)),
      ),
    ),
    bar,
    el("p", { class: "justification" }, criterion.justification),
  );
}

function fillList(list, items, emptyKey) {
  clear(list);
  if (!items.length) {
    list.append(el("li", { class: "muted" }, t(emptyKey)));
    return;
  }
  for (const item of items) list.append(el("li", {}, item));
}

function render(evaluation) {
  if (rendered === evaluation.id) return;
  rendered = evaluation.id;
  const ready = panel.querySelector("[data-state='ready']");
  const scale = scaleOf(evaluation);
  markOffline(ready, evaluation);

  const score = evaluation.overall_score ?? scale.min;
  slot(ready, "score").textContent = formatScore(score);
  slot(ready, "max").textContent = `/ ${number(scale.max)}`;
  const dial = slot(ready, "dial");
  dial.dataset.level = level(score, scale);
  dial.style.setProperty("--value", String((score - scale.min) / Math.max(1, scale.max - scale.min)));
  dial.setAttribute("role", "img");
  dial.setAttribute("aria-label", t("overall.dialLabel", { score: formatScore(score), max: number(scale.max) }));
  slot(ready, "label").textContent = levelLabel(score, scale);
  slot(ready, "meta").textContent = metaLine(evaluation);

  const list = clear(slot(ready, "criteria"));
  for (const criterion of criteriaOf(evaluation)) list.append(criterionItem(criterion, scale));

  fillList(slot(ready, "strengths"), evaluation.strengths ?? [], "overall.noStrengths");
  fillList(slot(ready, "opportunities"), evaluation.opportunities ?? [], "overall.noOpportunities");
}

function showFeatures(config) {
  // Chat and PDF arrive with later issues; their buttons appear once the API says so.
  const features = config?.features ?? {};
  for (const button of panel.querySelectorAll("[data-feature]")) {
    button.hidden = !features[button.dataset.feature];
  }
}

export function init() {
  panel = document.getElementById("panel-overall");
  panel.querySelector("[data-action='revise']").addEventListener("click", () => {
    const evaluation = state.results.get(rendered);
    if (evaluation) emit("revise", evaluation);
  });
  on("config", (config) => {
    showFeatures(config);
    refreshLabels();
  });
}

/** Level names come with the configuration; redraw a result shown before it arrived. */
function refreshLabels() {
  if (rendered === null) return;
  const evaluation = state.results.get(rendered);
  rendered = null;
  if (evaluation) render(evaluation);
}

export function show(_ctx, param) {
  showResult(panel, "overall", param, render);
}
