// A line diff and its side-by-side view. The edit comes from the `diff` npm
// package (Myers' algorithm: the shortest edit, so the unchanged lines are a
// longest common subsequence), loaded on demand. Comparing is capped: past
// MAX_LINES or MAX_BYTES on either side, or MAX_EDITS changes, the view says
// the files are too large to compare and offers both for download instead of
// freezing the page. Without the package (no npm) it offers the downloads too.

import { el } from "../core/dom.js";
import { number, plural, t } from "../core/i18n.js";

export const MAX_LINES = 5000;
export const MAX_BYTES = 512 * 1024;
export const MAX_EDITS = 2000;

let library = null;

function loadLibrary() {
  library ??= import("../../vendor/diff.js").catch(() => null);
  return library;
}

/** Split text into lines; a final newline does not make an extra empty line. */
export function splitLines(text) {
  if (!text) return [];
  const lines = text.split(/\r\n|\n|\r/);
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** Whether two texts are past the size the page compares. */
export function tooLarge(before, after) {
  const bytes = (text) => new TextEncoder().encode(text).length;
  return [before, after].some((text) => splitLines(text).length > MAX_LINES || bytes(text) > MAX_BYTES);
}

/**
 * The edit from `before` to `after` (arrays of lines) as operations in order:
 * {type: "same" | "del" | "add", text, oldLine, newLine} (1-based; null on the side it lacks).
 * Null when it needs more than `maxEdits` changes, or the diff package is missing.
 */
export async function lineDiff(before, after, { maxEdits = MAX_EDITS } = {}) {
  const lib = await loadLibrary();
  if (!lib) return null;
  const changes = lib.diffArrays(before, after, { maxEditLength: maxEdits });
  if (!changes) return null;
  const ops = [];
  let oldLine = 1;
  let newLine = 1;
  for (const change of changes) {
    for (const text of change.value) {
      if (change.added) ops.push({ type: "add", text, oldLine: null, newLine: newLine++ });
      else if (change.removed) ops.push({ type: "del", text, oldLine: oldLine++, newLine: null });
      else ops.push({ type: "same", text, oldLine: oldLine++, newLine: newLine++ });
    }
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
  if (s.removed) parts.push(plural("diff.removedSummary", s.removed, { lines: ranges(s.removedLines) }));
  if (s.added) parts.push(plural("diff.addedSummary", s.added, { lines: ranges(s.addedLines) }));
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

let downloads = []; // object URLs of the last "too large" view, released on the next one

/** Instead of a table: why there is none, and both texts to download. */
function downloadsView(message, before, after, { oldLabel, newLabel, oldName, newName }) {
  for (const url of downloads) URL.revokeObjectURL(url);
  const link = (text, label, name) => {
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
    downloads.push(url);
    return el("a", { class: "btn btn-small", href: url, download: name }, t("diff.download", { version: label }));
  };
  downloads = [];
  return el(
    "div",
    { class: "diff diff-unavailable" },
    el("p", { class: "diff-summary" }, message),
    el("p", { class: "diff-downloads" }, link(before, oldLabel, oldName), " ", link(after, newLabel, newName)),
  );
}

/**
 * A side-by-side diff: a summary paragraph and a table (old left, new right).
 * Long unchanged stretches are folded to `context` lines around each change.
 * Past the size caps (or without the diff package): a message and both texts
 * to download, named `oldName` and `newName`.
 */
export async function renderDiff(before, after, { context = 3, oldLabel, newLabel, oldName = "before.txt", newName = "after.txt" } = {}) {
  const labels = { oldLabel: oldLabel ?? t("diff.before"), newLabel: newLabel ?? t("diff.after"), oldName, newName };
  if (tooLarge(before, after)) {
    const limit = { lines: number(MAX_LINES), size: number(MAX_BYTES / 1024, { style: "unit", unit: "kilobyte" }) };
    return downloadsView(t("diff.tooLarge", limit), before, after, labels);
  }
  if (!(await loadLibrary())) return downloadsView(t("diff.unavailable"), before, after, labels);
  const ops = await lineDiff(splitLines(before), splitLines(after));
  if (!ops) return downloadsView(plural("diff.tooManyChanges", MAX_EDITS), before, after, labels);
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
    body.append(el("tr", { class: "diff-fold" }, el("td", { colspan: "4" }, plural("diff.folded", folded))));
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
        el("th", { scope: "col" }, labels.oldLabel),
        el("th", { scope: "col", class: "diff-num" }, t("diff.line")),
        el("th", { scope: "col" }, labels.newLabel),
      ),
    ),
    body,
  );
  return el("div", { class: "diff" }, summary, el("div", { class: "diff-scroll", tabindex: "0", role: "region", "aria-label": t("diff.caption") }, table));
}
