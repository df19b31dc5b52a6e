// What the Admin tab's panels share: element lookup, URL escaping and the
// confirmation dialog (one <dialog> in the page serves every panel).

import { ApiError, post } from "../../core/api.js";
import { slot } from "../../core/dom.js";
import { t } from "../../core/i18n.js";

export const $ = (id) => document.getElementById(id);
export const enc = encodeURIComponent;

/** A modal question; resolves {ok, reason}. Native confirm() cannot be styled or translated. */
export function confirmAction({ title, message, action, reason = null }) {
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

// An llm.yaml change that would send the API key to another server answers 409
// confirmation_required: the admin confirms (seeing where it goes) or nothing is saved.
export async function postConfirmed(path, body) {
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
