// Admin: every configuration file at once - validate all, export them as a zip
// and import a zip (checked first, applied after a confirmation).

import { ApiError, post } from "../../core/api.js";
import { clear, el, slot } from "../../core/dom.js";
import { number, plural, t } from "../../core/i18n.js";
import { errorMessage } from "../../core/messages.js";
import { $, confirmAction } from "./shared.js";
import { dirty, loadCategories, openFile, openedFile } from "./config-editor.js";

let importFile = null;

function showBulk(title, results, tone) {
  const box = $("config-bulk");
  box.hidden = false;
  box.dataset.tone = tone;
  slot(box, "title").textContent = title;
  const list = clear(slot(box, "list"));
  for (const [type, result] of Object.entries(results ?? {})) {
    const problems = result.problems ?? [];
    const parts = [result.valid ? t("admin.valid") : plural("admin.invalid", problems.length)];
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
    const current = openedFile();
    if (current && !dirty()) openFile(current.config_type, { force: true });
  } catch (error) {
    importFailure(error);
  }
}

export function init(context) {
  $("config-export").href = `${context.boot.api}/admin/config/bulk-export`;
  $("config-validate-all").addEventListener("click", validateAll);
  $("config-import").addEventListener("submit", checkImport);
  $("config-import-file").addEventListener("change", () => { $("config-import-apply").hidden = true; });
  $("config-import-apply").addEventListener("click", applyImport);
}
