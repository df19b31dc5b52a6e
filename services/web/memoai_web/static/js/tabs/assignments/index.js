// Assignments (signed-in writers): the assignments of their cohorts with the
// due date, the time left and where their submission stands; one assignment's
// brief, submitting a memo to it or revising it until the due date, and the
// feedback (feedback.js).

import { ApiError, get, post } from "../../core/api.js";
import { clear, el, showError, showState, slot } from "../../core/dom.js";
import { follow, idempotencyKey } from "../../core/evaluations.js";
import { dateTime, number, relative, t } from "../../core/i18n.js";
import { errorMessage } from "../../core/messages.js";
import { codePointLength } from "../../core/segments.js";
import { state } from "../../core/store.js";
import { init as initFeedback, renderFeedback } from "./feedback.js";

const enc = encodeURIComponent;
const DRAFT_PREFIX = "memoai.assignment.";

let panel;
let listBox;
let detailBox;
let textarea;
let ctx;
let assignment = null;
let openId = null;
let following = null; // AbortController of the evaluation being followed
let unanswered = null; // {text, key}: a submit whose answer was lost is sent again with its key
let request_ = 0;

/** Where the writer stands: not_submitted, submitted (being evaluated), awaiting, reviewed, failed, missed. */
export function writerStatus(a) {
  const mine = a.my_submission;
  if (!mine) return a.is_closed ? "missed" : "not_submitted";
  if (mine.status === "failed") return "failed";
  if (mine.status !== "completed") return "submitted";
  return mine.review_status === "released" ? "reviewed" : "awaiting";
}

function statusChip(a) {
  const status = writerStatus(a);
  return el("span", { class: `status-chip writer-${status}`, "data-writer-status": status }, t(`assignments.status.${status}`));
}

function dueText(a) {
  return a.is_closed
    ? t("assignments.closedAt", { date: dateTime(a.due_at), relative: relative(a.due_at) })
    : t("assignments.dueAt", { date: dateTime(a.due_at), relative: relative(a.due_at) });
}

// ---------------------------------------------------------------- the list

async function loadList() {
  if (listBox.dataset.view !== "ready") showState(listBox, "loading");
  try {
    const { data } = await get("/assignments?limit=200");
    const mine = data.items.filter((a) => a.my_role === "writer");
    const items = clear(slot(listBox, "items"));
    for (const a of mine) {
      items.append(el(
        "li",
        { class: "assignment-card", "data-assignment": a.id },
        el(
          "a",
          { class: "history-link", href: `#/assignments/${enc(a.id)}` },
          el(
            "span",
            { class: "history-main" },
            el("span", { class: "history-title" }, a.title),
            el("span", { class: "history-meta" }, a.cohort_name),
            el("span", { class: `history-meta due-text${a.is_closed ? " is-closed" : ""}` }, dueText(a)),
          ),
          statusChip(a),
        ),
      ));
    }
    showState(listBox, mine.length ? "ready" : "empty");
  } catch (error) {
    showError(listBox, errorMessage(error), () => loadList());
  }
}

// ---------------------------------------------------------------- one assignment

function draftKey() {
  return `${DRAFT_PREFIX}${openId}`;
}

function saveDraft() {
  try {
    sessionStorage.setItem(draftKey(), textarea.value);
  } catch {
    /* storage full or off: the draft is not kept */
  }
}

function updateCount() {
  const max = state.boot.maxLength;
  const length = codePointLength(textarea.value);
  const count = document.getElementById("assignment-count");
  count.textContent = t("write.count", { count: number(length), max: number(max) });
  count.dataset.level = length > max ? "over" : length >= max * 0.9 ? "near" : "ok";
  const button = document.getElementById("assignment-submit");
  button.disabled = !assignment || assignment.is_closed || following !== null || !textarea.value.trim() || length > max;
}

/** Put text in the memo box (the upload control calls this with the extracted text). */
export function useText(text) {
  textarea.value = text;
  saveDraft();
  updateCount();
  textarea.focus();
}

function problem(message) {
  const box = document.getElementById("writer-submit-error");
  box.textContent = message ?? "";
  box.hidden = !message;
}

function renderBrief(a, versions) {
  const ready = detailBox.querySelector("[data-state='ready']");
  slot(ready, "title").textContent = a.title;
  slot(ready, "meta").textContent = [a.cohort_name, a.rubric_name].join(" · ");
  slot(ready, "status").replaceChildren(statusChip(a));
  const dueLine = slot(ready, "due");
  dueLine.textContent = dueText(a);
  dueLine.classList.toggle("is-closed", a.is_closed);
  slot(ready, "instructions").textContent = a.instructions || t("assignment.noInstructions");
  slot(ready, "rubric-name").textContent = t("assignments.rubric", { name: a.rubric.name });
  const criteria = clear(slot(ready, "criteria"));
  for (const criterion of a.rubric.criteria) {
    criteria.append(el("li", {}, el("strong", {}, criterion.name), ` · ${number(criterion.weight)}%`, criterion.description ? el("span", { class: "muted" }, ` \u2014 ${criterion.description}`) : null));
  }
  const revising = Boolean(a.my_submission);
  slot(ready, "submit-title").textContent = t(revising ? "assignments.reviseTitle" : "assignments.submitTitle");
  slot(ready, "submit-label").textContent = t(revising ? "assignments.submitRevision" : "assignments.submit");
  const closed = slot(ready, "closed");
  closed.hidden = !a.is_closed;
  closed.textContent = a.is_closed ? t("assignments.closedNote", { date: dateTime(a.due_at) }) : "";
  textarea.readOnly = a.is_closed;
  const note = slot(ready, "revising");
  note.hidden = !revising;
  note.textContent = revising ? t("assignments.revisingNote", { n: number(a.my_submission.version_number + 1) }) : "";
  const card = slot(ready, "versions-card");
  card.hidden = versions.length === 0;
  const list = clear(slot(ready, "versions"));
  for (const version of versions) {
    const review = version.review_status === "released" ? t("assignments.status.reviewed") : version.status === "completed" ? t("assignments.status.awaiting") : t(`status.${version.status}`);
    list.append(el("li", { "data-evaluation": version.evaluation_id }, el(
      "div",
      { class: "history-link" },
      el("span", { class: "history-main" }, el("span", { class: "history-title" }, t("assignments.version", { n: number(version.version_number) })), el("span", { class: "history-meta" }, dateTime(version.submitted_at))),
      el("span", { class: "status-chip" }, review),
    )));
  }
}

async function loadFeedback(a) {
  const mine = a.my_submission;
  if (!mine) {
    renderFeedback(null, a);
    return;
  }
  if (mine.status === "queued" || mine.status === "processing") {
    track(mine.evaluation_id, mine);
    return;
  }
  const { data } = await get(`/evaluations/${enc(mine.evaluation_id)}`);
  if (openId !== a.id) return;
  const evaluation = data.evaluation;
  renderFeedback(evaluation, a);
  // An empty box to revise in: start from the memo as submitted.
  if (!textarea.value && evaluation.text_content) {
    textarea.value = evaluation.text_content;
    updateCount();
  }
}

async function loadDetail(id, { quiet = false } = {}) {
  const mine = ++request_;
  if (!quiet) showState(detailBox, "loading");
  try {
    const [one, submissions] = await Promise.all([get(`/assignments/${enc(id)}`), get(`/assignments/${enc(id)}/submissions`)]);
    if (mine !== request_) return;
    assignment = one.data;
    renderBrief(assignment, submissions.data.mine);
    showState(detailBox, "ready");
    updateCount();
    await loadFeedback(assignment);
  } catch (error) {
    if (mine !== request_) return;
    showError(detailBox, error.status === 404 ? t("assignments.missing") : errorMessage(error), () => loadDetail(id));
  }
}

async function track(evaluationId, status) {
  following?.abort();
  const controller = new AbortController();
  following = controller;
  updateCount();
  renderFeedback(null, assignment, status ?? { status: "queued", progress_percentage: 0 });
  try {
    await follow(evaluationId, (update) => {
      if (!update.reconnecting && openId === assignment?.id) renderFeedback(null, assignment, update);
    }, { signal: controller.signal });
  } catch (error) {
    if (error.name !== "AbortError") problem(errorMessage(error));
  } finally {
    if (following === controller) following = null;
  }
  if (!controller.signal.aborted && openId === assignment?.id) {
    ctx.announce(t("assignments.evaluated"));
    loadDetail(assignment.id, { quiet: true });
  }
}

async function submit(event) {
  event.preventDefault();
  const text = textarea.value;
  if (!text.trim() || !assignment || assignment.is_closed) return;
  problem(null);
  const body = { text_content: text };
  if (assignment.my_submission) body.previous_evaluation_id = assignment.my_submission.evaluation_id;
  const key = unanswered?.text === text ? unanswered.key : idempotencyKey();
  const button = document.getElementById("assignment-submit");
  button.setAttribute("aria-busy", "true");
  button.classList.add("is-busy");
  try {
    const { data } = await post(`/assignments/${enc(assignment.id)}/submissions`, body, { headers: { "Idempotency-Key": key } });
    unanswered = null;
    ctx.announce(t("assignments.submitted"));
    assignment.my_submission = { evaluation_id: data.evaluation_id, status: "queued", version_number: data.version_number, review_status: null };
    renderBrief(assignment, []);
    loadDetail(assignment.id, { quiet: true });
  } catch (error) {
    if (error instanceof ApiError && error.transient) unanswered = { text, key };
    if (error.code === "assignment_closed") {
      problem(t("assignments.closedError"));
      loadDetail(assignment.id, { quiet: true });
    } else {
      problem(error.status >= 400 && error.status < 500 && error.status !== 429 ? error.message : errorMessage(error));
    }
  } finally {
    button.removeAttribute("aria-busy");
    button.classList.remove("is-busy");
  }
}

export function init(context) {
  ctx = context;
  panel = document.getElementById("panel-assignments");
  listBox = panel.querySelector(".assignments-states");
  detailBox = panel.querySelector(".assignment-detail-states");
  textarea = document.getElementById("assignment-text");
  textarea.addEventListener("input", () => {
    saveDraft();
    updateCount();
    problem(null);
  });
  document.getElementById("writer-submit-form").addEventListener("submit", submit);
  initFeedback();
}

export function show(_ctx, param) {
  if (!state.session?.user) return;
  const detail = Boolean(param);
  for (const node of panel.querySelectorAll(":scope > [data-view]")) node.hidden = node.dataset.view !== (detail ? "detail" : "list");
  if (!detail) {
    loadList();
    return;
  }
  if (param !== openId) {
    following?.abort();
    following = null;
    openId = param;
    assignment = null;
    unanswered = null;
    problem(null);
    let draft = "";
    try {
      draft = sessionStorage.getItem(draftKey()) ?? "";
    } catch {
      draft = "";
    }
    textarea.value = draft;
  }
  loadDetail(param);
}
