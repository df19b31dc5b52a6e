// The review screen: one submission with its memo and highlights beside the
// editable scores (review-scores.js) and comments (review-comments.js), the
// AI's strengths and opportunities (review-summary.js), the recomputed overall, Release (and release again), the audit trail, and
// next/previous through the queue with buttons or j/k and ]/[.

import { get, post } from "../../core/api.js";
import { clear, el, showError, showState, slot } from "../../core/dom.js";
import { dateTime, number, plural, t } from "../../core/i18n.js";
import { errorMessage } from "../../core/messages.js";
import { currentTab, navigate } from "../../core/router.js";
import { emit } from "../../core/store.js";
import * as comments from "./review-comments.js";
import { neighbours } from "./queue.js";
import * as scores from "./review-scores.js";
import * as summary from "./review-summary.js";
import { $, confirmAction, enc, problem, refusal, score, statusChip } from "./shared.js";

let shared;
let view;
let box;
let ready;
let review = null;
let openId = null;
let around = { prev: null, next: null };
let request_ = 0;

function showPane(name) {
  for (const button of view.querySelectorAll("[data-pane]")) button.setAttribute("aria-pressed", String(button.dataset.pane === name));
  $("review-scores").hidden = name !== "scores";
  $("review-comments").hidden = name !== "comments";
}

function renderHead() {
  slot(ready, "heading").textContent = t("review.heading", { writer: review.writer?.username ?? t("queue.formerWriter"), title: review.assignment_title });
  slot(ready, "meta").textContent = [
    t("assignments.version", { n: number(review.version_number) }),
    t("review.submitted", { date: dateTime(review.submitted_at) }),
    review.rubric.name,
    review.llm_provider === "offline" ? t("review.offline") : null,
  ].filter(Boolean).join(" · ");
  slot(ready, "ai-overall").textContent = score(review.ai_overall_score);
  slot(ready, "final-overall").textContent = score(review.final_overall_score);
  slot(ready, "final-overall").dataset.changed = String(review.final_overall_score !== review.ai_overall_score);
  const chip = statusChip(review.status, review.unreleased_changes);
  chip.dataset.slot = "status";
  slot(ready, "status").replaceWith(chip);
  const note = slot(ready, "release-note");
  const button = ready.querySelector("[data-action='release']");
  const label = slot(ready, "release-label");
  if (review.status === "released") {
    note.textContent = t("review.releasedNote", { name: review.released_by ?? "", date: dateTime(review.released_at) })
      + (review.unreleased_changes ? ` ${t("review.unreleasedNote")}` : "");
    label.textContent = t("review.releaseAgain");
    button.disabled = !review.unreleased_changes;
  } else {
    note.textContent = t(review.feedback_release === "immediate" ? "review.notReleasedImmediate" : "review.notReleasedWithheld");
    label.textContent = t("review.release");
    button.disabled = false;
  }
  shared.crumbs([
    [t("cohorts.navQueue"), "#/cohorts/queue"],
    [review.assignment_title, `#/cohorts/assignment/${enc(review.assignment_id)}`],
    [review.writer?.username ?? t("queue.formerWriter"), null],
  ]);
}

function describe(change) {
  const d = change.details ?? {};
  const who = change.actor?.username ?? t("queue.formerWriter");
  switch (change.action) {
    case "score_override":
      return t("review.log.override", { who, criterion: d.criterion, before: number(d.before), after: number(d.after), reason: d.reason });
    case "score_revert":
      return t("review.log.revert", { who, criterion: d.criterion, after: number(d.after) });
    case "comment_edit":
      // Only the questions changed: say so, the comment itself reads the same.
      return t(d.before && d.after && d.before.comment === d.after.comment ? "review.log.editQuestions" : "review.log.edit", { who });
    case "comment_delete":
      return t("review.log.delete", { who });
    case "comment_add":
      return t("review.log.add", { who });
    case "release":
      return t("review.log.release", { who, score: score(d.overall_score) });
    default:
      return `${who}: ${change.action}`;
  }
}

function renderHistory() {
  const list = clear(slot(ready, "history"));
  for (const change of review.history) {
    list.append(el("li", { "data-action": change.action }, el("span", { class: "history-when" }, dateTime(change.at)), el("span", {}, describe(change))));
  }
  if (!review.history.length) list.append(el("li", { class: "muted" }, t("review.noHistory")));
  slot(ready, "history-count").textContent = plural("review.changes", review.history.length);
}

function render(value) {
  review = value;
  renderHead();
  scores.render(review);
  summary.render(review);
  comments.render(review);
  renderHistory();
}

/** A change answered with the whole review: draw it again, say what happened, keep the focus. */
function changed(value, { announce, focus } = {}) {
  render(value);
  problem(slot(ready, "review-error"), null);
  if (announce) shared.ctx.announce(announce);
  if (focus) view.querySelector(focus)?.focus();
  emit("review-changed", value);
}

async function locate(id, assignmentId) {
  const position = slot(view, "position");
  try {
    const place = await neighbours(id, assignmentId);
    if (openId !== id) return;
    around = place;
    position.textContent = place.position
      ? t("review.position", { n: number(place.position), total: number(place.total) })
      : t("review.notInQueue");
  } catch {
    around = { prev: null, next: null };
    position.textContent = "";
  }
  view.querySelector("[data-review-nav='prev']").disabled = !around.prev;
  view.querySelector("[data-review-nav='next']").disabled = !around.next;
}

async function load(id) {
  const mine = ++request_;
  openId = id;
  around = { prev: null, next: null };
  view.querySelector("[data-review-nav='prev']").disabled = true;
  view.querySelector("[data-review-nav='next']").disabled = true;
  showState(box, "loading");
  try {
    const { data } = await get(`/reviews/${enc(id)}`);
    if (mine !== request_) return;
    scores.reset();
    comments.reset();
    render(data);
    showState(box, "ready");
    locate(id, data.assignment_id);
  } catch (error) {
    if (mine !== request_) return;
    shared.crumbs([[t("cohorts.navQueue"), "#/cohorts/queue"]]);
    const message = error.status === 404 ? t("review.missing") : error.code === "evaluation_not_completed" ? t("review.notCompleted") : errorMessage(error);
    showError(box, message, () => load(id));
    locate(id, null);
  }
}

async function release() {
  const writer = review.writer?.username ?? t("queue.formerWriter");
  const again = review.status === "released";
  const ok = await confirmAction({
    title: t(again ? "review.releaseAgainTitle" : "review.releaseTitle", { writer }),
    message: t("review.releaseBody", { writer, score: score(review.final_overall_score) }),
    action: t(again ? "review.releaseAgain" : "review.release"),
  });
  if (!ok) return;
  const button = ready.querySelector("[data-action='release']");
  button.setAttribute("aria-busy", "true");
  try {
    const { data } = await post(`/reviews/${enc(review.evaluation_id)}/release`);
    changed(data, { announce: t("review.released", { writer }) });
    button.focus();
  } catch (error) {
    problem(slot(ready, "review-error"), refusal(error, errorMessage));
  } finally {
    button.removeAttribute("aria-busy");
  }
}

function go(direction) {
  const target = around[direction];
  if (target) navigate("cohorts", `review/${target}`, { focus: false });
}

/** j / ] next, k / [ previous - not while typing, nor with a modifier, nor under a dialog. */
function onKey(event) {
  if (currentTab() !== "cohorts" || view.hidden || event.defaultPrevented) return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.closest?.("input, textarea, select, [contenteditable=''], [contenteditable='true'], dialog")) return;
  const direction = { j: "next", "]": "next", k: "prev", "[": "prev" }[event.key];
  if (!direction) return;
  event.preventDefault();
  if (around[direction]) {
    go(direction);
    shared.ctx.announce(t(direction === "next" ? "review.movedNext" : "review.movedPrev"));
  } else {
    shared.ctx.announce(t(direction === "next" ? "review.lastOne" : "review.firstOne"));
  }
}

export function init(context) {
  shared = context;
  view = document.querySelector("#panel-cohorts [data-view='review']");
  box = view.querySelector(".review-states");
  ready = box.querySelector("[data-state='ready']");
  scores.init(slot(ready, "scores"), changed);
  summary.init(slot(ready, "review-error"));
  comments.init({
    memoNode: slot(ready, "memo"),
    listNode: slot(ready, "comments"),
    formNode: $("comment-add"),
    countNode: slot(ready, "comment-count"),
    changed,
    pane: showPane,
  });
  for (const button of view.querySelectorAll("[data-pane]")) button.addEventListener("click", () => showPane(button.dataset.pane));
  for (const button of view.querySelectorAll("[data-review-nav]")) button.addEventListener("click", () => go(button.dataset.reviewNav));
  ready.querySelector("[data-action='release']").addEventListener("click", release);
  document.addEventListener("keydown", onKey);
}

export function open(id) {
  if (id === openId && review?.evaluation_id === id && box.dataset.view === "ready") return;
  load(id);
}
