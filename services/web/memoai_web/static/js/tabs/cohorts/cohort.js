// One cohort: its name and description (admins edit them, cohort-edit.js), its
// assignments (and a form to set one), its members (admins add and remove
// coaches and writers by username), its analytics and gradebook.

import { get, post, request } from "../../core/api.js";
import { localInput, utcFromInput, zoneName } from "../../core/dates.js";
import { clear, el, showError, showState, slot } from "../../core/dom.js";
import { dateTime, plural, t } from "../../core/i18n.js";
import { errorMessage } from "../../core/messages.js";
import { navigate } from "../../core/router.js";
import { state } from "../../core/store.js";
import { renderCohortAnalytics } from "./analytics.js";
import * as details from "./cohort-edit.js";
import { assignmentsChanged } from "./queue.js";
import { $, confirmAction, downloadLink, due, enc, problem, refusal } from "./shared.js";

let shared;
let box;
let cohortId = null;
let cohort = null;
let request_ = 0;
let rubrics = null;

const isAdmin = () => Boolean(state.session?.user?.is_admin);

// ---------------------------------------------------------------- rendering

function renderHead() {
  const ready = box.querySelector("[data-state='ready']");
  slot(ready, "name").textContent = cohort.name;
  const description = slot(ready, "description");
  description.textContent = cohort.description;
  description.hidden = !cohort.description;
  slot(ready, "meta").textContent = [
    plural("cohorts.writers", cohort.writers),
    plural("cohorts.coaches", cohort.coaches),
    t(`cohorts.myRole.${cohort.my_role}`),
  ].join(" · ");
  downloadLink(slot(ready, "gradebook"), `/cohorts/${enc(cohort.id)}/gradebook.csv`);
  slot(ready, "delete").hidden = !isAdmin();
  details.show(cohort, isAdmin());
  shared.crumbs([[t("cohorts.navCohorts"), "#/cohorts"], [cohort.name, null]]);
}

function renderAssignments(items) {
  const ready = box.querySelector("[data-state='ready']");
  const rows = clear(slot(ready, "assignments"));
  for (const a of items) {
    const counts = a.counts ?? { writers: 0, submitted: 0, reviewed: 0 };
    rows.append(el(
      "tr",
      { "data-assignment": a.id },
      el("th", { scope: "row" }, el("a", { href: `#/cohorts/assignment/${enc(a.id)}` }, a.title)),
      el("td", {}, due(a.due_at), a.is_closed ? el("span", { class: "status-chip closed-chip" }, t("assignment.closed")) : null),
      el("td", { class: "num" }, t("assignment.ofWriters", { n: counts.submitted, total: counts.writers })),
      el("td", { class: "num" }, t("assignment.ofWriters", { n: counts.reviewed, total: counts.submitted })),
      el("td", {}, a.rubric_name),
    ));
  }
  slot(ready, "assignments-empty").hidden = items.length > 0;
  slot(ready, "assignments-wrap").hidden = items.length === 0;
}

function renderMembers(items) {
  const ready = box.querySelector("[data-state='ready']");
  const rows = clear(slot(ready, "members"));
  const admin = isAdmin();
  for (const member of items) {
    rows.append(el(
      "tr",
      { "data-member": member.username, class: member.is_active ? null : "is-inactive" },
      el("th", { scope: "row" }, member.username),
      el("td", {}, t(`cohorts.role.${member.role}`), member.is_active ? null : ` · ${t("admin.inactive")}`),
      el("td", { class: "num" }, dateTime(member.added_at)),
      el("td", {}, admin
        ? el("button", { type: "button", class: "btn btn-small", "data-remove": member.user_id, "data-name": member.username }, t("cohorts.remove"))
        : null),
    ));
  }
  slot(ready, "member-count").textContent = plural("cohorts.memberCount", items.length);
  $("member-add").hidden = !admin;
}

async function loadAnalytics() {
  const states = $("cohort-analytics").querySelector(".analytics-states");
  showState(states, "loading");
  try {
    const { data } = await get(`/cohorts/${enc(cohortId)}/analytics`);
    if (data.cohort_id !== cohortId) return;
    if (!data.assignments.length) {
      showState(states, "empty");
      return;
    }
    renderCohortAnalytics(slot(states, "analytics"), data);
    showState(states, "ready");
  } catch (error) {
    showError(states, errorMessage(error), () => loadAnalytics());
  }
}

async function load(id) {
  const mine = ++request_;
  cohortId = id;
  showState(box, "loading");
  try {
    const [one, members, assignments] = await Promise.all([
      get(`/cohorts/${enc(id)}`),
      get(`/cohorts/${enc(id)}/members`),
      get(`/cohorts/${enc(id)}/assignments?limit=200`),
    ]);
    if (mine !== request_) return;
    cohort = one.data;
    renderHead();
    renderAssignments(assignments.data.items);
    renderMembers(members.data.items);
    showState(box, "ready");
    loadAnalytics();
  } catch (error) {
    if (mine !== request_) return;
    shared.crumbs([[t("cohorts.navCohorts"), "#/cohorts"]]);
    showError(box, error.status === 404 ? t("cohorts.missing") : errorMessage(error), () => load(id));
  }
}

// ---------------------------------------------------------------- members

async function addMember(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const errorBox = $("member-error");
  const username = form.elements.username.value.trim();
  if (!username) {
    problem(errorBox, t("cohorts.usernameMissing"));
    form.elements.username.focus();
    return;
  }
  const role = form.elements.role.value;
  form.setAttribute("aria-busy", "true");
  try {
    await post(`/cohorts/${enc(cohortId)}/members`, { username, role });
    form.elements.username.value = "";
    problem(errorBox, null);
    shared.ctx.announce(t("cohorts.memberAdded", { name: username, role: t(`cohorts.role.${role}`) }));
    await load(cohortId);
    $("member-username").focus();
  } catch (error) {
    const message = error.status === 404 ? t("cohorts.noSuchUser", { name: username }) : refusal(error, errorMessage);
    problem(errorBox, message);
    form.elements.username.focus();
  } finally {
    form.removeAttribute("aria-busy");
  }
}

async function removeMember(button) {
  const name = button.dataset.name;
  const ok = await confirmAction({
    title: t("cohorts.removeTitle"),
    message: t("cohorts.removeBody", { name, cohort: cohort.name }),
    action: t("cohorts.remove"),
  });
  if (!ok) return;
  try {
    await request("DELETE", `/cohorts/${enc(cohortId)}/members/${enc(button.dataset.remove)}`);
    shared.ctx.announce(t("cohorts.memberRemoved", { name }));
    load(cohortId);
  } catch (error) {
    problem($("member-error"), refusal(error, errorMessage));
  }
}

async function deleteCohort() {
  const ok = await confirmAction({
    title: t("cohorts.deleteTitle"),
    message: t("cohorts.deleteBody", { name: cohort.name }),
    action: t("cohorts.delete"),
  });
  if (!ok) return;
  try {
    await request("DELETE", `/cohorts/${enc(cohortId)}`);
    shared.ctx.announce(t("cohorts.deleted", { name: cohort.name }));
    navigate("cohorts", null);
  } catch (error) {
    problem($("member-error"), refusal(error, errorMessage));
  }
}

// ---------------------------------------------------------------- assignments

async function loadRubrics(select) {
  if (!rubrics) {
    const { data } = await get("/rubrics");
    rubrics = data.items;
  }
  clear(select);
  for (const rubric of rubrics) {
    select.append(el("option", { value: rubric.id }, rubric.is_default ? t("assignment.rubricDefault", { name: rubric.name }) : rubric.name));
  }
}

async function openAssignmentForm(show) {
  const form = $("assignment-create");
  const toggle = $("assignment-new");
  form.hidden = !show;
  toggle.setAttribute("aria-expanded", String(show));
  if (!show) return;
  problem($("assignment-create-error"), null);
  const dueField = form.elements.due_at;
  if (!dueField.value) {
    // A week from now at 23:59, local time: the usual deadline.
    const week = new Date(Date.now() + 7 * 86400_000);
    week.setHours(23, 59, 0, 0);
    dueField.value = localInput(week);
  }
  dueField.min = localInput(new Date());
  slot(form, "due-hint").textContent = t("assignment.dueHint", { zone: zoneName() });
  form.elements.title.focus();
  try {
    await loadRubrics(form.elements.rubric_id);
  } catch (error) {
    problem($("assignment-create-error"), errorMessage(error));
  }
}

async function createAssignment(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const errorBox = $("assignment-create-error");
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
  if (Date.parse(dueAt) <= Date.now()) {
    problem(errorBox, t("assignment.duePast"));
    form.elements.due_at.focus();
    return;
  }
  const body = {
    title,
    instructions: form.elements.instructions.value,
    due_at: dueAt,
    feedback_release: form.elements.feedback_release.value,
  };
  if (form.elements.rubric_id.value) body.rubric_id = form.elements.rubric_id.value;
  form.setAttribute("aria-busy", "true");
  try {
    const { data } = await post(`/cohorts/${enc(cohortId)}/assignments`, body);
    form.reset();
    openAssignmentForm(false);
    assignmentsChanged();
    shared.ctx.announce(t("assignment.created", { title: data.title }));
    navigate("cohorts", `assignment/${data.id}`);
  } catch (error) {
    problem(errorBox, refusal(error, errorMessage));
  } finally {
    form.removeAttribute("aria-busy");
  }
}

export function init(context) {
  shared = context;
  box = document.querySelector("#panel-cohorts .cohort-states");
  $("member-add").addEventListener("submit", addMember);
  slot(box, "members").addEventListener("click", (event) => {
    const button = event.target.closest("[data-remove]");
    if (button) removeMember(button);
  });
  slot(box, "delete").addEventListener("click", deleteCohort);
  const ready = box.querySelector("[data-state='ready']");
  details.init({
    actions: ready.querySelector(".view-actions"),
    head: ready.querySelector(".view-head"),
    ctx: shared.ctx,
    saved: (value) => {
      cohort = value;
      renderHead();
      assignmentsChanged(); // the queue's filter names assignments with their cohort
    },
  });
  $("assignment-new").addEventListener("click", () => openAssignmentForm($("assignment-create").hidden));
  $("assignment-create").addEventListener("submit", createAssignment);
  $("assignment-create").querySelector("[data-action='cancel']").addEventListener("click", () => {
    openAssignmentForm(false);
    $("assignment-new").focus();
  });
}

export function open(id) {
  load(id);
}
