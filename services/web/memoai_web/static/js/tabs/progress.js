// Progress: this session's evaluations. The coaching issue adds charts above.

import { get } from "../core/api.js";
import { clear, el, showError, showState, slot } from "../core/dom.js";
import { dateTime, number, t } from "../core/i18n.js";
import { errorMessage } from "../core/messages.js";
import { formatScore } from "../core/results.js";
import { state } from "../core/store.js";

let container;
let loading = null;

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
}

export function show() {
  // Loaded once, and again only after a new evaluation finished.
  if (state.historyStale && !loading) loading = refresh().finally(() => { loading = null; });
}
