// What the coach area's views share: URLs, the confirmation dialog, dates,
// scores and the words for a submission's state.

import { el, slot } from "../../core/dom.js";
import { dateTime, number, relative, t } from "../../core/i18n.js";
import { state } from "../../core/store.js";

export const enc = encodeURIComponent;
export const $ = (id) => document.getElementById(id);

/** A score as the page shows it (one decimal), or a dash. */
export function score(value) {
  return value === null || value === undefined ? "\u2014" : number(value, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
}

/** "Fri 5 Dec 2026, 14:53 (in 3 days)": the local time, and how far away it is. */
export function due(value) {
  return t("assignment.dueAt", { date: dateTime(value), relative: relative(value) });
}

/** A download link to the API (the gradebook CSV); the API names the file. */
export function downloadLink(link, path) {
  link.setAttribute("href", `${state.boot.api}${path}`);
  link.setAttribute("download", "");
}

/** The chip for a review's state: not submitted, not started, draft, released (edited since). */
export function statusChip(reviewStatus, unreleased = false) {
  const key = reviewStatus === "released" && unreleased ? "edited" : reviewStatus;
  return el("span", { class: `status-chip review-${key}`, "data-review-status": key }, t(`review.status.${key}`));
}

/** A modal question; resolves true when confirmed. Native confirm() cannot be styled or translated. */
export function confirmAction({ title, message, action }) {
  const dialog = $("coach-confirm");
  slot(dialog, "title").textContent = title;
  slot(dialog, "message").textContent = message;
  slot(dialog, "ok").textContent = action;
  dialog.returnValue = "";
  dialog.showModal();
  slot(dialog, "ok").focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

/** Show an inline problem under a form (or clear it with null). */
export function problem(box, message) {
  box.textContent = message ?? "";
  box.hidden = !message;
}

/** The message of a refused request: the API's own words for a 4xx, else the friendly one. */
export function refusal(error, friendly) {
  return error?.status >= 400 && error.status < 500 && ![401, 403, 404, 429].includes(error.status)
    ? error.message
    : friendly(error);
}
