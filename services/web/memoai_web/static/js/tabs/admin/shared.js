// What the Admin tab's panels share: element lookup, URL escaping and the
// confirmation dialog (one <dialog> in the page serves every panel).

import { slot } from "../../core/dom.js";

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
