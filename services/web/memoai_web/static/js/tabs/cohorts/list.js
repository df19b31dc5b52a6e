// The coach area's first view: the cohorts you coach (every cohort for an
// admin), and for admins a form to create one.

import { get, post } from "../../core/api.js";
import { clear, el, showError, showState, slot } from "../../core/dom.js";
import { plural, t } from "../../core/i18n.js";
import { errorMessage } from "../../core/messages.js";
import { navigate } from "../../core/router.js";
import { state } from "../../core/store.js";
import { $, enc, problem, refusal } from "./shared.js";

let box;
let form;
let ctx;

function card(cohort) {
  return el(
    "li",
    { class: "cohort-card", "data-cohort": cohort.id },
    el(
      "a",
      { class: "cohort-link", href: `#/cohorts/cohort/${enc(cohort.id)}` },
      el("span", { class: "cohort-name" }, cohort.name),
      cohort.description ? el("span", { class: "cohort-desc" }, cohort.description) : null,
      el(
        "span",
        { class: "cohort-counts" },
        [plural("cohorts.writers", cohort.writers), plural("cohorts.coaches", cohort.coaches), plural("cohorts.assignmentCount", cohort.assignments)].join(" · "),
      ),
      el("span", { class: "kind-chip" }, t(`cohorts.myRole.${cohort.my_role}`)),
    ),
  );
}

export async function load() {
  const admin = Boolean(state.session?.user?.is_admin);
  form.hidden = !admin;
  if (box.dataset.view !== "ready") showState(box, "loading");
  try {
    const { data } = await get("/cohorts?limit=200");
    const items = clear(slot(box, "items"));
    for (const cohort of data.items) items.append(card(cohort));
    slot(box, "empty-body").textContent = t(admin ? "cohorts.empty.admin" : "cohorts.empty.coach");
    showState(box, data.items.length ? "ready" : "empty");
  } catch (error) {
    showError(box, errorMessage(error), () => load());
  }
}

async function create(event) {
  event.preventDefault();
  const errorBox = $("cohort-create-error");
  const name = form.elements.name.value.trim();
  if (!name) {
    problem(errorBox, t("cohorts.nameMissing"));
    form.elements.name.focus();
    return;
  }
  form.setAttribute("aria-busy", "true");
  try {
    const { data } = await post("/cohorts", { name, description: form.elements.description.value.trim() });
    form.reset();
    problem(errorBox, null);
    ctx.announce(t("cohorts.created", { name: data.name }));
    navigate("cohorts", `cohort/${data.id}`);
  } catch (error) {
    problem(errorBox, refusal(error, errorMessage));
  } finally {
    form.removeAttribute("aria-busy");
  }
}

export function init(shared) {
  ctx = shared.ctx;
  box = document.querySelector("#panel-cohorts .cohort-list-states");
  form = $("cohort-create");
  form.addEventListener("submit", create);
}

export function open() {
  load();
}
