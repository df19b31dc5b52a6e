// Write: the memo, its live length, submitting and following the evaluation.
// One module on purpose: the Write tab's states (draft, upload, submitting,
// following, result) hand over to each other and share the draft.

import { setupUpload } from "../components/upload.js";
import { ApiError, post } from "../core/api.js";
import { slot } from "../core/dom.js";
import { follow, idempotencyKey, load, secondsLeft, submit } from "../core/evaluations.js";
import { duration, number, t } from "../core/i18n.js";
import { errorMessage, failureMessage } from "../core/messages.js";
import { formatScore } from "../core/results.js";
import { codePointLength } from "../core/segments.js";
import { currentTab, navigate } from "../core/router.js";
import { emit, on, setResult, state } from "../core/store.js";

const DRAFT_KEY = "memoai.draft";
const JOB_KEY = "memoai.job"; // the evaluation being followed, so a reload resumes it
const WARN_AT = 0.9;

let form;
let textarea;
let count;
let submitButton;
let errorBox;
let progressCard;
let failureCard;
let tips;
let maxLength = 10_000;
let job = null; // the latest submission: {id, controller}
let busy = false;
let revising = null; // {id, version}
// The last submit that may have reached the server unanswered: sending the same
// memo again reuses its key, so a lost answer never becomes a second evaluation.
let unanswered = null; // {text, previousId, key}
let ctx;
let uploads; // the "Upload a file" control (components/upload.js)

function store(key, value) {
  // sessionStorage: a reload (or a language switch) keeps the draft; closing the tab drops it.
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* storage full or disabled: the draft simply is not kept */
  }
}

function restore(key) {
  try {
    return JSON.parse(sessionStorage.getItem(key) ?? "null");
  } catch {
    return null;
  }
}

function updateCount() {
  const length = codePointLength(textarea.value);
  count.textContent = t("write.count", { count: number(length), max: number(maxLength) });
  const level = length > maxLength ? "over" : length >= maxLength * WARN_AT ? "near" : "ok";
  count.dataset.level = level;
  const blank = textarea.value.trim() === "";
  submitButton.disabled = blank || level === "over" || busy;
  document.getElementById("clear-btn").hidden = textarea.value === "";
  if (level === "over") {
    showError(t("write.error.tooLong", { over: number(length - maxLength), max: number(maxLength) }), "length");
  } else if (errorBox.dataset.kind === "length") {
    showError(null);
  }
}

let saveTimer = null;
function onInput() {
  updateCount();
  if (errorBox.dataset.kind === "server") showError(null);
  clearTimeout(saveTimer);
  saveTimer = setTimeout(saveDraft, 400);
}

function saveDraft() {
  store(DRAFT_KEY, { text: textarea.value, revising });
}

function showError(message, kind = "") {
  errorBox.hidden = !message;
  errorBox.textContent = message ?? "";
  errorBox.dataset.kind = message ? kind : "";
  textarea.setAttribute("aria-invalid", message ? "true" : "false");
}

function setRevising(value) {
  revising = value;
  const note = document.getElementById("revise-note");
  note.hidden = !value;
  if (value) slot(note, "text").textContent = t("write.revising", { version: value.version + 1 });
  saveDraft();
}

// ---------------------------------------------------------------- progress view

function setProgress(status) {
  const bar = document.getElementById("progress-bar");
  const pct = Math.max(0, Math.min(100, Math.round(status.progress_percentage ?? 0)));
  bar.setAttribute("aria-valuenow", String(pct));
  bar.style.setProperty("--value", String(pct / 100));
  document.getElementById("progress-pct").textContent = `${number(pct)}%`;
  const label = {
    queued: status.queue_position ? t("progress.queuedAt", { position: status.queue_position }) : t("progress.queued"),
    processing: t("progress.processing"),
    completed: t("progress.completed"),
    failed: t("progress.failed"),
  }[status.status];
  document.getElementById("progress-label").textContent = label;
  const order = ["queued", "processing", "completed"];
  const reached = order.indexOf(status.status);
  for (const item of document.querySelectorAll("#progress-steps [data-step]")) {
    const index = order.indexOf(item.dataset.step);
    item.dataset.done = String(index < reached || status.status === "completed");
    item.dataset.active = String(index === reached && status.status !== "completed");
  }
  setEta(status);
}

function setEta(status) {
  const eta = document.getElementById("progress-eta");
  if (status.reconnecting) {
    eta.textContent = t("progress.reconnecting");
    return;
  }
  if (status.status === "completed") {
    eta.textContent = t("progress.loading");
    return;
  }
  const left = status.secondsLeft;
  if (left === null || left === undefined) eta.textContent = "";
  else if (left <= 1) eta.textContent = status.status === "queued" ? t("progress.soon") : t("progress.almost");
  else eta.textContent = t("progress.eta", { time: duration(left) });
}

function setBusy(value) {
  busy = value;
  form.setAttribute("aria-busy", String(busy));
  textarea.readOnly = busy;
  submitButton.classList.toggle("is-busy", busy);
  submitButton.querySelector("span").textContent = t(busy ? "write.submitting" : "write.submit");
  document.getElementById("tab-write").querySelector(".tab-badge").hidden = !busy;
  updateCount();
}

function showFailure(message, detail, retryLabelKey) {
  failureCard.hidden = false;
  progressCard.hidden = true;
  document.getElementById("failure-message").textContent = message;
  const details = document.getElementById("failure-details");
  details.hidden = !detail;
  slot(details, "detail").textContent = detail ?? "";
  document.getElementById("retry-btn").querySelector("span").textContent = t(retryLabelKey);
  failureCard.focus({ preventScroll: true });
  failureCard.scrollIntoView({ block: "nearest" });
}

// ---------------------------------------------------------------- the flow

async function start(text, previousId) {
  showError(null);
  failureCard.hidden = true;
  tips.hidden = true;
  progressCard.hidden = false;
  setProgress({ status: "queued", progress_percentage: 0, secondsLeft: null });
  job = { id: null, controller: new AbortController() };
  setBusy(true);
  ctx.announce(t("progress.announceStart"));
  const same = unanswered && unanswered.text === text && unanswered.previousId === previousId;
  const key = same ? unanswered.key : idempotencyKey();
  try {
    const accepted = await submit(text, previousId, key);
    unanswered = null;
    job.id = accepted.evaluation_id;
    store(JOB_KEY, { id: job.id });
    const left = secondsLeft(accepted.estimated_completion, accepted.serverNow);
    setProgress({ status: "queued", progress_percentage: 0, secondsLeft: left });
    await track();
  } catch (error) {
    if (error instanceof ApiError && error.transient) unanswered = { text, previousId, key };
    finish();
    progressCard.hidden = true;
    tips.hidden = false;
    if (error instanceof ApiError && error.status === 401 && state.boot.authEnabled) {
      emit("login-required");
      showError(t("error.signIn"), "server");
    } else if (error instanceof ApiError && error.field === "text_content" && error.status === 422) {
      showError(describeInvalid(error), "server");
    } else {
      showError(errorMessage(error), "server");
    }
    textarea.focus();
  }
}

function describeInvalid(error) {
  if (error.details?.max_length) {
    return t("write.error.tooLong", {
      over: number(error.details.length - error.details.max_length),
      max: number(error.details.max_length),
    });
  }
  return textarea.value.trim() === "" ? t("write.error.empty") : error.message;
}

/** Follow the submitted evaluation to its end (also used to resume after a network failure). */
async function track() {
  const interval = state.config?.limits?.polling_interval_ms ?? 2000;
  let final;
  try {
    final = await follow(job.id, setProgress, { intervalMs: interval, signal: job.controller.signal });
  } catch (error) {
    if (error.name === "AbortError") return;
    finish();
    if (error.status === 404) {
      // Gone, or another session's (a stale reload): nothing left to follow.
      store(JOB_KEY, null);
      progressCard.hidden = true;
      tips.hidden = false;
      return;
    }
    showFailure(errorMessage(error), null, "failure.resume");
    failureCard.dataset.kind = "network";
    return;
  }
  if (final.status === "failed") {
    finish();
    store(JOB_KEY, null);
    showFailure(failureMessage(final), final.error, "failure.retry");
    failureCard.dataset.kind = "failed";
    ctx.announce(t("progress.failed"));
    return;
  }
  let evaluation;
  try {
    evaluation = await load(job.id);
  } catch (error) {
    finish();
    showFailure(errorMessage(error), null, "failure.resume");
    failureCard.dataset.kind = "network";
    return;
  }
  finish();
  store(JOB_KEY, null);
  progressCard.hidden = true;
  tips.hidden = false;
  setRevising(null);
  setResult(evaluation);
  job = null;
  updateCount();
  const scale = evaluation.rubric?.scale ?? state.config?.rubric?.scale ?? { max: 5 };
  const summary = t("overall.ready", { score: formatScore(evaluation.overall_score), max: number(scale.max) });
  if (currentTab() === "write") {
    navigate("overall", evaluation.id);
    ctx.announce(summary);
  } else {
    ctx.toast(summary, t("overall.view"), `#/overall/${evaluation.id}`);
  }
}

function finish() {
  setBusy(false);
  if (job) job.controller.abort();
}

async function retry() {
  if (!job) return;
  failureCard.hidden = true;
  progressCard.hidden = false;
  job.controller = new AbortController();
  setBusy(true);
  if (failureCard.dataset.kind === "failed") {
    // The same memo is queued again under the same evaluation id.
    setProgress({ status: "queued", progress_percentage: 0, secondsLeft: null });
    try {
      const { data, meta } = await post(`/evaluations/${encodeURIComponent(job.id)}/retry`);
      setProgress({ ...data, secondsLeft: secondsLeft(data.estimated_completion, meta?.timestamp) });
    } catch (error) {
      // 409: it is no longer failed (another tab retried it); anything else is shown.
      if (!(error instanceof ApiError && error.status === 409)) {
        finish();
        showFailure(errorMessage(error), null, "failure.retry");
        return;
      }
    }
  }
  // After a network failure the memo was accepted: keep following it.
  track();
}

/** Follow an evaluation submitted before the page was reloaded. */
function resume(id) {
  job = { id, controller: new AbortController() };
  tips.hidden = true;
  progressCard.hidden = false;
  setProgress({ status: "queued", progress_percentage: 0, secondsLeft: null });
  setBusy(true);
  track();
}

function onSubmit(event) {
  event.preventDefault();
  if (submitButton.disabled) return;
  start(textarea.value, revising?.id ?? null);
}

// ---------------------------------------------------------------- examples

// The example memos come from the web service (examples/memos, see examples.py):
// for each level, the first one in the page's language, else the first in English.
let examples = null;

async function exampleFor(level) {
  examples ??= fetch("/examples").then((r) => (r.ok ? r.json() : Promise.reject(r)))
    .then((body) => body.examples)
    .catch((error) => { examples = null; throw error; });
  const all = (await examples).filter((e) => e.level === level && !e.revision_of);
  return all.find((e) => e.language === ctx.boot.lang) ?? all.find((e) => e.language === "en") ?? all[0];
}

function initSamples() {
  const button = document.getElementById("sample-btn");
  const options = document.getElementById("sample-options");
  const setOpen = (open) => {
    options.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
  };
  let annotated = false;
  button.addEventListener("click", () => {
    setOpen(options.hidden);
    if (options.hidden) return;
    options.querySelector("button").focus();
    if (!annotated) annotateLanguages(options).then(() => { annotated = true; }, () => {});
  });
  options.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      setOpen(false);
      button.focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (!options.hidden && !event.target.closest(".sample-menu")) setOpen(false);
  });
  for (const item of options.querySelectorAll("[data-level]")) {
    item.addEventListener("click", () => pickSample(item.dataset.level, setOpen));
  }
}

/** Say which levels have no example in the page's language (fetched on first open). */
async function annotateLanguages(options) {
  for (const item of options.querySelectorAll("[data-level]")) {
    const example = await exampleFor(item.dataset.level);
    if (example && example.language !== ctx.boot.lang) {
      const note = document.createElement("span");
      note.className = "sample-note";
      note.textContent = t("write.sample.otherLanguage");
      item.append(note);
    }
  }
}

async function pickSample(level, setOpen) {
  setOpen(false);
  try {
    const example = await exampleFor(level);
    const response = await fetch(`/examples/${encodeURIComponent(example.name)}`);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    textarea.value = (await response.json()).text;
  } catch {
    showError(t("write.sample.error"), "server");
    return;
  }
  uploads.hideNote();
  setRevising(null);
  onInput();
  textarea.focus();
  textarea.setSelectionRange(0, 0);
  textarea.scrollTop = 0;
}

// ---------------------------------------------------------------- module API

export function init(context) {
  ctx = context;
  form = document.getElementById("write-form");
  textarea = document.getElementById("memo-text");
  count = document.getElementById("char-count");
  submitButton = document.getElementById("submit-btn");
  errorBox = document.getElementById("write-error");
  progressCard = document.getElementById("progress-card");
  failureCard = document.getElementById("failure-card");
  tips = document.getElementById("tips-card");
  failureCard.tabIndex = -1;
  maxLength = ctx.boot.maxLength;

  const draft = restore(DRAFT_KEY);
  if (draft && !textarea.value) {
    textarea.value = draft.text ?? "";
    if (draft.revising) setRevising(draft.revising);
  }
  textarea.addEventListener("input", onInput);
  // A reload or a language switch may come within the save delay: save now.
  window.addEventListener("pagehide", saveDraft);
  form.addEventListener("submit", onSubmit);
  if (ctx.boot.frontend.features.keyboard_shortcuts) {
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }
  document.getElementById("retry-btn").addEventListener("click", retry);
  uploads = setupUpload({
    form,
    maxBytes: ctx.boot.maxUploadBytes ?? 5 * 1_048_576,
    announce: (message) => ctx.announce(message),
    loginRequired: () => {
      if (state.boot.authEnabled) emit("login-required");
    },
    editor: {
      get: () => textarea.value,
      busy: () => busy,
      set(text) {
        textarea.value = text;
        onInput();
        textarea.focus();
        textarea.setSelectionRange(0, 0);
        textarea.scrollTop = 0;
      },
    },
  });
  document.getElementById("clear-btn").addEventListener("click", () => {
    textarea.value = "";
    uploads.hideNote();
    uploads.clearError();
    setRevising(null);
    onInput();
    textarea.focus();
  });
  initSamples();
  document.getElementById("revise-cancel").addEventListener("click", () => setRevising(null));
  const pending = restore(JOB_KEY);
  if (pending?.id) resume(pending.id);
  on("config", (config) => {
    maxLength = config.limits?.max_text_length ?? maxLength;
    updateCount();
  });
  on("revise", (evaluation) => {
    uploads.hideNote();
    textarea.value = evaluation.text_content;
    setRevising({ id: evaluation.id, version: evaluation.version_number ?? 1 });
    onInput();
    navigate("write");
  });
  updateCount();
}

export function show(_ctx, _param, { changed, first }) {
  // On load the autofocus attribute has done it, without forcing a layout before first paint.
  if (changed && !first && !textarea.readOnly) textarea.focus({ preventScroll: true });
}
