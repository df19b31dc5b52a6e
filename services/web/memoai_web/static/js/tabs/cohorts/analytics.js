// The analytics of an assignment and of a cohort (GET /assignments/{id}/analytics,
// GET /cohorts/{id}/analytics): per-criterion histograms of the final scores,
// the weakest criteria, progress over successive assignments, who has not
// submitted, and how far the coaches moved the AI's scores. Every chart comes
// from core/charts.js, so each has a summary and its numbers as a table.

import { barChart, lineChart, meterChart } from "../../core/charts.js";
import { clear, el } from "../../core/dom.js";
import { date, number, plural, t } from "../../core/i18n.js";

const mean = (value) => (value === null || value === undefined ? "\u2014" : number(value, { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
const share = (value) => (value === null || value === undefined ? "\u2014" : number(value, { style: "percent", maximumFractionDigits: 1 }));
const compact = () => window.matchMedia("(max-width: 759px)").matches;

/** The scale's range, read from the histograms' bins (one per level). */
function scaleOf(criteria) {
  const levels = criteria.flatMap((c) => c.histogram.map((bin) => bin.score));
  return levels.length ? { min: Math.min(...levels), max: Math.max(...levels) } : { min: 1, max: 5 };
}

function section(titleKey, ...children) {
  return el("div", { class: "analytics-block" }, el("h4", { class: "analytics-title" }, t(titleKey)), ...children);
}

function glance(items) {
  return el("dl", { class: "glance" }, items.map(([key, value, name]) => el(
    "div",
    { class: "glance-item", "data-glance": name },
    el("dt", {}, t(key)),
    el("dd", {}, value),
  )));
}

function names(users) {
  if (!users.length) return el("p", { class: "muted", "data-slot": "all-submitted" }, t("analytics.allSubmitted"));
  return el("ul", { class: "name-list", "data-list": "not-submitted" }, users.map((user) => el("li", {}, user.username)));
}

function weakest(items) {
  if (!items.length) return el("p", { class: "muted" }, t("analytics.noScores"));
  return el("ol", { class: "weakest-list", "data-list": "weakest" }, items.map((item) => el(
    "li",
    { "data-criterion": item.criterion_id },
    el("span", { class: "weakest-name" }, item.criterion),
    el("span", { class: "weakest-mean" }, mean(item.mean)),
  )));
}

function histograms(prefix, criteria) {
  const grid = el("div", { class: "small-multiples histograms" });
  for (const criterion of criteria) {
    const bars = criterion.histogram.map((bin) => ({ label: number(bin.score), value: bin.count, text: number(bin.count) }));
    const most = criterion.histogram.reduce((best, bin) => (bin.count > (best?.count ?? 0) ? bin : best), null);
    const figure = barChart({
      name: `${prefix}-hist-${criterion.criterion_id}`,
      title: criterion.criterion,
      summary: plural("analytics.histSummary", criterion.n, {
        criterion: criterion.criterion,
        mean: mean(criterion.mean),
        mode: most ? number(most.score) : "\u2014",
      }),
      bars,
      columns: [t("analytics.score"), t("analytics.writersCol")],
      small: true,
      allLabels: true,
    });
    figure.dataset.criterion = criterion.criterion_id;
    figure.querySelector(".chart-title").append(el("span", { class: "chart-sub" }, ` · ${t("analytics.meanShort", { mean: mean(criterion.mean) })}`));
    grid.append(figure);
  }
  return grid;
}

function means(prefix, criteria, scale) {
  return meterChart({
    name: `${prefix}-means`,
    title: t("analytics.meansTitle"),
    summary: t("analytics.meansSummary", { list: criteria.map((c) => `${c.criterion} ${mean(c.mean)}`).join(", ") }),
    bars: criteria.map((c) => ({
      label: c.criterion,
      value: c.mean === null ? 0 : c.mean - scale.min,
      text: mean(c.mean),
      cells: [mean(c.mean), mean(c.ai_mean), number(c.n)],
    })),
    max: scale.max - scale.min,
    columns: [t("table.criterion"), t("analytics.finalMean"), t("analytics.aiMean"), t("analytics.n")],
  });
}

function agreement(prefix, data, scale) {
  const block = el("div", { class: "agreement" });
  if (!data.reviewed) {
    block.append(el("p", { class: "muted" }, t("analytics.noReviews")));
    return block;
  }
  block.append(el("p", { class: "agreement-summary", "data-slot": "agreement-summary" }, plural("analytics.agreementSummary", data.reviewed, {
    overridden: number(data.overridden),
    scores: number(data.criterion_scores),
    share: share(data.override_share),
    mad: mean(data.mean_absolute_difference),
  })));
  block.append(meterChart({
    name: `${prefix}-agreement`,
    title: t("analytics.madTitle"),
    summary: t("analytics.madSummary", { list: data.criteria.map((c) => `${c.criterion} ${mean(c.mean_absolute_difference)}`).join(", ") }),
    bars: data.criteria.map((c) => ({
      label: c.criterion,
      value: c.mean_absolute_difference ?? 0,
      text: mean(c.mean_absolute_difference),
      cells: [mean(c.mean_absolute_difference), number(c.overridden), number(c.n)],
    })),
    max: Math.max(1, scale.max - scale.min),
    columns: [t("table.criterion"), t("analytics.mad"), t("analytics.overridden"), t("analytics.n")],
  }));
  return block;
}

/** GET /assignments/{id}/analytics into `container`. */
export function renderAssignmentAnalytics(container, data) {
  const scale = scaleOf(data.criteria);
  clear(container).append(
    glance([
      ["analytics.submitted", t("assignment.ofWriters", { n: number(data.submitted), total: number(data.writers) }), "submitted"],
      ["analytics.reviewed", number(data.reviewed), "reviewed"],
      ["analytics.overallMean", mean(data.overall.mean), "mean"],
      ["analytics.overallAiMean", mean(data.overall.ai_mean), "ai-mean"],
      ["analytics.overrideShare", share(data.agreement.override_share), "override-share"],
    ]),
    section("analytics.notSubmitted", names(data.not_submitted)),
    section("analytics.weakest", weakest(data.weakest_criteria)),
    section("analytics.histograms", histograms("a", data.criteria)),
    section("analytics.means", means("a", data.criteria, scale)),
    section("analytics.agreement", agreement("a", data.agreement, scale)),
  );
}

function progress(data, scale) {
  const points = data.progress.cohort
    .filter((p) => p.mean !== null)
    .map((p) => ({ label: p.title, value: p.mean, text: mean(p.mean), cells: [date(p.due_at), mean(p.mean), number(p.n)] }));
  const block = el("div", { class: "progress-block" });
  if (points.length) {
    block.append(lineChart({
      name: "c-progress",
      title: t("analytics.progressTitle"),
      summary: plural("analytics.progressSummary", points.length, { first: points[0].text, last: points[points.length - 1].text }),
      points,
      min: scale.min,
      max: scale.max,
      columns: [t("analytics.assignment"), t("assignment.due"), t("analytics.finalMean"), t("analytics.n")],
      small: compact(),
    }));
  } else {
    block.append(el("p", { class: "muted" }, t("analytics.noScores")));
  }
  // Each writer over the assignments: the table a coach reads for who is improving.
  const assignments = data.assignments;
  const head = el("tr", {}, el("th", { scope: "col" }, t("queue.writer")), assignments.map((a) => el("th", { scope: "col" }, a.title)));
  const rows = data.progress.writers.map((row) => {
    const byId = new Map(row.scores.map((s) => [s.assignment_id, s.overall]));
    return el("tr", { "data-writer": row.writer.username }, el("th", { scope: "row" }, row.writer.username), assignments.map((a) => el("td", { class: "num" }, mean(byId.get(a.assignment_id) ?? null))));
  });
  block.append(el("details", { class: "chart-data" }, el("summary", {}, t("analytics.byWriter")), el(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": t("analytics.byWriter") },
    el("table", { class: "score-table chart-table", "data-table": "c-writers" }, el("thead", {}, head), el("tbody", {}, rows)),
  )));
  return block;
}

function assignmentTable(items) {
  const head = el("tr", {}, [
    "analytics.assignment", "assignment.due", "analytics.submitted", "analytics.reviewed", "analytics.finalMean", "analytics.aiMean", "analytics.notSubmitted",
  ].map((key) => el("th", { scope: "col" }, t(key))));
  const rows = items.map((a) => el(
    "tr",
    { "data-assignment": a.assignment_id },
    el("th", { scope: "row" }, el("a", { href: `#/cohorts/assignment/${encodeURIComponent(a.assignment_id)}` }, a.title)),
    el("td", { class: "num" }, date(a.due_at)),
    el("td", { class: "num" }, number(a.submitted)),
    el("td", { class: "num" }, number(a.reviewed)),
    el("td", { class: "num" }, mean(a.mean)),
    el("td", { class: "num" }, mean(a.ai_mean)),
    el("td", {}, a.not_submitted.length ? a.not_submitted.map((u) => u.username).join(", ") : "\u2014"),
  ));
  return el(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": t("analytics.perAssignment") },
    el("table", { class: "data-table", "data-table": "c-assignments" }, el("thead", {}, head), el("tbody", {}, rows)),
  );
}

/** GET /cohorts/{id}/analytics into `container`. */
export function renderCohortAnalytics(container, data) {
  const scale = scaleOf(data.criteria);
  clear(container).append(
    glance([
      ["analytics.writers", number(data.writers), "writers"],
      ["analytics.assignments", number(data.assignments.length), "assignments"],
      ["analytics.reviewed", number(data.agreement.reviewed), "reviewed"],
      ["analytics.overrideShare", share(data.agreement.override_share), "override-share"],
    ]),
    section("analytics.progress", progress(data, scale)),
    section("analytics.perAssignment", assignmentTable(data.assignments)),
    section("analytics.weakest", weakest(data.weakest_criteria)),
    section("analytics.histograms", histograms("c", data.criteria)),
    section("analytics.agreement", agreement("c", data.agreement, scale)),
  );
}
