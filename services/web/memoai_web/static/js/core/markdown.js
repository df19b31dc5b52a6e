// Model text as Markdown: marked parses it, DOMPurify keeps a short list of
// elements and attributes, and the result goes in as nodes. A reply is the
// model's text and the model repeats what it is sent, so it is untrusted: raw
// HTML in it is shown as text (never parsed), links may only go to http(s) or
// mailto and open with rel="noopener noreferrer", and images become links.
//
// The libraries load on demand: inlined in the bundle, or as modules from
// {static}/vendor/ when the page runs unbundled. Without them (no npm) the
// text is shown as plain paragraphs, with **bold** as the offline coach writes it.

import { el } from "./dom.js";

const TAGS = ["p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "h3", "h4", "h5", "h6", "a", "hr", "table", "thead", "tbody", "tr", "th", "td"];
const ATTRIBUTES = ["href", "title", "start"];
const SAFE_URL = /^(?:https?:|mailto:)/i;

let render; // undefined: not loaded yet; null: unavailable; else text -> DocumentFragment
let loading = null;
const waiting = new Map(); // node -> text shown plain until the libraries arrive

const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function renderer(marked, DOMPurify) {
  const parser = new marked.Marked({
    gfm: true,
    breaks: true, // a model's single line breaks are meant, as in the plain-text view
    renderer: {
      // Raw HTML is shown, not parsed: "<img onerror=…>" reads as those characters.
      html: ({ text }) => escapeHtml(text),
      // Headings sit inside a message under the tab's own h1 and h2.
      heading({ tokens, depth }) {
        const level = Math.min(6, depth + 2);
        return `<h${level}>${this.parser.parseInline(tokens)}</h${level}>\n`;
      },
      // No third-party image loads from a reply: its link instead.
      image: ({ href, text }) => `<a href="${escapeHtml(href ?? "")}">${escapeHtml(text || href || "")}</a>`,
    },
  });
  const purify = DOMPurify(window);
  purify.addHook("afterSanitizeAttributes", (node) => {
    if (node.nodeName !== "A") return;
    if (!SAFE_URL.test(node.getAttribute("href") ?? "")) node.removeAttribute("href");
    if (node.hasAttribute("href")) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
  });
  const options = {
    ALLOWED_TAGS: TAGS,
    ALLOWED_ATTR: ATTRIBUTES,
    ALLOW_DATA_ATTR: false,
    ALLOWED_URI_REGEXP: SAFE_URL,
    RETURN_DOM_FRAGMENT: true,
  };
  return (text) => purify.sanitize(parser.parse(text), options);
}

/** Start loading the libraries (once); resolves when rendering is ready or known unavailable. */
export function loadMarkdown() {
  loading ??= Promise.all([import("../../vendor/marked.js"), import("../../vendor/purify.js")])
    .then(([marked, purify]) => renderer(marked, purify.default))
    .catch(() => null)
    .then((ready) => {
      render = ready;
      for (const [node, text] of waiting) if (node.isConnected) showMarkdown(node, text);
      waiting.clear();
    });
  return loading;
}

/** The plain view: paragraphs, and **bold** as <strong>; nothing else is interpreted. */
export function showPlain(node, text) {
  node.replaceChildren();
  for (const paragraph of text.split(/\n{2,}/)) {
    const p = el("p");
    paragraph.split(/\*\*(.+?)\*\*/g).forEach((part, index) => {
      p.append(index % 2 ? el("strong", {}, part) : document.createTextNode(part));
    });
    node.append(p);
  }
}

/** Show `text` in `node` as sanitised Markdown (plain until the libraries have loaded). */
export function showMarkdown(node, text) {
  if (render) {
    node.replaceChildren(render(text));
    node.dataset.format = "markdown";
    return;
  }
  showPlain(node, text);
  node.dataset.format = "plain";
  if (render === undefined) {
    waiting.set(node, text);
    loadMarkdown();
  }
}
