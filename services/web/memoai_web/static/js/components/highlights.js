// The memo with its commented passages highlighted, for the coach's review
// screen and a writer's reviewed feedback. Built on the same placement as
// Detailed feedback (core/segments.js: code-point offsets checked against the
// quote) and the same marks (mark.hl, numbered, Enter/Space or a click picks
// one); unlike Detailed feedback, passages may overlap - a coach's comment on a
// few words inside one of the AI's sentences - so the text is cut at every
// passage's start and end and each piece is marked with every comment over it.
// It also maps a selection in the memo back to offsets in the memo's own text.

import { clear, el } from "../core/dom.js";
import { number } from "../core/i18n.js";
import { codePointIndex, layerSegments } from "../core/segments.js";

/**
 * Draw `text` into `container` with `comments` ([{segment, start, end, source}],
 * code-point offsets) highlighted. Returns {order, marks}: `order` lists the
 * placed comments' indices in text order (their numbers are positions + 1), and
 * `marks` maps a comment index to its marks.
 */
export function renderHighlights(container, text, comments) {
  clear(container);
  const { places, runs } = layerSegments(text, comments);
  const order = places
    .map((place, index) => ({ place, index }))
    .filter((item) => item.place)
    .sort((a, b) => a.place.start - b.place.start || a.place.end - b.place.end || a.index - b.index)
    .map((item) => item.index);
  const numbers = new Map(order.map((index, position) => [index, position + 1]));
  const marks = new Map();
  for (const run of runs) {
    if (!run.covers.length) {
      container.append(run.text);
      continue;
    }
    const sources = new Set(run.covers.map((index) => comments[index].source ?? "ai"));
    const mark = el("mark", {
      class: `hl${sources.has("coach") ? " hl-coach" : ""}`,
      tabindex: "0",
      role: "button",
      "aria-pressed": "false",
      "data-covers": run.covers.join(" "),
    }, run.text);
    // A comment's number follows its passage, as in Detailed feedback.
    for (const index of run.covers) {
      if (places[index].end === run.start + run.text.length) {
        const coach = comments[index].source === "coach";
        mark.append(el("span", { class: `hl-num${coach ? " hl-num-coach" : ""}`, "aria-hidden": "true" }, number(numbers.get(index))));
      }
      if (!marks.has(index)) marks.set(index, []);
      marks.get(index).push(mark);
    }
    container.append(mark);
  }
  return { order, marks, numbers };
}

/** The comment a mark stands for: of those covering it, the shortest passage (the most specific). */
export function commentOfMark(mark, comments) {
  const covers = (mark.dataset.covers ?? "").split(" ").filter(Boolean).map(Number);
  let best = null;
  for (const index of covers) {
    const length = (comments[index].end ?? 0) - (comments[index].start ?? 0);
    if (best === null || length < best.length) best = { index, length };
  }
  return best?.index ?? null;
}

/** Mark the comment's passage as the one picked (aria-pressed), and no other. */
export function pressMarks(container, marks, index) {
  for (const mark of container.querySelectorAll("mark.hl[aria-pressed='true']")) mark.setAttribute("aria-pressed", "false");
  for (const mark of marks.get(index) ?? []) mark.setAttribute("aria-pressed", "true");
}

/** The UTF-16 index in the memo's text of a DOM position inside `container` (numbers left out). */
function textIndex(container, node, offset) {
  const range = document.createRange();
  range.setStart(container, 0);
  range.setEnd(node, offset);
  const copy = range.cloneContents();
  for (const badge of copy.querySelectorAll(".hl-num")) badge.remove();
  return copy.textContent.length;
}

/**
 * The current selection inside `container` as the API wants it: {start, end}
 * in code points and the exact `segment`, with surrounding white space left
 * out (a double-click also takes the space after a word); null when nothing in
 * the memo is selected.
 */
export function selectionIn(container, text) {
  const selection = window.getSelection();
  if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
  const range = selection.getRangeAt(0);
  if (!container.contains(range.startContainer) || !container.contains(range.endContainer)) return null;
  let start = textIndex(container, range.startContainer, range.startOffset);
  let end = textIndex(container, range.endContainer, range.endOffset);
  if (start > end) [start, end] = [end, start];
  while (start < end && /\s/.test(text[start])) start += 1;
  while (end > start && /\s/.test(text[end - 1])) end -= 1;
  // Never cut an emoji (a surrogate pair) in half.
  if (start > 0 && /[\udc00-\udfff]/.test(text[start])) start -= 1;
  if (end < text.length && /[\udc00-\udfff]/.test(text[end])) end += 1;
  if (start >= end) return null;
  return {
    start: codePointIndex(text, start),
    end: codePointIndex(text, end),
    segment: text.slice(start, end),
  };
}

/** The first place `quote` appears in `text`, as code-point offsets; null if it does not. */
export function findQuote(text, quote) {
  const at = quote ? text.indexOf(quote) : -1;
  if (at < 0) return null;
  return { start: codePointIndex(text, at), end: codePointIndex(text, at + quote.length), segment: quote };
}
