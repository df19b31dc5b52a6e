// Small hand-written SVG charts, built with DOM APIs (never markup strings).
// Each chart is a <figure>: a caption, the SVG (its drawing is one role="img"
// with a summary), keyboard-focusable points whose tooltip shows the value,
// and the same data as a table behind a disclosure, for screen readers and
// anyone who prefers numbers.

import { el } from "./dom.js";
import { t } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function svgText(x, y, text, attrs = {}) {
  const node = svg("text", { x, y, ...attrs });
  node.textContent = text;
  return node;
}

/** A tooltip for the figure: shown while a point is hovered or focused, hidden with Escape. */
function tooltip(figure) {
  const tip = el("div", { class: "chart-tip", "aria-hidden": "true", hidden: true });
  figure.append(tip);
  return (node, text, box) => {
    const showTip = () => {
      tip.textContent = text;
      tip.hidden = false;
      const frame = box.getBoundingClientRect();
      const spot = node.getBoundingClientRect();
      const fig = figure.getBoundingClientRect();
      tip.style.setProperty("left", `${spot.left + spot.width / 2 - fig.left}px`);
      tip.style.setProperty("top", `${Math.max(0, spot.top - fig.top) - 6}px`);
      tip.dataset.edge = spot.left - frame.left > frame.width * 0.7 ? "end" : spot.left - frame.left < frame.width * 0.3 ? "start" : "middle";
    };
    const hideTip = () => { tip.hidden = true; };
    node.addEventListener("mouseenter", showTip);
    node.addEventListener("focus", showTip);
    node.addEventListener("mouseleave", hideTip);
    node.addEventListener("blur", hideTip);
    node.addEventListener("keydown", (event) => {
      if (event.key === "Escape") hideTip();
    });
  };
}

function dataTable(columns, rows, name) {
  const table = el(
    "table",
    // More than two columns stay a table on a phone (scrolling in its box), headings and all.
    { class: `score-table chart-table${columns.length > 2 ? " wide-table" : ""}`, "data-table": name },
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col" }, c)))),
    el("tbody", {}, rows.map(([head, ...cells]) => el("tr", {}, el("th", { scope: "row" }, head), cells.map((c) => el("td", { class: "num" }, c))))),
  );
  return el("details", { class: "chart-data" }, el("summary", {}, t("chart.showTable")), el("div", { class: "table-wrap" }, table));
}

/**
 * A line chart of `points` ([{label, value, text}]) on a fixed scale.
 * `name` marks the figure for tests and styles; `series` picks its colour.
 */
export function lineChart({ name, title, summary, points, min, max, columns, series = 0, small = false }) {
  const width = small ? 320 : 640;
  const height = small ? 150 : 220;
  const pad = { left: 34, right: 16, top: 14, bottom: 26 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const x = (i) => pad.left + (points.length === 1 ? innerW / 2 : (innerW * i) / (points.length - 1));
  const y = (v) => pad.top + innerH - (innerH * (v - min)) / Math.max(1, max - min);

  const figure = el("figure", { class: `chart${small ? " chart-small" : ""}`, "data-chart": name });
  const headingId = `chart-${name}-title`.replace(/[^\w-]/g, "-");
  figure.append(el("figcaption", { class: "chart-title", id: headingId }, title));
  const drawing = svg("g", { role: "img", "aria-label": summary });
  for (let v = min; v <= max; v += 1) {
    drawing.append(svg("line", { class: "chart-grid", x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }));
    drawing.append(svgText(pad.left - 8, y(v) + 4, String(v), { class: "chart-axis", "text-anchor": "end" }));
  }
  if (points.length) {
    drawing.append(svgText(x(0), height - 6, points[0].label, { class: "chart-axis", "text-anchor": points.length === 1 ? "middle" : "start" }));
    if (points.length > 1) drawing.append(svgText(x(points.length - 1), height - 6, points[points.length - 1].label, { class: "chart-axis", "text-anchor": "end" }));
    const path = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
    drawing.append(svg("path", { class: `chart-line series-${series % 6}`, d: path }));
  }
  const box = svg("svg", { class: "chart-svg", viewBox: `0 0 ${width} ${height}`, role: "group", "aria-labelledby": headingId });
  box.append(drawing);
  const marks = svg("g", { class: "chart-points" });
  box.append(marks);
  figure.append(box);
  const attach = tooltip(figure);
  points.forEach((p, i) => {
    const dot = svg("circle", {
      class: `chart-point series-${series % 6}`,
      cx: x(i).toFixed(1),
      cy: y(p.value).toFixed(1),
      r: small ? 4.5 : 5.5,
      tabindex: 0,
      role: "img",
      "aria-label": t("chart.point", { date: p.label, value: p.text }),
      "data-value": p.value,
    });
    marks.append(dot);
    attach(dot, t("chart.point", { date: p.label, value: p.text }), box);
  });
  return withTextAlternative(figure, { name, summary, columns, items: points });
}

/**
 * A bar chart of counts ([{label, value, text}]). `allLabels` names every bar
 * under the axis (a histogram's few bins), else only the first and the last.
 */
export function barChart({ name, title, summary, bars, columns, small = false, allLabels = false }) {
  const width = small ? 320 : 640;
  const height = small ? 140 : 160;
  const pad = { left: 30, right: 12, top: 12, bottom: 26 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const top = Math.max(1, ...bars.map((b) => b.value));
  const slotW = innerW / Math.max(1, bars.length);
  const barW = Math.max(2, Math.min(36, slotW * 0.7));

  const figure = el("figure", { class: "chart", "data-chart": name });
  const headingId = `chart-${name}-title`.replace(/[^\w-]/g, "-");
  figure.append(el("figcaption", { class: "chart-title", id: headingId }, title));
  const drawing = svg("g", { role: "img", "aria-label": summary });
  for (const v of [0, top]) {
    const yy = pad.top + innerH - (innerH * v) / top;
    drawing.append(svg("line", { class: "chart-grid", x1: pad.left, x2: width - pad.right, y1: yy, y2: yy }));
    drawing.append(svgText(pad.left - 6, yy + 4, String(v), { class: "chart-axis", "text-anchor": "end" }));
  }
  if (allLabels) {
    bars.forEach((b, i) => {
      drawing.append(svgText((pad.left + slotW * i + slotW / 2).toFixed(1), height - 6, b.label, { class: "chart-axis", "text-anchor": "middle" }));
    });
  } else if (bars.length) {
    drawing.append(svgText(pad.left, height - 6, bars[0].label, { class: "chart-axis", "text-anchor": "start" }));
    if (bars.length > 1) drawing.append(svgText(width - pad.right, height - 6, bars[bars.length - 1].label, { class: "chart-axis", "text-anchor": "end" }));
  }
  const box = svg("svg", { class: "chart-svg", viewBox: `0 0 ${width} ${height}`, role: "group", "aria-labelledby": headingId });
  box.append(drawing);
  const marks = svg("g", { class: "chart-bars" });
  box.append(marks);
  figure.append(box);
  const attach = tooltip(figure);
  bars.forEach((b, i) => {
    const h = Math.max(b.value ? 3 : 1, (innerH * b.value) / top);
    const bar = svg("rect", {
      class: "chart-bar",
      x: (pad.left + slotW * i + (slotW - barW) / 2).toFixed(1),
      y: (pad.top + innerH - h).toFixed(1),
      width: barW.toFixed(1),
      height: h.toFixed(1),
      rx: 2,
      tabindex: 0,
      role: "img",
      "aria-label": t("chart.point", { date: b.label, value: b.text }),
      "data-value": b.value,
    });
    marks.append(bar);
    attach(bar, t("chart.point", { date: b.label, value: b.text }), box);
  });
  return withTextAlternative(figure, { name, summary, columns, items: bars });
}

/**
 * Horizontal bars for named values ([{label, value, text}]) on 0..`max`: one
 * row per item, its name, bar and value as text, so long names wrap on a phone.
 * The drawing is one role="img" with the summary; the table repeats the numbers.
 */
export function meterChart({ name, title, summary, bars, max, columns }) {
  const figure = el("figure", { class: "chart meter-chart", "data-chart": name });
  figure.append(el("figcaption", { class: "chart-title" }, title));
  const list = el("div", { class: "meters", role: "img", "aria-label": summary });
  for (const bar of bars) {
    const fill = el("span", { class: "meter-fill" });
    fill.style.setProperty("--value", String(max > 0 ? Math.max(0, Math.min(1, (bar.value ?? 0) / max)) : 0));
    list.append(el(
      "div",
      { class: "meter-row", "data-value": bar.value ?? "" },
      el("span", { class: "meter-label" }, bar.label),
      el("span", { class: "meter-track" }, fill),
      el("span", { class: "meter-value" }, bar.text),
    ));
  }
  figure.append(list);
  return withTextAlternative(figure, { name, summary, columns, items: bars });
}

/**
 * A chart's summary sentence and its data as a table, for screen readers and
 * readers of numbers. An item's `cells` fill several columns; else its `text`.
 */
function withTextAlternative(figure, { name, summary, columns, items }) {
  figure.append(el("p", { class: "visually-hidden" }, summary));
  figure.append(dataTable(columns, items.map((item) => [item.label, ...(item.cells ?? [item.text])]), name));
  return figure;
}
