// Admin: the configuration files - the list by category, and one file open in
// the editor with live validation, save with a reason, and discard. History,
// diff and rollback live in history.js, the bulk tools in bulk.js.

import { ApiError, get, post } from "../../core/api.js";
import { clear, el, showError, showState, slot } from "../../core/dom.js";
import { dateTime, number, plural, t } from "../../core/i18n.js";
import { errorMessage } from "../../core/messages.js";
import { state } from "../../core/store.js";
import { YamlEditor } from "../../components/yaml-editor.js";
import { $, confirmAction, enc, postConfirmed } from "./shared.js";

const VALIDATE_DELAY_MS = 600;

let editor;
let current = null; // the open file as GET /admin/config/{type} returned it
let validateTimer = null;
let validateSeq = 0;
let onChanged = () => {}; // a file was opened or saved: its history is out of date

/** The open file (null before the first one is opened). */
export function openedFile() {
  return current;
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

export async function loadCategories() {
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

export const fileBox = () => $("config-file");

export function dirty() {
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

export async function openFile(type, { force = false } = {}) {
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
    onChanged();
  } catch (error) {
    loadError.textContent = errorMessage(error);
    loadError.hidden = false;
  } finally {
    loading.hidden = true;
  }
}

// ---------------------------------------------------------------- validation

export function setValidation(text, tone) {
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
  else setValidation(plural("admin.invalid", problems.length), "error");
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

export function saveProblem(message) {
  const box = $("config-save-error");
  box.textContent = message ?? "";
  box.hidden = !message;
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
    onChanged();
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

export function init({ onFileChanged }) {
  onChanged = onFileChanged;
  editor = new YamlEditor($("config-editor"), { label: t("admin.editorLabel", { file: "" }), onInput: onEdit });
  editor.input.setAttribute("aria-describedby", "config-editor-hint");
  slot($("admin-config"), "files").addEventListener("click", (event) => {
    const button = event.target.closest(".config-file-btn");
    if (button) openFile(button.dataset.type);
  });
  $("config-problems").addEventListener("click", (event) => {
    const button = event.target.closest("[data-line]");
    if (button) editor.goToLine(Number(button.dataset.line));
  });
  $("config-save").addEventListener("submit", save);
  $("config-validate").addEventListener("click", validateNow);
  $("config-discard").addEventListener("click", discard);
  // Leaving the page with unsaved edits asks first (the browser's own prompt).
  window.addEventListener("beforeunload", (event) => {
    if (dirty()) event.preventDefault();
  });
}
