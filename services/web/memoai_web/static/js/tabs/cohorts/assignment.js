// One assignment, as its coaches see it: the brief and its pinned rubric, every
// writer's newest submission (each opening the review screen), the analytics
// and the gradebook.

import { get, request } from "../../core/api.js";
import { localInput, utcFromInput, zoneName } from "../../core/dates.js";
import { clear, el, showError, showState, slot } from "../../core/dom.js";
import { dateTime, number, plural, t } from "../../core/i18n.js";
import { errorMessage } from "../../core/messages.js";
import { navigate } from "../../core/router.js";
import { renderAssignmentAnalytics } from "./analytics.js";
import { useQueue } from "./queue.js";
import { confirmAction, downloadLink, due, enc, problem, refusal, score, statusChip } from "./shared.js";

let shared;
let box;
let current = null;
let request_ = 0;

function renderHead(a, submissions) {
  const ready = box.querySelector("[data-state='ready']");
  slot(ready, "title").textContent = a.title;
  slot(ready, "meta").textContent = [
    a.cohort_name,
    due(a.due_at),
    a.is_closed ? t("assignment.closed") : null,
    t(`assignment.releaseShort.${a.feedback_release}`),
  ].filter(Boolean).join(" · ");
  slot(ready, "instructions").textContent = a.instructions || t("assignment.noInstructions");
  slot(ready, "rubric-name").textContent = t("assignment.rubricPinned", { name: a.rubric.name, version: a.rubric_version });
  const criteria = clear(slot(ready, "criteria"));
  for (const criterion of a.rubric.criteria) {
    criteria.append(el("li", {}, el("strong", {}, criterion.name), ` · ${number(criterion.weight)}%`, criterion.description ? el("span", { class: "muted" }, ` \u2014 ${criterion.description}`) : null));
  }
  slot(ready, "queue-link").setAttribute("href", `#/cohorts/queue/${enc(a.id)}`);
  downloadLink(slot(ready, "gradebook"), `/assignments/${enc(a.id)}/gradebook.csv`);
  slot(ready, "delete").hidden = submissions.some((row) => row.evaluation_id);
  problem(slot(ready, "action-error"), null);
  shared.crumbs([[t("cohorts.navCohorts"), "#/cohorts"], [a.cohort_name, `#/cohorts/cohort/${enc(a.cohort_id)}`], [a.title, null]]);
}

function renderSubmissions(rows) {
  const ready = box.querySelector("[data-state='ready']");
  const body = clear(slot(ready, "submissions"));
  for (const row of rows) {
    const reviewable = row.evaluation_id && row.status === "completed";
    const name = reviewable
      ? el("a", { href: `#/cohorts/review/${enc(row.evaluation_id)}` }, row.writer.username)
      : row.writer.username;
    const status = row.evaluation_id && row.status !== "completed"
      ? el("span", { class: `status-chip status-${row.status}` }, t(`status.${row.status}`))
      : statusChip(row.review_status, row.unreleased_changes);
    body.append(el(
      "tr",
      { "data-writer": row.writer.username },
      el("th", { scope: "row" }, name),
      el("td", {}, status),
      el("td", { class: "num" }, row.submitted_at ? dateTime(row.submitted_at) : "\u2014", row.version_number > 1 ? ` · ${t("assignments.version", { n: number(row.version_number) })}` : null),
      el("td", { class: "num" }, score(row.ai_overall_score)),
      el("td", { class: "num" }, score(row.final_overall_score)),
    ));
  }
  const submitted = rows.filter((row) => row.evaluation_id).length;
  slot(ready, "submission-count").textContent = plural("assignment.submittedCount", submitted, { total: number(rows.length) });
}

async function loadAnalytics(id) {
  const states = document.getElementById("assignment-analytics").querySelector(".analytics-states");
  showState(states, "loading");
  try {
    const { data } = await get(`/assignments/${enc(id)}/analytics`);
    if (current?.id !== id) return;
    renderAssignmentAnalytics(slot(states, "analytics"), data);
    showState(states, data.writers ? "ready" : "empty");
  } catch (error) {
    showError(states, errorMessage(error), () => loadAnalytics(id));
  }
}

async function load(id) {
  const mine = ++request_;
  showState(box, "loading");
  try {
    const [one, submissions] = await Promise.all([
      get(`/assignments/${enc(id)}`),
      get(`/assignments/${enc(id)}/submissions`),
    ]);
    if (mine !== request_) return;
    current = one.data;
    renderHead(current, submissions.data.items);
    renderSubmissions(submissions.data.items);
    showState(box, "ready");
    loadAnalytics(id);
  } catch (error) {
    if (mine !== request_) return;
    shared.crumbs([[t("cohorts.navCohorts"), "#/cohorts"]]);
    showError(box, error.status === 404 ? t("assignment.missing") : errorMessage(error), () => load(id));
  }
}

async function remove() {
  const ok = await confirmAction({
    title: t("assignment.deleteTitle"),
    message: t("assignment.deleteBody", { title: current.title }),
    action: t("assignment.delete"),
  });
  if (!ok) return;
  try {
    await request("DELETE", `/assignments/${enc(current.id)}`);
    shared.ctx.announce(t("assignment.deleted", { title: current.title }));
    navigate("cohorts", `cohort/${current.cohort_id}`);
  } catch (error) {
    problem(slot(box, "action-error"), refusal(error, errorMessage));
  }
}

// ---------------------------------------------------------------- editing

function openEdit(show) {
  const form = document.getElementById("assignment-edit");
  const toggle = document.getElementById("assignment-edit-open");
  form.hidden = !show;
  toggle.setAttribute("aria-expanded", String(show));
  if (!show || !current) return;
  problem(document.getElementById("assignment-edit-error"), null);
  form.elements.title.value = current.title;
  form.elements.instructions.value = current.instructions;
  form.elements.due_at.value = localInput(new Date(current.due_at));
  form.elements.feedback_release.value = current.feedback_release;
  slot(form, "due-hint").textContent = t("assignment.dueEditHint", { zone: zoneName() });
  form.elements.title.focus();
}

/** Send only what changed; a due date moved into the future reopens the assignment, into the past closes it. */
async function saveEdit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const errorBox = document.getElementById("assignment-edit-error");
  const title = form.elements.title.value.trim();
  const dueAt = utcFromInput(form.elements.due_at.value);
  if (!title) {
    problem(errorBox, t("assignment.titleMissing"));
    form.elements.title.focus();
    return;
  }
  if (!dueAt) {
    problem(errorBox, t("assignment.dueMissing"));
    form.elements.due_at.focus();
    return;
  }
  const body = {};
  if (title !== current.title) body.title = title;
  if (form.elements.instructions.value !== current.instructions) body.instructions = form.elements.instructions.value;
  // Compared as typed (to the minute): the stored instant may carry seconds.
  if (form.elements.due_at.value !== localInput(new Date(current.due_at))) body.due_at = dueAt;
  if (form.elements.feedback_release.value !== current.feedback_release) body.feedback_release = form.elements.feedback_release.value;
  if (!Object.keys(body).length) {
    openEdit(false);
    return;
  }
  form.setAttribute("aria-busy", "true");
  try {
    const { data } = await request("PUT", `/assignments/${enc(current.id)}`, { body });
    openEdit(false);
    shared.ctx.announce(t("assignment.saved", { title: data.title }));
    load(current.id);
  } catch (error) {
    problem(errorBox, refusal(error, errorMessage));
  } finally {
    form.removeAttribute("aria-busy");
  }
}

export function init(context) {
  shared = context;
  box = document.querySelector("#panel-cohorts .assignment-states");
  slot(box, "delete").addEventListener("click", remove);
  const edit = document.getElementById("assignment-edit");
  document.getElementById("assignment-edit-open").addEventListener("click", () => openEdit(edit.hidden));
  edit.addEventListener("submit", saveEdit);
  edit.querySelector("[data-action='cancel']").addEventListener("click", () => {
    openEdit(false);
    document.getElementById("assignment-edit-open").focus();
  });
  // Opening a submission from this table walks this assignment's queue with j/k.
  slot(box, "submissions").addEventListener("click", (event) => {
    if (event.target.closest("a[href^='#/cohorts/review/']") && current) useQueue({ assignment_id: current.id, status: "" });
  });
}

export function open(id) {
  if (id !== current?.id) openEdit(false);
  load(id);
}
