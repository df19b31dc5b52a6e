// The review screen's overall feedback: the AI's strengths and opportunities,
// read-only (the writer sees them as the AI wrote them), so the coach can check
// them against the memo before releasing. Built here rather than in the
// template because it is drawn from the review each time it changes.

import { clear, el } from "../../core/dom.js";
import { t } from "../../core/i18n.js";

let strengths;
let opportunities;

function column(id, titleKey, kind) {
  const list = el("ul", { class: `bullets bullets-${kind}`, "data-slot": id });
  const node = el(
    "section",
    { class: "review-summary-col", "aria-labelledby": `review-${id}-heading` },
    el("h4", { id: `review-${id}-heading` }, t(titleKey)),
    list,
  );
  return { node, list };
}

function fill(list, items, emptyKey) {
  clear(list);
  if (!items.length) list.append(el("li", { class: "muted" }, t(emptyKey)));
  for (const item of items) list.append(el("li", {}, item));
}

/** Put the (empty) section after `anchor`, once. */
export function init(anchor) {
  const good = column("strengths", "overall.strengths", "strength");
  const better = column("opportunities", "overall.opportunities", "opportunity");
  strengths = good.list;
  opportunities = better.list;
  anchor.after(el(
    "details",
    { class: "card review-summary", id: "review-summary", open: true },
    el(
      "summary",
      {},
      el("h3", { id: "review-summary-heading" }, t("review.summary")),
      el("span", { class: "source-chip source-ai" }, t("review.ai")),
    ),
    el("p", { class: "muted pane-hint" }, t("review.summaryHint")),
    el("div", { class: "review-summary-cols" }, good.node, better.node),
  ));
}

export function render(review) {
  fill(strengths, review.strengths ?? [], "overall.noStrengths");
  fill(opportunities, review.opportunities ?? [], "overall.noOpportunities");
}
