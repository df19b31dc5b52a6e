// Help: the readers, rubric and frameworks in force (from GET /config/public),
// how to use the app and the FAQ (static, in the page).

import { clear, el, scrollBehavior, showError, showState, slot } from "../core/dom.js";
import { number, t } from "../core/i18n.js";
import { errorMessage } from "../core/messages.js";
import { on, state } from "../core/store.js";

let audienceSection;
let rubricSection;
let frameworksSection;
let rendered = false;

function weights(rubric) {
  const box = clear(slot(rubricSection, "weights"));
  const summary = rubric.criteria.map((c) => `${c.name} ${number(c.weight)}%`).join(", ");
  box.setAttribute("aria-label", t("help.weightsLabel", { list: summary }));
  const bar = el("div", { class: "weight-bar" });
  rubric.criteria.forEach((criterion, position) => {
    const part = el("span", { class: `weight-part c${position % 6}`, title: `${criterion.name}: ${number(criterion.weight)}%` });
    part.style.setProperty("--share", String(criterion.weight));
    bar.append(part);
  });
  const legend = el("ul", { class: "weight-legend", "aria-hidden": "true" });
  rubric.criteria.forEach((criterion, position) => {
    legend.append(el("li", {}, el("span", { class: `swatch c${position % 6}` }), `${criterion.name} · ${number(criterion.weight)}%`));
  });
  box.append(bar, legend);
}

function criterionBlock(criterion, scale, position) {
  const levels = el("ol", { class: "levels", reversed: true });
  for (let value = scale.max; value >= scale.min; value -= 1) {
    levels.append(
      el(
        "li",
        { class: "level-row", value: String(value) },
        el("span", { class: "level-badge" }, number(value)),
        el("span", { class: "level-name" }, scale.labels[String(value)] ?? ""),
        el("span", { class: "level-text" }, criterion.scoring_guidance[String(value)] ?? ""),
      ),
    );
  }
  return el(
    "details",
    { class: "rubric-criterion", open: position === 0 },
    el(
      "summary",
      {},
      el("span", { class: `swatch c${position % 6}`, "aria-hidden": "true" }),
      el("span", { class: "rubric-criterion-name" }, criterion.name),
      el("span", { class: "weight" }, t("overall.weight", { weight: number(criterion.weight) })),
    ),
    el("p", { class: "rubric-criterion-desc" }, criterion.description),
    el("h4", { class: "levels-title" }, t("help.levels")),
    levels,
  );
}

function framework(item) {
  return el(
    "article",
    { class: "framework" },
    el("h3", {}, item.name),
    el("p", {}, item.summary),
    el("h4", {}, t("help.apply")),
    el("ul", {}, item.how_to_apply.map((step) => el("li", {}, step))),
    item.questions?.length ? el("h4", {}, t("help.ask")) : null,
    item.questions?.length ? el("ul", { class: "questions" }, item.questions.map((q) => el("li", {}, q))) : null,
  );
}

function fillList(list, items) {
  clear(list).append(...items.map((item) => el("li", {}, item)));
}

function audience(context) {
  slot(audienceSection, "who").textContent = context.audience.description;
  slot(audienceSection, "habits").textContent = context.audience.reading_habits ?? "";
  fillList(slot(audienceSection, "priorities"), context.audience.priorities ?? []);
  fillList(slot(audienceSection, "expectations"), context.expectations ?? []);
  for (const [name, value] of [["tone", context.tone], ["length", context.length_guidance]]) {
    const item = slot(audienceSection, name);
    item.textContent = value ?? "";
    item.parentElement.hidden = !value;
  }
  showState(audienceSection, "ready");
}

function render(config) {
  if (rendered) return;
  rendered = true;
  audience(config.context);
  const { rubric } = config;
  const scale = rubric.scale;
  slot(rubricSection, "rubric-name").textContent = rubric.name;
  slot(rubricSection, "rubric-desc").textContent = rubric.description ?? "";
  weights(rubric);
  const list = clear(slot(rubricSection, "criteria"));
  rubric.criteria.forEach((criterion, position) => list.append(criterionBlock(criterion, scale, position)));
  const frameworks = clear(slot(frameworksSection, "frameworks"));
  for (const item of config.frameworks) frameworks.append(framework(item));
  showState(rubricSection, "ready");
  showState(frameworksSection, "ready");
}

export function init(ctx) {
  audienceSection = document.getElementById("help-audience");
  rubricSection = document.getElementById("help-rubric");
  frameworksSection = document.getElementById("help-frameworks");
  on("config", render);
  on("config-error", (error) => {
    for (const section of [audienceSection, rubricSection, frameworksSection]) {
      showError(section, errorMessage(error), () => ctx.reloadConfig());
    }
  });
  for (const link of document.querySelectorAll(".help-toc [data-scroll]")) {
    // In-page links would replace the #/route; scroll and focus the section instead.
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const target = document.querySelector(link.getAttribute("href"));
      target.scrollIntoView({ behavior: scrollBehavior() });
      target.focus({ preventScroll: true });
    });
  }
}

export function show() {
  if (state.config) render(state.config);
}
