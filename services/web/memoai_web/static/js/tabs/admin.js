// Admin (administrators only): the 13 configuration files (edit with live
// validation, save with a reason, history with diffs, rollback, validate-all,
// bulk export and import), system status, active sessions, the sign-in
// settings, users and the sign-in audit trail. Everything loads on the first visit to the tab.

import { ApiError, get, post, request } from "../core/api.js";
import { clear, el, scrollBehavior, showError, showState, slot } from "../core/dom.js";
import { dateTime, number, t } from "../core/i18n.js";
import { errorMessage } from "../core/messages.js";
import { state } from "../core/store.js";
import { renderDiff } from "../components/diff.js";
import { YamlEditor } from "../components/yaml-editor.js";

const VALIDATE_DELAY_MS = 600;

let ctx;
let loaded = false;
let editor;
let current = null; // the open file as GET /admin/config/{type} returned it
let validateTimer = null;
let validateSeq = 0;
let importFile = null;

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

// ---------------------------------------------------------------- confirmation

/** A modal question; resolves {ok, reason}. Native confirm() cannot be styled or translated. */
function confirmAction({ title, message, action, reason = null }) {
  const dialog = $("admin-confirm");
  slot(dialog, "title").textContent = title;
  slot(dialog, "message").textContent = message;
  slot(dialog, "ok").textContent = action;
  const field = slot(dialog, "reason-field");
  const input = $("admin-confirm-reason");
  field.hidden = reason === null;
  input.value = reason ?? "";
  dialog.returnValue = "";
  dialog.showModal();
  (reason === null ? slot(dialog, "ok") : input).focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve({ ok: dialog.returnValue === "ok", reason: input.value.trim() }), { once: true });
  });
}

// ---------------------------------------------------------------- configuration: file list

function kindLabel(kind) {
  return kind === "system" ? t("admin.kindSystem") : t("admin.kindBusiness");
}

function renderFiles(categories) {
  const nav = clear(slot($("admin-config"), "files"));
  for (const category of categories) {
    const list = el("ul", { class: "config-file-list" });
    for (const config of category.configs) {
      list.append(el(
        "li",
        {},
        el(
          "button",
          { type: "button", class: "config-file-btn", "data-type": config.config_type, "aria-current": current?.config_type === config.config_type ? "true" : null },
          el("span", { class: "config-file-name" }, config.filename),
          el(
            "span",
            { class: "config-file-meta" },
            [kindLabel(config.kind), config.version_number ? t("admin.versionShort", { n: number(config.version_number) }) : null].filter(Boolean).join(" · "),
          ),
        ),
      ));
    }
    nav.append(el(
      "div",
      { class: "config-category" },
      el("h3", { class: "config-category-name" }, category.name),
      category.description ? el("p", { class: "config-category-desc" }, category.description) : null,
      list,
    ));
  }
}

async function loadCategories() {
  const box = document.querySelector("#admin-config .config-states");
  if (box.dataset.view !== "ready") showState(box, "loading");
  try {
    const { data } = await get("/admin/config/categories");
    renderFiles(data.categories);
    showState(box, "ready");
  } catch (error) {
    showError(box, errorMessage(error), () => loadCategories());
  }
}

function markSelected() {
  for (const button of document.querySelectorAll("#admin-config .config-file-btn")) {
    if (button.dataset.type === current?.config_type) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
}

// ---------------------------------------------------------------- configuration: one file

const fileBox = () => $("config-file");

function dirty() {
  return Boolean(current) && editor.value !== current.content;
}

function updateDirty() {
  slot(fileBox(), "dirty").hidden = !dirty();
}

function showFileHead(data) {
  const box = fileBox();
  slot(box, "name").textContent = data.filename;
  slot(box, "kind").textContent = kindLabel(data.kind);
  slot(box, "reload").textContent = data.hot_reload ? t("admin.hotReload") : t("admin.needsRestart");
  slot(box, "restart").hidden = !data.restart_required;
  slot(box, "restart-note").hidden = !data.restart_required;
  const meta = [];
  if (data.version_number) meta.push(t("admin.versionShort", { n: number(data.version_number) }));
  if (data.updated_at) meta.push(t("admin.updated", { time: dateTime(data.updated_at) }));
  if (data.updated_by) meta.push(t("admin.by", { name: data.updated_by }));
  slot(box, "meta").textContent = meta.join(" · ");
}

async function openFile(type, { force = false } = {}) {
  if (!force && current && type !== current.config_type && dirty()) {
    const answer = await confirmAction({
      title: t("admin.unsavedTitle"),
      message: t("admin.unsavedBody", { file: current.filename }),
      action: t("admin.discardAndOpen"),
    });
    if (!answer.ok) return;
  }
  const box = fileBox();
  $("config-pick").hidden = true;
  box.hidden = false;
  const loading = slot(box, "loading");
  const loadError = slot(box, "load-error");
  loading.hidden = false;
  loadError.hidden = true;
  $("config-editor").hidden = true;
  try {
    const { data } = await get(`/admin/config/${enc(type)}`);
    current = data;
    showFileHead(data);
    editor.input.setAttribute("aria-label", t("admin.editorLabel", { file: data.filename }));
    editor.value = data.content;
    $("config-editor").hidden = false;
    showProblems([], null);
    $("config-save-error").hidden = true;
    $("config-reason").value = "";
    $("config-diff").hidden = true;
    updateDirty();
    markSelected();
    loadHistory();
  } catch (error) {
    loadError.textContent = errorMessage(error);
    loadError.hidden = false;
  } finally {
    loading.hidden = true;
  }
}

// ---------------------------------------------------------------- validation

function setValidation(text, tone) {
  const status = $("config-validation-status");
  status.textContent = text;
  status.dataset.tone = tone ?? "";
}

/** Show problems [{field, line, message}]; `valid` null means "not checked yet". */
function showProblems(problems, valid) {
  const list = clear($("config-problems"));
  editor.mark(problems.filter((p) => p.line).map((p) => [p.line, p.message]));
  for (const problem of problems) {
    const where = problem.line
      ? t("admin.problemAt", { line: number(problem.line), field: problem.field || "—" })
      : (problem.field || "");
    const content = [el("span", { class: "problem-where" }, where), el("span", { class: "problem-text" }, problem.message)];
    list.append(el(
      "li",
      {},
      problem.line
        ? el("button", { type: "button", class: "problem", "data-line": String(problem.line) }, content)
        : el("div", { class: "problem" }, content),
    ));
  }
  if (valid === null) setValidation("", null);
  else if (valid) setValidation(t("admin.valid"), "ok");
  else setValidation(t("admin.invalid", { count: number(problems.length) }), "error");
}

async function validateNow() {
  clearTimeout(validateTimer);
  if (!current) return;
  const seq = ++validateSeq;
  const type = current.config_type;
  setValidation(t("admin.checking"), "busy");
  try {
    const { data } = await post(`/admin/config/${enc(type)}/validate`, { config_content: editor.value });
    // Answers can arrive out of order while typing: only the latest counts.
    if (seq !== validateSeq || current?.config_type !== type) return;
    showProblems(data.problems ?? [], data.valid);
  } catch (error) {
    if (seq !== validateSeq) return;
    setValidation(errorMessage(error), "error");
  }
}

function onEdit() {
  updateDirty();
  $("config-save-error").hidden = true;
  clearTimeout(validateTimer);
  validateTimer = setTimeout(validateNow, VALIDATE_DELAY_MS);
}

// ---------------------------------------------------------------- save, discard

function saveProblem(message) {
  const box = $("config-save-error");
  box.textContent = message ?? "";
  box.hidden = !message;
}

// An llm.yaml change that would send the API key to another server answers 409
// confirmation_required: the admin confirms (seeing where it goes) or nothing is saved.
async function postConfirmed(path, body) {
  try {
    return await post(path, body);
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== "confirmation_required") throw error;
    const answer = await confirmAction({
      title: t("admin.confirmKeyTitle"),
      message: error.message,
      action: t("admin.confirmKeyAction"),
    });
    if (!answer.ok) throw error;
    return post(path, { ...body, confirm_base_url_change: true });
  }
}

async function save(event) {
  event.preventDefault();
  if (!current) return;
  const reasonInput = $("config-reason");
  const reason = reasonInput.value.trim();
  if (!reason) {
    saveProblem(t("admin.reasonRequired"));
    reasonInput.setAttribute("aria-invalid", "true");
    reasonInput.focus();
    return;
  }
  reasonInput.removeAttribute("aria-invalid");
  const button = $("config-save-btn");
  button.disabled = true;
  const content = editor.value;
  const type = current.config_type;
  try {
    const { data } = await postConfirmed(`/admin/config/${enc(type)}`, { config_content: content, change_reason: reason });
    validateSeq += 1; // a validation still in flight is about older text
    clearTimeout(validateTimer);
    Object.assign(current, {
      content,
      content_hash: data.content_hash,
      version_number: data.version_number,
      restart_required: data.restart_required,
      updated_at: new Date().toISOString(),
      updated_by: state.session?.user?.username ?? current.updated_by,
    });
    showFileHead(current);
    reasonInput.value = "";
    saveProblem(null);
    showProblems([], true);
    updateDirty();
    // The status line is a live region: it announces the save.
    setValidation(t("admin.saved", { file: current.filename, n: number(data.version_number) }), "ok");
    loadHistory();
    loadCategories();
  } catch (error) {
    if (error instanceof ApiError && error.code === "config_invalid") {
      const problems = (error.errors.length ? error.errors : [error]).map((e) => ({
        field: e.field ?? null,
        line: e.details?.line ?? null,
        message: e.details?.problem ?? e.message,
      }));
      showProblems(problems, false);
      saveProblem(t("admin.saveInvalid"));
    } else {
      saveProblem(errorMessage(error));
    }
  } finally {
    button.disabled = false;
  }
}

async function discard() {
  if (!current || !dirty()) return;
  const answer = await confirmAction({
    title: t("admin.discardTitle"),
    message: t("admin.discardBody", { file: current.filename }),
    action: t("admin.discard"),
  });
  if (!answer.ok) return;
  editor.value = current.content;
  showProblems([], null);
  saveProblem(null);
  updateDirty();
  editor.input.focus();
}

// ---------------------------------------------------------------- history, diff, rollback

async function loadHistory() {
  const type = current.config_type;
  const box = fileBox();
  const list = clear($("config-versions"));
  const errorBox = slot(box, "history-error");
  errorBox.hidden = true;
  slot(box, "history-empty").hidden = true;
  list.setAttribute("aria-busy", "true");
  try {
    const { data } = await get(`/admin/config/${enc(type)}/history`);
    if (current?.config_type !== type) return;
    data.versions.forEach((version, index) => list.append(versionItem(version, index === 0)));
    slot(box, "history-empty").hidden = data.versions.length > 0;
  } catch (error) {
    errorBox.textContent = errorMessage(error);
    errorBox.hidden = false;
  } finally {
    list.removeAttribute("aria-busy");
  }
}

function versionItem(version, latest) {
  const n = number(version.version_number);
  const meta = [version.changed_by, dateTime(version.created_at)].filter(Boolean).join(" · ");
  return el(
    "li",
    { class: "version" },
    el(
      "div",
      { class: "version-main" },
      el("span", { class: "version-num" }, t("admin.versionShort", { n })),
      latest ? el("span", { class: "kind-chip" }, t("admin.current")) : null,
      el("span", { class: "version-reason" }, version.change_reason || t("admin.noReason")),
      el("span", { class: "version-meta" }, meta),
    ),
    el(
      "div",
      { class: "version-actions" },
      el("button", { type: "button", class: "btn btn-small", "data-diff": version.version_id, "data-n": String(version.version_number) }, t("admin.showChanges")),
      latest ? null : el("button", { type: "button", class: "btn btn-small", "data-rollback": version.version_id, "data-n": String(version.version_number) }, t("admin.rollback", { n })),
    ),
  );
}

async function showDiff(versionId, n) {
  const panel = $("config-diff");
  const body = clear(slot(panel, "body"));
  slot(panel, "title").textContent = t("admin.diffTitle", { n: number(n) });
  panel.hidden = false;
  body.append(el("div", { class: "skeleton skeleton-block", "aria-busy": "true" }));
  try {
    const { data } = await get(`/admin/config/${enc(current.config_type)}/versions/${enc(versionId)}`);
    clear(body).append(renderDiff(data.previous_content ?? "", data.content, {
      oldLabel: t("diff.before"),
      newLabel: t("admin.versionShort", { n: number(n) }),
    }));
  } catch (error) {
    clear(body).append(el("p", { class: "field-error", role: "alert" }, errorMessage(error)));
  }
  panel.focus({ preventScroll: true });
  panel.scrollIntoView({ behavior: scrollBehavior(), block: "nearest" });
}

async function rollback(versionId, n) {
  const file = current;
  const extra = dirty() ? ` ${t("admin.rollbackDirty")}` : "";
  const answer = await confirmAction({
    title: t("admin.rollbackTitle", { n: number(n) }),
    message: t("admin.rollbackBody", { file: file.filename, n: number(n) }) + extra,
    action: t("admin.rollback", { n: number(n) }),
    reason: t("admin.rollbackReason", { n: number(n) }),
  });
  if (!answer.ok) return;
  try {
    const body = { version_id: Number(versionId) };
    if (answer.reason) body.change_reason = answer.reason;
    const { data } = await postConfirmed(`/admin/config/${enc(file.config_type)}/rollback`, body);
    await openFile(file.config_type, { force: true });
    setValidation(t("admin.rolledBack", { file: file.filename, n: number(n), v: number(data.version_number) }), "ok");
    loadCategories();
  } catch (error) {
    saveProblem(errorMessage(error));
  }
}

// ---------------------------------------------------------------- validate all, export, import

function showBulk(title, results, tone) {
  const box = $("config-bulk");
  box.hidden = false;
  box.dataset.tone = tone;
  slot(box, "title").textContent = title;
  const list = clear(slot(box, "list"));
  for (const [type, result] of Object.entries(results ?? {})) {
    const problems = result.problems ?? [];
    const parts = [result.valid ? t("admin.valid") : t("admin.invalid", { count: number(problems.length) })];
    if (result.changed !== undefined) parts.push(result.changed ? t("admin.changed") : t("admin.unchanged"));
    list.append(el(
      "li",
      { class: result.valid ? "bulk-ok" : "bulk-bad" },
      el("span", { class: "bulk-file" }, type),
      el("span", {}, parts.join(" · ")),
      problems.length
        ? el("ul", { class: "bulk-problems" }, problems.map((p) => el(
          "li",
          {},
          [p.file, p.line ? t("admin.problemAt", { line: number(p.line), field: p.field || "—" }) : p.field, p.message].filter(Boolean).join(" — "),
        )))
        : null,
    ));
  }
}

async function validateAll() {
  const button = $("config-validate-all");
  button.disabled = true;
  try {
    const { data } = await post("/admin/config/validate-all");
    showBulk(data.valid ? t("admin.allValid") : t("admin.someInvalid"), data.results, data.valid ? "ok" : "error");
  } catch (error) {
    showBulk(errorMessage(error), {}, "error");
  } finally {
    button.disabled = false;
  }
}

async function sendImport(validateOnly) {
  const form = new FormData();
  form.append("file", importFile, importFile.name);
  return post(`/admin/config/bulk-import?validate_only=${validateOnly}`, form);
}

function importFailure(error) {
  // A refused import may still list what was wrong with each file.
  const results = error instanceof ApiError ? error.details?.results : null;
  showBulk(errorMessage(error), results ?? {}, "error");
}

async function checkImport(event) {
  event.preventDefault();
  const input = $("config-import-file");
  $("config-import-apply").hidden = true;
  importFile = input.files?.[0] ?? null;
  if (!importFile) {
    showBulk(t("admin.importPick"), {}, "error");
    input.focus();
    return;
  }
  try {
    const { data } = await sendImport(true);
    showBulk(data.valid ? t("admin.importValid") : t("admin.importInvalid"), data.results, data.valid ? "ok" : "error");
    $("config-import-apply").hidden = !data.valid;
  } catch (error) {
    importFailure(error);
  }
}

async function applyImport() {
  const answer = await confirmAction({
    title: t("admin.importApplyTitle"),
    message: t("admin.importApplyBody"),
    action: t("admin.importApply"),
  });
  if (!answer.ok) return;
  $("config-import-apply").hidden = true;
  try {
    const { data } = await sendImport(false);
    showBulk(data.applied ? t("admin.importApplied") : t("admin.importInvalid"), data.results, data.applied ? "ok" : "error");
    loadCategories();
    if (current && !dirty()) openFile(current.config_type, { force: true });
  } catch (error) {
    importFailure(error);
  }
}

// ---------------------------------------------------------------- system status

function uptime(seconds) {
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const unit = (value, name) => number(value, { style: "unit", unit: name, unitDisplay: "short" });
  if (days) return `${unit(days, "day")} ${unit(hours, "hour")}`;
  if (hours) return `${unit(hours, "hour")} ${unit(minutes, "minute")}`;
  return unit(minutes, "minute");
}

function statusItem(label, ok, text) {
  const tone = ok === null ? "neutral" : ok ? "ok" : "bad";
  return el(
    "div",
    { class: `status-item status-${tone}` },
    el("dt", {}, label),
    el(
      "dd",
      {},
      el("span", { class: "status-dot", "aria-hidden": "true" }),
      ok === null ? null : el("span", { class: "status-word" }, ok ? t("admin.ok") : t("admin.down")),
      el("span", {}, text),
    ),
  );
}

async function loadStatus() {
  const box = document.querySelector("#admin-status .status-states");
  showState(box, "loading");
  try {
    const { data } = await get("/admin/status");
    const workers = data.workers ?? [];
    const alive = workers.filter((w) => w.alive).length;
    const grid = clear(slot(box, "grid"));
    grid.append(
      statusItem(t("admin.statusDb"), data.database.ok, [data.database.backend, data.database.latency_ms !== null && data.database.latency_ms !== undefined ? t("admin.ms", { n: number(data.database.latency_ms, { maximumFractionDigits: 1 }) }) : null].filter(Boolean).join(" · ")),
      statusItem(t("admin.statusBroker"), data.broker.ok, t("admin.queueDepth", { n: number(data.broker.queue_depth ?? 0) })),
      statusItem(t("admin.statusWorkers"), workers.length ? alive > 0 : false, [t("admin.workersAlive", { alive: number(alive), total: number(workers.length) }), workers.map((w) => w.name).join(", ")].filter(Boolean).join(" · ")),
      statusItem(t("admin.statusLlm"), data.llm.reachable, [data.llm.provider, data.llm.model].filter(Boolean).join(" · ")),
      statusItem(t("admin.statusVersion"), null, data.version ?? "—"),
      statusItem(t("admin.statusUptime"), null, uptime(data.uptime_seconds ?? 0)),
      statusItem(t("admin.statusDebug"), null, data.debug_enabled ? t("debug.on") : t("debug.off")),
    );
    showState(box, "ready");
  } catch (error) {
    showError(box, errorMessage(error), () => loadStatus());
  }
}

// ---------------------------------------------------------------- sessions

async function loadSessions() {
  const box = document.querySelector("#admin-sessions .sessions-states");
  showState(box, "loading");
  try {
    const { data } = await get("/admin/sessions?active=true");
    const rows = clear(slot(box, "rows"));
    for (const item of data.items) {
      const who = item.username ?? t("admin.anonymous");
      rows.append(el(
        "tr",
        {},
        el("th", { scope: "row" }, who),
        el("td", {}, item.ip_address ?? "—"),
        el("td", { class: "agent", title: item.user_agent ?? "" }, item.user_agent ?? "—"),
        el("td", { class: "num" }, item.last_activity ? dateTime(item.last_activity) : "—"),
        el(
          "td",
          {},
          item.current
            ? el("span", { class: "kind-chip" }, t("admin.thisSession"))
            : el("button", { type: "button", class: "btn btn-small", "data-revoke": item.id, "data-who": who, "aria-label": t("admin.revokeLabel", { user: who }) }, t("admin.revoke")),
        ),
      ));
    }
    showState(box, data.items.length ? "ready" : "empty");
  } catch (error) {
    showError(box, errorMessage(error), () => loadSessions());
  }
}

async function revoke(id, who) {
  const answer = await confirmAction({ title: t("admin.revokeTitle"), message: t("admin.revokeBody", { user: who }), action: t("admin.revoke") });
  if (!answer.ok) return;
  try {
    await request("DELETE", `/admin/sessions/${enc(id)}`);
    ctx.announce(t("admin.revoked", { user: who }));
  } catch (error) {
    ctx.announce(errorMessage(error));
  }
  loadSessions();
}

// ---------------------------------------------------------------- authentication settings

const AUTH_FLAGS = ["enabled", "secure_cookies", "csrf_protection"];
const AUTH_NUMBERS = ["jwt_expiration_hours", "session_timeout", "max_login_attempts", "lockout_duration", "bcrypt_rounds", "password_min_length"];
let authLoaded = null; // the settings as last read, to send only what changed

function fillAuth(data) {
  authLoaded = data;
  const form = $("auth-form");
  for (const name of AUTH_FLAGS) form.elements[name].checked = Boolean(data[name]);
  for (const name of AUTH_NUMBERS) form.elements[name].value = String(data[name]);
  form.elements.mode.value = data.mode;
  const notes = [];
  if (data.version_number) notes.push(t("admin.versionShort", { n: number(data.version_number) }));
  if (data.restart_required) notes.push(t("admin.restartRequired"));
  $("auth-saved").textContent = notes.join(" · ");
}

async function loadAuth() {
  const box = document.querySelector("#admin-auth .auth-states");
  if (box.dataset.view !== "ready") showState(box, "loading");
  try {
    const { data } = await get("/admin/auth/config");
    fillAuth(data);
    showState(box, "ready");
  } catch (error) {
    showError(box, errorMessage(error), () => loadAuth());
  }
}

function authProblem(message, field = null) {
  const box = $("auth-error");
  box.textContent = message ?? "";
  box.hidden = !message;
  const form = $("auth-form");
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const target = field ? form.elements[field] : null;
  if (target) {
    target.setAttribute("aria-invalid", "true");
    target.focus();
  }
}

async function saveAuth(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const body = {};
  for (const name of AUTH_FLAGS) {
    if (form.elements[name].checked !== authLoaded[name]) body[name] = form.elements[name].checked;
  }
  for (const name of AUTH_NUMBERS) {
    const input = form.elements[name];
    const value = Number(input.value);
    if (input.value.trim() === "" || !Number.isFinite(value) || !input.checkValidity()) {
      authProblem(t("admin.authBadNumber", { field: form.querySelector(`label[for="${input.id}"]`).textContent }), name);
      return;
    }
    if (value !== authLoaded[name]) body[name] = value;
  }
  if (form.elements.mode.value !== authLoaded.mode) body.mode = form.elements.mode.value;
  if (!Object.keys(body).length) {
    authProblem(t("admin.authNoChange"));
    return;
  }
  const reason = form.elements.change_reason.value.trim();
  if (reason) body.change_reason = reason;
  form.setAttribute("aria-busy", "true");
  try {
    const { data } = await request("PUT", "/admin/auth/config", { body });
    authProblem(null);
    form.elements.change_reason.value = "";
    fillAuth(data);
    $("auth-saved").textContent = [t("admin.authSaved", { n: number(data.version_number) }), data.restart_required ? t("admin.restartRequired") : null].filter(Boolean).join(" · ");
    loadCategories();
  } catch (error) {
    const field = error instanceof ApiError ? error.field : null;
    const known = field && form.elements[field] ? field : null;
    authProblem(error instanceof ApiError && error.status >= 400 && error.status < 500 && ![401, 403, 429].includes(error.status) ? error.message : errorMessage(error), known);
  } finally {
    form.removeAttribute("aria-busy");
  }
}

// ---------------------------------------------------------------- users

async function loadUsers() {
  const box = document.querySelector("#admin-users .users-states");
  if (box.dataset.view !== "ready") showState(box, "loading");
  try {
    const { data } = await get("/users?limit=200");
    const me = state.session?.user?.id;
    const rows = clear(slot(box, "rows"));
    for (const user of data.items) {
      const locked = user.locked_until && new Date(user.locked_until) > new Date();
      const status = [user.is_active ? t("admin.active") : t("admin.inactive"), locked ? t("admin.locked") : null].filter(Boolean).join(" · ");
      rows.append(el(
        "tr",
        { class: user.is_active ? null : "is-inactive" },
        el("th", { scope: "row" }, user.username),
        el("td", {}, user.is_admin ? t("admin.roleAdmin") : t("admin.roleUser")),
        el("td", {}, status),
        el("td", { class: "num" }, user.last_login_at ? dateTime(user.last_login_at) : t("admin.never")),
        el(
          "td",
          {},
          user.id === me
            ? el("span", { class: "kind-chip" }, t("admin.you"))
            : el(
              "button",
              {
                type: "button",
                class: "btn btn-small",
                "data-user": user.id,
                "data-name": user.username,
                "data-active": String(user.is_active),
              },
              user.is_active ? t("admin.deactivate") : t("admin.reactivate"),
            ),
        ),
      ));
    }
    showState(box, "ready");
  } catch (error) {
    showError(box, errorMessage(error), () => loadUsers());
  }
}

function userProblem(message) {
  const box = $("user-error");
  box.textContent = message ?? "";
  box.hidden = !message;
}

async function createUser(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const username = form.elements.username.value.trim();
  const password = form.elements.password.value;
  if (!username || !password) {
    userProblem(t("auth.missing"));
    (username ? form.elements.password : form.elements.username).focus();
    return;
  }
  form.setAttribute("aria-busy", "true");
  try {
    const { data } = await post("/users", { username, password, is_admin: form.elements.is_admin.checked });
    form.reset();
    userProblem(null);
    ctx.announce(t("admin.userCreated", { name: data.user.username }));
    loadUsers();
  } catch (error) {
    userProblem(error instanceof ApiError && error.status < 500 && error.status !== 401 && error.status !== 403 ? error.message : errorMessage(error));
    const field = error instanceof ApiError ? form.elements[error.field] : null;
    field?.focus();
  } finally {
    form.removeAttribute("aria-busy");
  }
}

async function toggleUser(button) {
  const active = button.dataset.active === "true";
  const name = button.dataset.name;
  if (active) {
    const answer = await confirmAction({ title: t("admin.deactivateTitle"), message: t("admin.deactivateBody", { name }), action: t("admin.deactivate") });
    if (!answer.ok) return;
  }
  try {
    await request("PUT", `/users/${enc(button.dataset.user)}`, { body: { is_active: !active } });
    ctx.announce(t(active ? "admin.deactivated" : "admin.reactivated", { name }));
  } catch (error) {
    userProblem(errorMessage(error));
  }
  loadUsers();
}

// ---------------------------------------------------------------- auth events

const EVENTS_PAGE = 50;
let eventsShown = 0;
let eventsQuery = null; // the filters of the list on screen, for "Show more"

/** The first page for the form's filters, or (more) the next page of the same list. */
async function loadEvents({ more = false } = {}) {
  const box = document.querySelector("#admin-events .events-states");
  const moreButton = slot(box, "more");
  if (!more) {
    showState(box, "loading");
    const form = $("event-filters");
    eventsQuery = new URLSearchParams();
    const type = form.elements.event_type.value;
    const username = form.elements.username.value.trim();
    if (type) eventsQuery.set("event_type", type);
    if (username) eventsQuery.set("username", username);
    eventsShown = 0;
  }
  const query = new URLSearchParams(eventsQuery);
  query.set("limit", String(EVENTS_PAGE));
  query.set("offset", String(eventsShown));
  moreButton.disabled = true;
  try {
    const { data } = await get(`/admin/auth/events?${query}`);
    const rows = slot(box, "rows");
    if (!more) clear(rows);
    for (const item of data.items) {
      rows.append(el(
        "tr",
        {},
        el("td", { class: "num" }, dateTime(item.created_at)),
        el("td", {}, el("code", {}, item.event_type)),
        el("td", {}, item.username ?? "—"),
        el("td", {}, el("span", { class: item.success ? "result-chip result-ok" : "result-chip result-bad" }, item.success ? t("admin.success") : t("admin.failure"))),
        el("td", {}, item.ip_address ?? "—"),
      ));
    }
    eventsShown += data.items.length;
    slot(box, "total").textContent = t("admin.eventsShown", { shown: number(eventsShown), total: number(data.total) });
    moreButton.hidden = eventsShown >= data.total || data.items.length === 0;
    showState(box, eventsShown ? "ready" : "empty");
  } catch (error) {
    if (more) ctx.toast(errorMessage(error));
    else showError(box, errorMessage(error), () => loadEvents());
  } finally {
    moreButton.disabled = false;
  }
}

// ---------------------------------------------------------------- wiring

export function init(context) {
  ctx = context;
  const panel = $("panel-admin");
  editor = new YamlEditor($("config-editor"), { label: t("admin.editorLabel", { file: "" }), onInput: onEdit });
  editor.input.setAttribute("aria-describedby", "config-editor-hint");
  $("config-export").href = `${context.boot.api}/admin/config/bulk-export`;
  slot($("admin-config"), "files").addEventListener("click", (event) => {
    const button = event.target.closest(".config-file-btn");
    if (button) openFile(button.dataset.type);
  });
  $("config-problems").addEventListener("click", (event) => {
    const button = event.target.closest("[data-line]");
    if (button) editor.goToLine(Number(button.dataset.line));
  });
  $("config-versions").addEventListener("click", (event) => {
    const diff = event.target.closest("[data-diff]");
    if (diff) showDiff(diff.dataset.diff, Number(diff.dataset.n));
    const back = event.target.closest("[data-rollback]");
    if (back) rollback(back.dataset.rollback, Number(back.dataset.n));
  });
  $("config-diff").querySelector("[data-close-diff]").addEventListener("click", () => {
    $("config-diff").hidden = true;
  });
  $("config-save").addEventListener("submit", save);
  $("config-validate").addEventListener("click", validateNow);
  $("config-discard").addEventListener("click", discard);
  $("config-validate-all").addEventListener("click", validateAll);
  $("config-import").addEventListener("submit", checkImport);
  $("config-import-file").addEventListener("change", () => { $("config-import-apply").hidden = true; });
  $("config-import-apply").addEventListener("click", applyImport);
  $("status-refresh").addEventListener("click", loadStatus);
  $("sessions-refresh").addEventListener("click", loadSessions);
  slot($("admin-sessions"), "rows").addEventListener("click", (event) => {
    const button = event.target.closest("[data-revoke]");
    if (button) revoke(button.dataset.revoke, button.dataset.who);
  });
  $("auth-form").addEventListener("submit", saveAuth);
  $("user-create").addEventListener("submit", createUser);
  slot($("admin-users"), "rows").addEventListener("click", (event) => {
    const button = event.target.closest("[data-user]");
    if (button) toggleUser(button);
  });
  $("event-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    loadEvents();
  });
  slot(document.querySelector("#admin-events .events-states"), "more")
    .addEventListener("click", () => loadEvents({ more: true }));
  for (const link of panel.querySelectorAll(".help-toc [data-scroll]")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const target = document.querySelector(link.getAttribute("href"));
      target.scrollIntoView({ behavior: scrollBehavior() });
      target.focus({ preventScroll: true });
    });
  }
  // Leaving the page with unsaved edits asks first (the browser's own prompt).
  window.addEventListener("beforeunload", (event) => {
    if (dirty()) event.preventDefault();
  });
}

export function show() {
  if (loaded || !state.session?.user?.is_admin) return;
  loaded = true;
  loadCategories();
  loadStatus();
  loadSessions();
  loadAuth();
  loadUsers();
  loadEvents();
}
