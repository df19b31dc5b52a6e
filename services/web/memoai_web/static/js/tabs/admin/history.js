// Admin: a configuration file's saved versions - the list, the diff of one
// version against the one before it, and rollback to it.

import { get } from "../../core/api.js";
import { clear, el, scrollBehavior, slot } from "../../core/dom.js";
import { dateTime, number, t } from "../../core/i18n.js";
import { errorMessage } from "../../core/messages.js";
import { renderDiff } from "../../components/diff.js";
import { $, confirmAction, enc, postConfirmed } from "./shared.js";
import { dirty, fileBox, loadCategories, openFile, openedFile, saveProblem, setValidation } from "./config-editor.js";

export async function loadHistory() {
  const type = openedFile().config_type;
  const box = fileBox();
  const list = clear($("config-versions"));
  const errorBox = slot(box, "history-error");
  errorBox.hidden = true;
  slot(box, "history-empty").hidden = true;
  list.setAttribute("aria-busy", "true");
  try {
    const { data } = await get(`/admin/config/${enc(type)}/history`);
    if (openedFile()?.config_type !== type) return;
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
    const { data } = await get(`/admin/config/${enc(openedFile().config_type)}/versions/${enc(versionId)}`);
    const file = openedFile().filename;
    const dot = file.lastIndexOf(".");
    const [stem, ext] = dot > 0 ? [file.slice(0, dot), file.slice(dot)] : [file, ""];
    clear(body).append(await renderDiff(data.previous_content ?? "", data.content, {
      oldLabel: t("diff.before"),
      newLabel: t("admin.versionShort", { n: number(n) }),
      oldName: `${stem}.before-v${n}${ext}`,
      newName: `${stem}.v${n}${ext}`,
    }));
  } catch (error) {
    clear(body).append(el("p", { class: "field-error", role: "alert" }, errorMessage(error)));
  }
  panel.focus({ preventScroll: true });
  panel.scrollIntoView({ behavior: scrollBehavior(), block: "nearest" });
}

async function rollback(versionId, n) {
  const file = openedFile();
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

export function init() {
  $("config-versions").addEventListener("click", (event) => {
    const diff = event.target.closest("[data-diff]");
    if (diff) showDiff(diff.dataset.diff, Number(diff.dataset.n));
    const back = event.target.closest("[data-rollback]");
    if (back) rollback(back.dataset.rollback, Number(back.dataset.n));
  });
  $("config-diff").querySelector("[data-close-diff]").addEventListener("click", () => {
    $("config-diff").hidden = true;
  });
}
