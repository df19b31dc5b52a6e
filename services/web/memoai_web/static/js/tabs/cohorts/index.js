// The coach area (coaches and admins). One view at a time, picked by the
// address: #/cohorts (the cohorts), #/cohorts/cohort/<id> (members, assignments,
// the cohort's analytics), #/cohorts/assignment/<id> (its submissions and
// analytics), #/cohorts/queue[/<assignment id>] (the review queue) and
// #/cohorts/review/<evaluation id> (the review screen). Each view is a module.

import { get } from "../../core/api.js";
import { clear, el, slot } from "../../core/dom.js";
import { number, t } from "../../core/i18n.js";
import { on, state } from "../../core/store.js";
import * as assignment from "./assignment.js";
import * as cohort from "./cohort.js";
import * as list from "./list.js";
import * as queue from "./queue.js";
import * as review from "./review.js";
import { $ } from "./shared.js";

const VIEWS = { list, cohort, assignment, queue, review };
let panel;
let current = null;

function parse(param) {
  const [view = "", id = null] = (param ?? "").split("/");
  if (view === "queue") return { view: "queue", id };
  if (VIEWS[view] && view !== "list" && id) return { view, id };
  return { view: "list", id: null };
}

/** The trail above a view: [label, href] pairs, the last one the page itself. */
export function crumbs(items) {
  const nav = $("cohort-crumbs");
  const listNode = clear(slot(nav, "crumbs"));
  nav.hidden = items.length === 0;
  items.forEach(([label, href], index) => {
    const last = index === items.length - 1;
    listNode.append(el("li", {}, last ? el("span", { "aria-current": "page" }, label) : el("a", { href }, label)));
  });
}

/** How many submissions wait for review, beside the queue's link. */
export async function refreshPending() {
  const pill = $("queue-pending");
  try {
    const { data } = await get("/reviews/queue?status=pending&limit=1");
    // The number for the eye, the words for a screen reader ("3 waiting for review").
    pill.replaceChildren(
      el("span", { "aria-hidden": "true" }, number(data.total)),
      el("span", { class: "visually-hidden" }, t("queue.pendingCount", { count: number(data.total) })),
    );
    pill.hidden = data.total === 0;
  } catch {
    pill.hidden = true;
  }
}

function allowed() {
  const user = state.session?.user;
  return Boolean(user && (user.is_admin || user.role === "coach"));
}

export function init(ctx) {
  panel = document.getElementById("panel-cohorts");
  const shared = { ctx, crumbs, refreshPending };
  for (const module of Object.values(VIEWS)) module.init(shared);
  on("review-changed", () => refreshPending());
}

export function show(_ctx, param) {
  if (!allowed()) return;
  const { view, id } = parse(param);
  panel.dataset.coachView = view; // the lede shows on the first view only (more room for the work)
  for (const node of panel.querySelectorAll(":scope > [data-view]")) node.hidden = node.dataset.view !== view;
  for (const link of panel.querySelectorAll("[data-subnav]")) {
    const active = link.dataset.subnav === (view === "queue" || view === "review" ? "queue" : "list");
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (current !== view) VIEWS[current]?.leave?.();
  current = view;
  if (view === "list") crumbs([]);
  VIEWS[view].open(id);
  refreshPending();
}
