// A small YAML editor: a plain <textarea> (so typing, undo, selection and
// assistive technology behave as they always do) laid exactly over a <pre>
// that shows the same text coloured, with a line-number gutter beside both.
// The three share one scroll container, so they cannot drift apart. Tokens are
// built as spans with textContent: nothing is ever parsed as HTML.

import { clear, el } from "../core/dom.js";

const KEY = /^(\s*)(-\s+)?((?:"[^"]*"|'[^']*'|[^\s#'"{[\]][^:#]*?))(\s*:)(?=\s|$)/;
const SCALAR = /^(true|false|yes|no|on|off|null|~)$/i;
const NUMBER = /^[-+]?(\d[\d_]*(\.\d*)?([eE][-+]?\d+)?|\.\d+|0x[\da-fA-F]+|\.inf|\.nan)$/;

/** Where a comment starts (a # at the line start or after a space, outside quotes), or -1. */
function commentStart(line) {
  let quote = null;
  for (let i = 0; i < line.length; i += 1) {
    const ch = line[i];
    if (quote) {
      if (ch === "\\" && quote === '"') i += 1;
      else if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === "#" && (i === 0 || /\s/.test(line[i - 1]))) {
      return i;
    }
  }
  return -1;
}

function valueTokens(text) {
  const tokens = [];
  const lead = text.match(/^\s*/)[0];
  if (lead) tokens.push({ type: null, text: lead });
  const rest = text.slice(lead.length);
  if (!rest) return tokens;
  const trimmed = rest.trimEnd();
  const trail = rest.slice(trimmed.length);
  let type = null;
  if (/^["']/.test(trimmed)) type = "string";
  else if (/^[|>][-+]?\d*$/.test(trimmed)) type = "block";
  else if (/^[&*!]/.test(trimmed)) type = "anchor";
  else if (NUMBER.test(trimmed)) type = "number";
  else if (SCALAR.test(trimmed)) type = "bool";
  else if (/^[[{]/.test(trimmed)) type = "flow";
  else type = "plain";
  tokens.push({ type, text: trimmed });
  if (trail) tokens.push({ type: null, text: trail });
  return tokens;
}

/**
 * One line as tokens [{type, text}]; type is null for plain spacing or one of
 * key, punct, dash, string, number, bool, block, anchor, flow, plain, comment,
 * doc. Concatenating the texts gives the line back exactly.
 */
export function tokenizeLine(line) {
  if (/^(---|\.\.\.)\s*$/.test(line)) return [{ type: "doc", text: line }];
  const hash = commentStart(line);
  const code = hash >= 0 ? line.slice(0, hash) : line;
  const comment = hash >= 0 ? line.slice(hash) : "";
  const tokens = [];
  const key = code.match(KEY);
  let rest = code;
  if (key) {
    const [whole, indent, dash, name, colon] = key;
    if (indent) tokens.push({ type: null, text: indent });
    if (dash) tokens.push({ type: "dash", text: dash });
    tokens.push({ type: "key", text: name }, { type: "punct", text: colon });
    rest = code.slice(whole.length);
  } else {
    const item = code.match(/^(\s*)(-)(\s+|$)/);
    if (item) {
      if (item[1]) tokens.push({ type: null, text: item[1] });
      tokens.push({ type: "dash", text: item[2] + item[3] });
      rest = code.slice(item[0].length);
    }
  }
  tokens.push(...valueTokens(rest));
  if (comment) tokens.push({ type: "comment", text: comment });
  return tokens.filter((token) => token.text !== "");
}

/** The editor: `root` gets the gutter, the coloured layer and the textarea. */
export class YamlEditor {
  constructor(root, { label, onInput } = {}) {
    this.root = root;
    this.onInput = onInput;
    this.marked = new Map(); // line -> message
    this.gutter = el("div", { class: "code-gutter", "aria-hidden": "true" });
    this.layer = el("pre", { class: "code-layer", "aria-hidden": "true" });
    this.input = el("textarea", {
      class: "code-input",
      spellcheck: "false",
      autocapitalize: "off",
      autocomplete: "off",
      wrap: "off",
      "aria-label": label,
    });
    this.scroller = el("div", { class: "code-scroll" }, this.gutter, el("div", { class: "code-stack" }, this.layer, this.input));
    clear(root).append(this.scroller);
    this.pending = false;
    this.input.addEventListener("input", () => {
      this.schedule();
      this.onInput?.(this.input.value);
    });
  }

  get value() {
    return this.input.value;
  }

  set value(text) {
    this.input.value = text;
    this.input.setSelectionRange(0, 0);
    this.scroller.scrollTop = 0;
    this.scroller.scrollLeft = 0;
    this.render();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.render();
    });
  }

  /** Mark lines with problems (a Map or iterable of [line, message]); the gutter shows them. */
  mark(lines) {
    this.marked = new Map(lines);
    this.render();
  }

  renderGutter(count) {
    const rows = [];
    for (let n = 1; n <= count; n += 1) {
      const message = this.marked.get(n);
      rows.push(el("span", { class: message ? "code-num has-problem" : "code-num", title: message ?? null }, String(n)));
    }
    this.gutter.replaceChildren(...rows);
  }

  render() {
    const lines = this.input.value.split("\n");
    const fragment = document.createDocumentFragment();
    lines.forEach((line, index) => {
      const row = el("span", { class: this.marked.has(index + 1) ? "code-line has-problem" : "code-line" });
      for (const token of tokenizeLine(line)) {
        row.append(token.type ? el("span", { class: `tok-${token.type}` }, token.text) : document.createTextNode(token.text));
      }
      fragment.append(row, "\n");
    });
    // A trailing space keeps the last (possibly empty) line as tall as the textarea's.
    fragment.append(" ");
    this.layer.replaceChildren(fragment);
    this.renderGutter(lines.length);
  }

  /** Put the caret at the start of `line` (1-based), scroll it into view and focus the editor. */
  goToLine(line) {
    const lines = this.input.value.split("\n");
    const target = Math.min(Math.max(1, line), lines.length);
    let offset = 0;
    for (let k = 0; k < target - 1; k += 1) offset += lines[k].length + 1;
    this.input.focus({ preventScroll: true });
    this.input.setSelectionRange(offset, offset + lines[target - 1].length);
    const lineHeight = parseFloat(getComputedStyle(this.input).lineHeight) || 20;
    this.scroller.scrollTop = Math.max(0, (target - 3) * lineHeight);
    this.scroller.scrollLeft = 0;
  }

  /** The 1-based line the caret is on. */
  caretLine() {
    return this.input.value.slice(0, this.input.selectionStart).split("\n").length;
  }
}
