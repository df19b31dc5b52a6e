// Overall feedback: the score, each criterion with its justification, strengths,
// opportunities and what to do next.

import { get } from "../core/api.js";
import { clear, el, slot } from "../core/dom.js";
import { dateTime, duration, number, plural, t } from "../core/i18n.js";
import { errorMessage } from "../core/messages.js";
import { navigate } from "../core/router.js";
import {
  criteriaOf, formatScore, level, levelLabel, markOffline, markReview, rubricOf, scaleOf, showResult,
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
  markReview(ready, evaluation);

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

  const version = evaluation.version_number ?? 1;
  const badge = slot(ready, "version");
  badge.hidden = version < 2;
  badge.textContent = t("revision.badge", { version: number(version) });
  pdfLink(evaluation);
  showRevision(evaluation);
}

// ---------------------------------------------------------------- revisions

const comparisons = new Map(); // evaluation id -> GET /evaluations/{id}/comparison

function signed(value, digits = 0) {
  return number(value, { signDisplay: "exceptZero", maximumFractionDigits: digits || 2, minimumFractionDigits: digits });
}

/** The change as arrow, number and words, so it never depends on colour alone. */
function deltaCell(entry) {
  const direction = entry.direction;
  const arrow = { up: "\u2191", down: "\u2193", same: "=" }[direction] ?? "";
  const words = {
    up: () => t("revision.up", { delta: number(Math.abs(entry.delta), { maximumFractionDigits: 2 }) }),
    down: () => t("revision.down", { delta: number(Math.abs(entry.delta), { maximumFractionDigits: 2 }) }),
    same: () => t("revision.same"),
    new: () => t("revision.new"),
    removed: () => t("revision.removed"),
  }[direction]();
  return el(
    "td",
    { class: "num delta", "data-direction": direction },
    arrow ? el("span", { class: "delta-arrow", "aria-hidden": "true" }, arrow) : null,
    entry.delta ? el("span", { class: "delta-value", "aria-hidden": "true" }, signed(entry.delta)) : null,
    el("span", { class: direction === "up" || direction === "down" ? "visually-hidden" : "delta-words" }, words),
  );
}

function scoreCell(value) {
  return el("td", { class: "num" }, value === null || value === undefined ? "\u2014" : number(value, { maximumFractionDigits: 2 }));
}

function overallEntry(overall) {
  const delta = overall.delta;
  const direction = delta === null ? "same" : delta > 0 ? "up" : delta < 0 ? "down" : "same";
  return { previous: overall.previous, current: overall.current, delta, direction };
}

function diffBlock(op) {
  // Insertions and deletions are <ins>/<del> with a written label: not colour alone.
  const parts = [];
  if (op.op === "delete" || op.op === "replace") {
    parts.push(el("del", { class: "diff-del" }, el("span", { class: "diff-label" }, `${t("revision.deleted")}: `), op.old));
  }
  if (op.op === "insert" || op.op === "replace") {
    parts.push(el("ins", { class: "diff-ins" }, el("span", { class: "diff-label" }, `${t("revision.added")}: `), op.new));
  }
  return el("div", { class: `diff-op diff-${op.op}` }, parts);
}

function renderComparison(comparison) {
  const card = slot(panel, "revision");
  const before = comparison.previous_version_number;
  slot(card, "revision-title").textContent = t("revision.title", { version: number(before) });
  slot(card, "revision-before").textContent = t("revision.before", { version: number(before) });
  const rows = clear(slot(card, "deltas"));
  const overall = overallEntry(comparison.overall);
  rows.append(el("tr", { class: "delta-overall", "data-criterion": "" }, el("th", { scope: "row" }, t("revision.overall")), scoreCell(overall.previous), scoreCell(overall.current), deltaCell(overall)));
  for (const [name, entry] of Object.entries(comparison.criteria)) {
    rows.append(el("tr", { "data-criterion": name }, el("th", { scope: "row" }, name), scoreCell(entry.previous), scoreCell(entry.current), deltaCell(entry)));
  }
  slot(card, "words").textContent = `${plural("revision.wordsAdded", comparison.words_added)}, ${plural("revision.wordsRemoved", comparison.words_removed)}`;
  const diff = clear(slot(card, "diff"));
  const changed = comparison.diff.filter((op) => op.op !== "equal");
  if (!changed.length) diff.append(el("p", { class: "muted" }, t("revision.noTextChanges")));
  for (const op of comparison.diff) {
    if (op.op === "equal") {
      const count = op.old.split("\n").length;
      diff.append(el("p", { class: "diff-equal" }, plural("revision.unchanged", count)));
    } else {
      diff.append(diffBlock(op));
    }
  }
  slot(card, "questions-title").textContent = t("revision.questions", { version: number(before) });
  slot(card, "questions-count").textContent = comparison.questions.length
    ? t("revision.questionsCount", { answered: number(comparison.questions_addressed), total: number(comparison.questions.length) })
    : t("revision.noQuestions");
  const questions = clear(slot(card, "questions"));
  for (const item of comparison.questions) {
    const answered = item.status === "addressed";
    questions.append(el(
      "li",
      { class: "question-item", "data-status": item.status },
      el("span", { class: `status-chip status-${answered ? "completed" : "queued"}` }, t(answered ? "revision.answered" : "revision.open")),
      el("span", { class: "question-text" }, item.question),
    ));
  }
  slot(card, "revision-status").textContent = "";
  slot(card, "revision-body").hidden = false;
}

async function showRevision(evaluation) {
  const card = slot(panel, "revision");
  const body = slot(card, "revision-body");
  if ((evaluation.version_number ?? 1) < 2) {
    card.hidden = true;
    return;
  }
  card.hidden = false;
  const cached = comparisons.get(evaluation.id);
  if (cached) {
    renderComparison(cached);
    return;
  }
  body.hidden = true;
  slot(card, "revision-title").textContent = t("revision.title", { version: number(evaluation.version_number - 1) });
  slot(card, "revision-status").textContent = t("revision.loading");
  try {
    const { data } = await get(`/evaluations/${encodeURIComponent(evaluation.id)}/comparison`);
    comparisons.set(evaluation.id, data);
    if (rendered === evaluation.id) renderComparison(data);
  } catch (error) {
    if (rendered !== evaluation.id) return;
    // 404: the previous version has no completed evaluation; there is nothing to compare.
    if (error.status === 404) card.hidden = true;
    else slot(card, "revision-status").textContent = `${t("revision.error")} ${errorMessage(error)}`;
  }
}

// ---------------------------------------------------------------- PDF

function pdfHref(id) {
  return `${state.boot.api}/export/pdf/${encodeURIComponent(id)}`;
}

function pdfLink(evaluation) {
  const link = panel.querySelector("[data-action='pdf']");
  link.setAttribute("href", pdfHref(evaluation.id));
  link.setAttribute("download", `memo-evaluation-${evaluation.id.slice(0, 8)}.pdf`);
  slot(panel, "pdf-error").hidden = true;
}

/** Fetch the report first, so the button can show it is busy and say why it failed. */
async function downloadPdf(event) {
  const link = event.currentTarget;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  if (link.getAttribute("aria-busy") === "true") return;
  const error = slot(panel, "pdf-error");
  error.hidden = true;
  link.setAttribute("aria-busy", "true");
  link.classList.add("is-busy");
  const label = link.querySelector("span");
  label.textContent = t("pdf.busy");
  try {
    const response = await fetch(link.href, { credentials: "same-origin" });
    if (!response.ok) {
      const payload = await response.json().catch(() => null);
      const first = payload?.errors?.[0];
      throw Object.assign(new Error(first?.message ?? response.statusText), {
        status: response.status,
        message: first?.message ?? response.statusText,
        retryAfter: Number(response.headers.get("Retry-After")) || null,
      });
    }
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const save = el("a", { href: url, download: link.getAttribute("download"), hidden: true });
    document.body.append(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (failure) {
    error.textContent = t("pdf.error", { reason: failure.status ? errorMessage(failure) : t("error.network") });
    error.hidden = false;
  } finally {
    link.removeAttribute("aria-busy");
    link.classList.remove("is-busy");
    label.textContent = t("action.pdf");
  }
}

function showFeatures(config) {
  // Chat and PDF buttons appear only once the API says this build serves them.
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
  panel.querySelector("[data-action='chat']").addEventListener("click", () => {
    if (rendered) navigate("coach", rendered);
  });
  panel.querySelector("[data-action='pdf']").addEventListener("click", downloadPdf);
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
