// The review queue: every writer's newest completed submission in the cohorts
// you coach, oldest first, filtered by assignment and review state, a page at a
// time. The review screen walks the same list with next and previous.

import { get } from "../../core/api.js";
import { clear, el, showError, showState, slot } from "../../core/dom.js";
import { dateTime, number, plural, t } from "../../core/i18n.js";
import { errorMessage } from "../../core/messages.js";
import { $, enc, score, statusChip } from "./shared.js";

const PAGE = 20;
const WALK_LIMIT = 200; // the API's page limit: one request holds a 40-person cohort's queue many times over

let shared;
let box;
let form;
let offset = 0;
let request_ = 0;
let assignmentsLoaded = false;
// The filters whose list the review screen walks, and that list once loaded.
let walkFilters = { assignment_id: "", status: "pending" };
let walk = null; // {key, items: [queue items]}

function query(filters, limit, start) {
  const params = new URLSearchParams();
  if (filters.assignment_id) params.set("assignment_id", filters.assignment_id);
  if (filters.status) params.set("status", filters.status);
  params.set("limit", String(limit));
  params.set("offset", String(start));
  return `/reviews/queue?${params}`;
}

function currentFilters() {
  return { assignment_id: form.elements.assignment_id.value, status: form.elements.status.value };
}

/** The review screen walks the queue with these filters (the list a submission was opened from). */
export function useQueue(filters) {
  walkFilters = { assignment_id: filters.assignment_id ?? "", status: filters.status ?? "" };
  walk = null;
}

async function loadWalk(filters) {
  const key = JSON.stringify(filters);
  if (walk?.key === key) return walk;
  const { data } = await get(query(filters, WALK_LIMIT, 0));
  walk = { key, items: data.items };
  return walk;
}

/**
 * Where a submission sits in the list the coach is walking: {position, total,
 * prev, next} (evaluation ids or null). A submission outside that list (a deep
 * link, or released under "pending") is placed in its assignment's whole queue.
 */
export async function neighbours(evaluationId, assignmentId) {
  let list = await loadWalk(walkFilters);
  let index = list.items.findIndex((item) => item.evaluation_id === evaluationId);
  if (index < 0) {
    walkFilters = { assignment_id: assignmentId, status: "" };
    list = await loadWalk(walkFilters);
    index = list.items.findIndex((item) => item.evaluation_id === evaluationId);
  }
  if (index < 0) return { position: null, total: list.items.length, prev: null, next: null };
  return {
    position: index + 1,
    total: list.items.length,
    prev: list.items[index - 1]?.evaluation_id ?? null,
    next: list.items[index + 1]?.evaluation_id ?? null,
  };
}

function row(item) {
  return el(
    "tr",
    { "data-evaluation": item.evaluation_id },
    el("th", { scope: "row" }, el("a", { href: `#/cohorts/review/${enc(item.evaluation_id)}` }, item.writer?.username ?? t("queue.formerWriter"))),
    el("td", {}, item.assignment_title, el("span", { class: "cell-sub" }, item.cohort_name)),
    el("td", { class: "num" }, dateTime(item.submitted_at), item.version_number > 1 ? el("span", { class: "cell-sub" }, t("assignments.version", { n: number(item.version_number) })) : null),
    el("td", { class: "num" }, score(item.ai_overall_score)),
    el("td", { class: "num" }, score(item.final_overall_score)),
    el("td", {}, statusChip(item.review_status, item.unreleased_changes)),
  );
}

async function load() {
  const mine = ++request_;
  const filters = currentFilters();
  if (box.dataset.view !== "ready") showState(box, "loading");
  box.setAttribute("aria-busy", "true");
  try {
    const { data } = await get(query(filters, PAGE, offset));
    if (mine !== request_) return;
    if (!data.items.length && offset > 0) {
      offset = Math.max(0, offset - PAGE);
      load();
      return;
    }
    const rows = clear(slot(box, "rows"));
    for (const item of data.items) rows.append(row(item));
    const first = data.total ? offset + 1 : 0;
    const last = offset + data.items.length;
    slot(box, "total").textContent = plural("queue.total", data.total, { first: number(first), last: number(last) });
    slot(box, "page").textContent = t("queue.page", { page: number(Math.floor(offset / PAGE) + 1), pages: number(Math.max(1, Math.ceil(data.total / PAGE))) });
    slot(box, "pager").hidden = data.total <= PAGE;
    box.querySelector("[data-page='prev']").disabled = offset === 0;
    box.querySelector("[data-page='next']").disabled = last >= data.total;
    showState(box, data.total ? "ready" : "empty");
  } catch (error) {
    if (mine !== request_) return;
    showError(box, errorMessage(error), () => load());
  } finally {
    box.removeAttribute("aria-busy");
  }
}

async function loadAssignments() {
  if (assignmentsLoaded) return;
  try {
    const { data } = await get("/assignments?limit=200");
    const select = form.elements.assignment_id;
    const chosen = select.value;
    for (const option of [...select.options].slice(1)) option.remove();
    for (const a of data.items.filter((item) => item.my_role !== "writer")) {
      select.append(el("option", { value: a.id }, `${a.title} · ${a.cohort_name}`));
    }
    select.value = chosen;
    assignmentsLoaded = true;
  } catch {
    /* the filter keeps "All assignments"; the queue itself still loads */
  }
}

export function init(context) {
  shared = context;
  box = document.querySelector("#panel-cohorts .queue-states");
  form = $("queue-filters");
  form.addEventListener("change", () => {
    offset = 0;
    load();
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  box.querySelector("[data-page='prev']").addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE);
    load();
  });
  box.querySelector("[data-page='next']").addEventListener("click", () => {
    offset += PAGE;
    load();
  });
  // Opening a submission from the queue walks this list, with these filters.
  slot(box, "rows").addEventListener("click", (event) => {
    if (event.target.closest("a")) useQueue(currentFilters());
  });
}

export async function open(assignmentId) {
  shared.crumbs([]);
  await loadAssignments();
  const select = form.elements.assignment_id;
  if (assignmentId) {
    if (![...select.options].some((o) => o.value === assignmentId)) {
      select.append(el("option", { value: assignmentId }, t("queue.thisAssignment")));
    }
    select.value = assignmentId;
    offset = 0;
  }
  load();
}

/** Forget the assignment list (a new assignment was set) so the filter offers it. */
export function assignmentsChanged() {
  assignmentsLoaded = false;
}
