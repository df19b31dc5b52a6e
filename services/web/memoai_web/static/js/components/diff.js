// A line diff (longest common subsequence) and its side-by-side view.
// Configuration files are a few hundred lines, so a table of LCS lengths is
// cheap; the common head and tail are trimmed first so a one-line edit costs
// almost nothing.

import { el } from "../core/dom.js";
import { number, t } from "../core/i18n.js";

/** Split text into lines; a final newline does not make an extra empty line. */
export function splitLines(text) {
  if (!text) return [];
  const lines = text.split(/\r\n|\n|\r/);
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/**
 * The edit from `before` to `after` (arrays of lines) as operations in order:
 * {type: "same" | "del" | "add", text, oldLine, newLine} (1-based; null on the side it lacks).
 */
export function lineDiff(before, after) {
  let head = 0;
  while (head < before.length && head < after.length && before[head] === after[head]) head += 1;
  let tail = 0;
  while (
    tail < before.length - head && tail < after.length - head
    && before[before.length - 1 - tail] === after[after.length - 1 - tail]
  ) tail += 1;
  const a = before.slice(head, before.length - tail);
  const b = after.slice(head, after.length - tail);
  const n = a.length;
  const m = b.length;
  // lcs[i * (m + 1) + j]: the LCS length of a[i:] and b[j:].
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      lcs[i * (m + 1) + j] = a[i] === b[j]
        ? lcs[(i + 1) * (m + 1) + j + 1] + 1
        : Math.max(lcs[(i + 1) * (m + 1) + j], lcs[i * (m + 1) + j + 1]);
    }
  }
  const ops = [];
  for (let k = 0; k < head; k += 1) ops.push({ type: "same", text: before[k], oldLine: k + 1, newLine: k + 1 });
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ type: "same", text: a[i], oldLine: head + i + 1, newLine: head + j + 1 });
      i += 1;
      j += 1;
    } else if (j < m && (i === n || lcs[i * (m + 1) + j + 1] >= lcs[(i + 1) * (m + 1) + j])) {
      ops.push({ type: "add", text: b[j], oldLine: null, newLine: head + j + 1 });
      j += 1;
    } else {
      ops.push({ type: "del", text: a[i], oldLine: head + i + 1, newLine: null });
      i += 1;
    }
  }
  for (let k = 0; k < tail; k += 1) {
    const oldLine = before.length - tail + k + 1;
    const newLine = after.length - tail + k + 1;
    ops.push({ type: "same", text: before[oldLine - 1], oldLine, newLine });
  }
  return ops;
}

/**
 * Rows for two columns: unchanged lines side by side, and each run of removed
 * lines paired with the added lines that replace it.
 */
export function sideBySide(ops) {
  const rows = [];
  let k = 0;
  while (k < ops.length) {
    if (ops[k].type === "same") {
      rows.push({ left: ops[k], right: ops[k] });
      k += 1;
      continue;
    }
    const dels = [];
    const adds = [];
    while (k < ops.length && ops[k].type !== "same") {
      (ops[k].type === "del" ? dels : adds).push(ops[k]);
      k += 1;
    }
    for (let r = 0; r < Math.max(dels.length, adds.length); r += 1) {
      rows.push({ left: dels[r] ?? null, right: adds[r] ?? null });
    }
  }
  return rows;
}

/** Counts and the changed line numbers, for the text summary. */
export function summarize(ops) {
  const added = ops.filter((op) => op.type === "add");
  const removed = ops.filter((op) => op.type === "del");
  return { added: added.length, removed: removed.length, addedLines: added.map((op) => op.newLine), removedLines: removed.map((op) => op.oldLine) };
}

function ranges(lines) {
  const parts = [];
  for (const line of lines) {
    const last = parts.at(-1);
    if (last && line === last[1] + 1) last[1] = line;
    else parts.push([line, line]);
  }
  return parts.map(([from, to]) => (from === to ? number(from) : `${number(from)}–${number(to)}`)).join(", ");
}

/** The summary sentence a screen reader hears before (or instead of) the table. */
export function summaryText(ops) {
  const s = summarize(ops);
  if (!s.added && !s.removed) return t("diff.none");
  const parts = [];
  if (s.removed) parts.push(t("diff.removedSummary", { count: number(s.removed), lines: ranges(s.removedLines) }));
  if (s.added) parts.push(t("diff.addedSummary", { count: number(s.added), lines: ranges(s.addedLines) }));
  return parts.join(" ");
}

function cell(op, side) {
  if (!op) return [el("td", { class: "diff-num" }), el("td", { class: "diff-text diff-blank" })];
  const changed = op.type !== "same";
  const kind = side === "left" ? "del" : "add";
  const line = side === "left" ? op.oldLine : op.newLine;
  return [
    el("td", { class: `diff-num${changed ? ` diff-${kind}` : ""}` }, number(line)),
    el(
      "td",
      { class: `diff-text${changed ? ` diff-${kind}` : ""}` },
      changed ? el("span", { class: "visually-hidden" }, t(kind === "add" ? "diff.added" : "diff.removed")) : null,
      changed ? el("span", { class: "diff-mark", "aria-hidden": "true" }, kind === "add" ? "+" : "−") : null,
      op.text,
    ),
  ];
}

/**
 * A side-by-side diff: a summary paragraph and a table (old left, new right).
 * Long unchanged stretches are folded to `context` lines around each change.
 */
export function renderDiff(before, after, { context = 3, oldLabel, newLabel } = {}) {
  const ops = lineDiff(splitLines(before), splitLines(after));
  const rows = sideBySide(ops);
  const near = new Set();
  rows.forEach((row, index) => {
    if (row.left?.type === "same") return;
    for (let k = index - context; k <= index + context; k += 1) near.add(k);
  });
  const body = el("tbody");
  let folded = 0;
  const flush = () => {
    if (!folded) return;
    body.append(el("tr", { class: "diff-fold" }, el("td", { colspan: "4" }, t("diff.folded", { count: number(folded) }))));
    folded = 0;
  };
  rows.forEach((row, index) => {
    if (row.left?.type === "same" && !near.has(index)) {
      folded += 1;
      return;
    }
    flush();
    body.append(el("tr", {}, cell(row.left, "left"), cell(row.right, "right")));
  });
  flush();
  const summary = el("p", { class: "diff-summary" }, summaryText(ops));
  const table = el(
    "table",
    { class: "diff-table" },
    el("caption", { class: "visually-hidden" }, t("diff.caption")),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", { scope: "col", class: "diff-num" }, t("diff.line")),
        el("th", { scope: "col" }, oldLabel ?? t("diff.before")),
        el("th", { scope: "col", class: "diff-num" }, t("diff.line")),
        el("th", { scope: "col" }, newLabel ?? t("diff.after")),
      ),
    ),
    body,
  );
  return el("div", { class: "diff" }, summary, el("div", { class: "diff-scroll", tabindex: "0", role: "region", "aria-label": t("diff.caption") }, table));
}
