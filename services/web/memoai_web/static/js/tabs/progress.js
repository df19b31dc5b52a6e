// Progress: charts of the scores over time (GET /progress) and this session's
// evaluations.

import { get } from "../core/api.js";
import { barChart, lineChart } from "../core/charts.js";
import { clear, el, showError, showState, slot } from "../core/dom.js";
import { dateTime, number, plural, t } from "../core/i18n.js";
import { errorMessage } from "../core/messages.js";
import { formatScore } from "../core/results.js";
import { on, state } from "../core/store.js";

let container;
let loading = null;
let charts;
let range = "all";
let chartsStale = true;
let chartsRequest = 0;

// ---------------------------------------------------------------- charts

const score = (value) => number(value, { maximumFractionDigits: 2 });
const day = (value) => new Intl.DateTimeFormat(state.boot.lang, { dateStyle: "medium" }).format(new Date(value));

function glance(data) {
  const list = clear(slot(charts, "glance"));
  const items = [
    ["progressTab.strongest", data.strongest_criteria.join(", ") || "\u2014", "strongest"],
    ["progressTab.weakest", data.weakest_criteria.join(", ") || "\u2014", "weakest"],
    ["progressTab.average", data.average_overall === null ? "\u2014" : score(data.average_overall), "average"],
    ["progressTab.best", data.best_overall === null ? "\u2014" : score(data.best_overall), "best"],
  ];
  if (data.overall_change !== null) {
    items.push(["progressTab.change", number(data.overall_change, { maximumFractionDigits: 2, signDisplay: "exceptZero" }), "change"]);
  }
  for (const [key, value, name] of items) {
    list.append(el("div", { class: "glance-item", "data-glance": name }, el("dt", {}, t(key)), el("dd", {}, value)));
  }
}

function renderCharts(data) {
  const { min, max } = data.scale;
  // SVG text scales with the chart: a narrow screen gets the compact drawing, whose labels stay legible.
  const compact = window.matchMedia("(max-width: 759px)").matches;
  glance(data);
  const overall = data.overall_trends.map((p) => ({ label: day(p.completed_at), value: p.overall_score, text: score(p.overall_score) }));
  slot(charts, "overall-chart").replaceChildren(lineChart({
    name: "overall",
    title: t("chart.overallTitle"),
    summary: plural("chart.overallSummary", overall.length, { first: overall[0].text, last: overall[overall.length - 1].text }),
    points: overall,
    min,
    max,
    columns: [t("chart.date"), t("chart.score")],
    small: compact,
  }));
  const multiples = clear(slot(charts, "criteria-charts"));
  Object.entries(data.rubric_improvements).forEach(([name, trend], index) => {
    const points = trend.points.map((p) => ({ label: day(p.completed_at), value: p.score, text: score(p.score) }));
    multiples.append(lineChart({
      name: `criterion-${index}`,
      title: name,
      summary: plural("chart.criterionSummary", points.length, { criterion: name, first: score(trend.first), last: score(trend.latest) }),
      points,
      min,
      max,
      columns: [t("chart.date"), t("chart.score")],
      series: index,
      small: true,
    }));
    multiples.lastElementChild.dataset.criterion = name;
  });
  const weekly = data.frequency_unit === "week";
  const bars = data.submission_frequency.map((b) => ({
    label: weekly ? t("chart.weekOf", { date: day(b.period_start) }) : day(b.period_start),
    value: b.count,
    text: number(b.count),
  }));
  const total = bars.reduce((sum, b) => sum + b.value, 0);
  slot(charts, "frequency-chart").replaceChildren(barChart({
    name: "frequency",
    title: `${t("chart.frequencyTitle")} · ${t(weekly ? "chart.perWeek" : "chart.perDay")}`,
    summary: plural("chart.frequencySummary", total, { max: number(Math.max(0, ...bars.map((b) => b.value))) }),
    bars,
    columns: [t("chart.date"), t("chart.count")],
    small: compact,
  }));
}

async function refreshCharts() {
  const request = ++chartsRequest;
  chartsStale = false;
  const states = charts.querySelector(".chart-states");
  showState(states, "loading");
  try {
    const { data } = await get(`/progress?range=${encodeURIComponent(range)}`);
    if (request !== chartsRequest) return; // a newer range was picked meanwhile
    if (!data.overall_trends.length) {
      showState(states, "empty");
      return;
    }
    renderCharts(data);
    showState(states, "ready");
  } catch (error) {
    if (request !== chartsRequest) return;
    chartsStale = true;
    showError(states, errorMessage(error), () => refreshCharts());
  }
}

function pickRange(value) {
  range = value;
  for (const button of charts.querySelectorAll("[data-range]")) {
    button.setAttribute("aria-pressed", String(button.dataset.range === value));
  }
  refreshCharts();
}

function item(entry) {
  const done = entry.status === "completed";
  const title = entry.title || t("progressTab.untitled");
  const score = done && entry.overall_score !== null
    ? el("span", { class: "history-score" }, formatScore(entry.overall_score))
    : el("span", { class: `status-chip status-${entry.status}` }, t(`status.${entry.status}`));
  const label = el(
    "span",
    { class: "history-main" },
    el("span", { class: "history-title" }, title),
    el(
      "span",
      { class: "history-meta" },
      [dateTime(entry.created_at), t("progressTab.version", { n: number(entry.version_number) })].join(" · "),
    ),
  );
  const body = done ? el("a", { class: "history-link", href: `#/overall/${entry.id}` }, label, score) : el("div", { class: "history-link" }, label, score);
  return el("li", {}, body);
}

async function refresh() {
  showState(container, "loading");
  try {
    const { data } = await get("/evaluations?limit=50");
    state.historyStale = false;
    const list = clear(slot(container, "history"));
    for (const entry of data.items) list.append(item(entry));
    showState(container, data.items.length ? "ready" : "empty");
  } catch (error) {
    showError(container, errorMessage(error), () => refresh());
  }
}

export function init() {
  container = document.querySelector("#panel-progress .history-states");
  charts = document.getElementById("charts");
  for (const button of charts.querySelectorAll("[data-range]")) {
    button.addEventListener("click", () => pickRange(button.dataset.range));
  }
  on("result", () => { chartsStale = true; });
  on("config", (config) => {
    charts.hidden = config.features?.progress === false;
  });
}

export function show() {
  if (chartsStale && !charts.hidden) refreshCharts();
  // Loaded once, and again only after a new evaluation finished.
  if (state.historyStale && !loading) loading = refresh().finally(() => { loading = null; });
}
