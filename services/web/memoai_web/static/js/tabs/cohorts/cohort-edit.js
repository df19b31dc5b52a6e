// Rename a cohort or change its description, in place on the cohort view.
// PUT /cohorts/{id} is for admins only, so only they get the Edit button; the
// API's refusals (a blank or over-long name) show under the form.

import { request } from "../../core/api.js";
import { el } from "../../core/dom.js";
import { t } from "../../core/i18n.js";
import { errorMessage } from "../../core/messages.js";
import { enc, problem, refusal } from "./shared.js";

let toggle;
let form;
let errorBox;
let current = null;
let onSaved = () => {};
let announce = () => {};

function field(id, labelKey, control) {
  return el("div", { class: "inline-field" }, el("label", { class: "label", for: id }, t(labelKey)), control);
}

function build() {
  const name = el("input", { class: "input", id: "cohort-edit-name", name: "name", maxlength: "120", autocomplete: "off", required: true });
  const description = el("textarea", { class: "input", id: "cohort-edit-description", name: "description", rows: "2", maxlength: "2000" });
  errorBox = el("p", { class: "field-error", id: "cohort-edit-error", role: "alert", hidden: true });
  form = el(
    "form",
    { class: "assignment-form cohort-edit", id: "cohort-edit", novalidate: true, hidden: true, "aria-labelledby": "cohort-edit-title" },
    el("h3", { class: "form-title", id: "cohort-edit-title" }, t("cohorts.editTitle")),
    field(name.id, "cohorts.name", name),
    field(description.id, "cohorts.description", description),
    errorBox,
    el(
      "div",
      { class: "form-actions" },
      el("button", { type: "submit", class: "btn btn-primary" }, t("cohorts.saveDetails")),
      el("button", { type: "button", class: "btn btn-ghost", "data-action": "cancel" }, t("action.cancel")),
    ),
  );
  toggle = el("button", { type: "button", class: "btn btn-small", id: "cohort-edit-toggle", "aria-expanded": "false", "aria-controls": form.id, hidden: true }, t("cohorts.edit"));
}

function setOpen(open, { focus = true } = {}) {
  form.hidden = !open;
  toggle.setAttribute("aria-expanded", String(open));
  if (!open) {
    if (focus) toggle.focus();
    return;
  }
  form.elements.name.value = current.name;
  form.elements.description.value = current.description;
  form.elements.name.removeAttribute("aria-invalid");
  problem(errorBox, null);
  form.elements.name.focus();
}

async function save(event) {
  event.preventDefault();
  const name = form.elements.name.value.trim();
  const description = form.elements.description.value.trim();
  if (!name) {
    problem(errorBox, t("cohorts.nameMissing"));
    form.elements.name.setAttribute("aria-invalid", "true");
    form.elements.name.focus();
    return;
  }
  form.setAttribute("aria-busy", "true");
  try {
    const { data } = await request("PUT", `/cohorts/${enc(current.id)}`, { body: { name, description } });
    current = data;
    setOpen(false);
    onSaved(data);
    announce(t("cohorts.detailsSaved", { name: data.name }));
  } catch (error) {
    problem(errorBox, refusal(error, errorMessage));
    form.elements.name.focus();
  } finally {
    form.removeAttribute("aria-busy");
  }
}

/** Put the Edit button first in `actions` and the form after `head`. */
export function init({ actions, head, saved, ctx }) {
  build();
  onSaved = saved;
  announce = (text) => ctx.announce(text);
  actions.prepend(toggle);
  head.after(form);
  toggle.addEventListener("click", () => setOpen(form.hidden));
  form.addEventListener("submit", save);
  form.querySelector("[data-action='cancel']").addEventListener("click", () => setOpen(false));
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      setOpen(false);
    }
  });
  form.addEventListener("input", (event) => {
    if (event.target.name === "name") event.target.removeAttribute("aria-invalid");
  });
}

/** The cohort on screen; another one closes the form. */
export function show(cohort, canEdit) {
  const other = current?.id !== cohort.id;
  current = cohort;
  toggle.hidden = !canEdit;
  if (other || !canEdit) setOpen(false, { focus: false });
}
