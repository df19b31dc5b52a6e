// Debug (administrators): switch debug mode on or off, run the self-tests, and
// look inside recent evaluations - where the time went (a stacked bar and the
// same figures as a table), tokens, cost, and the raw prompt and response.

import { get, post } from "../core/api.js";
import { clear, el, showError, showState, slot } from "../core/dom.js";
import { dateTime, number, plural, t } from "../core/i18n.js";
import { errorMessage } from "../core/messages.js";
import { allow } from "../core/router.js";
import { on, state } from "../core/store.js";

export const PHASES = ["queue_wait", "llm", "parse", "save"];

let ctx;
let container;
let toggle;
let loaded = false;
let stale = false;
let loading = null;

const $ = (id) => document.getElementById(id);

/** "850 ms", "2.4 s" in the page's language; "—" when not measured. */
export function seconds(value) {
  if (value === null || value === undefined) return "—";
  if (value < 1) return number(Math.round(value * 1000), { style: "unit", unit: "millisecond", unitDisplay: "short" });
  return number(value, { style: "unit", unit: "second", unitDisplay: "short", maximumFractionDigits: 2 });
}

function money(value) {
  if (value === null || value === undefined) return "—";
  return number(value, { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 6 });
}

function showMode(enabled) {
  // The Debug tab's dot reminds an admin that debug data is being recorded.
  const badge = document.querySelector("#tab-debug .tab-badge");
  badge.hidden = !enabled;
  badge.classList.add("tab-badge-debug");
  document.getElementById("tab-debug").title = enabled ? t("debug.onNote") : "";
  toggle.checked = Boolean(enabled);
  toggle.disabled = false;
  $("debug-mode-state").textContent = enabled ? t("debug.onNote") : t("debug.offNote");
}

// ---------------------------------------------------------------- one evaluation

function timingChart(timings) {
  const measured = PHASES.filter((phase) => timings?.[phase] > 0);
  const sum = measured.reduce((total, phase) => total + timings[phase], 0);
  const described = PHASES.map((phase) => `${t(`debug.phase.${phase}`)} ${seconds(timings?.[phase])}`).join(", ");
  const bar = el("div", { class: "timing-bar", role: "img", "aria-label": t("debug.timingLabel", { list: described, total: seconds(timings?.total) }) });
  for (const phase of measured) {
    const part = el("span", { class: `timing-part phase-${phase}`, title: `${t(`debug.phase.${phase}`)}: ${seconds(timings[phase])}` });
    part.style.setProperty("--share", String(timings[phase] / sum));
    bar.append(part);
  }
  if (!measured.length) bar.append(el("span", { class: "timing-none" }, t("debug.noTimings")));
  return bar;
}

function timingTable(timings) {
  const total = timings?.total ?? null;
  const rows = PHASES.map((phase) => {
    const value = timings?.[phase] ?? null;
    const share = value !== null && total ? number(value / total, { style: "percent", maximumFractionDigits: 1 }) : "—";
    return el(
      "tr",
      {},
      el("th", { scope: "row" }, el("span", { class: `swatch phase-${phase}`, "aria-hidden": "true" }), t(`debug.phase.${phase}`)),
      el("td", { class: "num" }, seconds(value)),
      el("td", { class: "num" }, share),
    );
  });
  rows.push(el("tr", { class: "total" }, el("th", { scope: "row" }, t("debug.total")), el("td", { class: "num" }, seconds(total)), el("td", { class: "num" }, "")));
  return el(
    "table",
    { class: "score-table timing-table" },
    el("caption", { class: "visually-hidden" }, t("debug.timings")),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("debug.phase")), el("th", { scope: "col" }, t("debug.duration")), el("th", { scope: "col" }, t("debug.share")))),
    el("tbody", {}, rows),
  );
}

/** JSON (the request and the model's answer usually are) indented to read; anything else as is. */
export function readable(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function rawBlock(title, text, id) {
  return el(
    "div",
    { class: "raw-block" },
    el("h4", { id }, title),
    text
      ? el("pre", { class: "raw", tabindex: "0", role: "region", "aria-labelledby": id }, readable(text))
      : el("p", { class: "muted" }, t("debug.noRaw")),
  );
}

function tokensText(tokens) {
  if (!tokens) return "—";
  return t("debug.tokensValue", {
    input: number(tokens.input ?? 0),
    output: number(tokens.output ?? 0),
    cacheRead: number(tokens.cache_read ?? 0),
    cacheWrite: number(tokens.cache_write ?? 0),
  });
}

function item(evaluation, maxAttempts) {
  const total = evaluation.timings?.total ?? null;
  const model = [evaluation.llm_provider, evaluation.llm_model].filter(Boolean).join(" · ");
  const details = el(
    "details",
    { class: "debug-item", "data-evaluation": evaluation.id },
    el(
      "summary",
      {},
      el(
        "span",
        { class: "debug-summary-main" },
        el("span", { class: "debug-when" }, dateTime(evaluation.created_at)),
        el("span", { class: "debug-model" }, model || "—"),
      ),
      el("span", { class: `status-chip status-${evaluation.status}` }, t(`status.${evaluation.status}`)),
      el("span", { class: "debug-figure" }, seconds(total)),
      el("span", { class: "debug-figure" }, money(evaluation.cost)),
    ),
  );
  // The heavy part is built when first opened: raw prompts can be long.
  details.addEventListener("toggle", () => {
    if (!details.open || details.dataset.built) return;
    details.dataset.built = "true";
    const key = `raw-${evaluation.id}`;
    details.append(el(
      "div",
      { class: "debug-body" },
      timingChart(evaluation.timings),
      timingTable(evaluation.timings),
      el(
        "dl",
        { class: "debug-facts" },
        el("div", {}, el("dt", {}, t("debug.tokens")), el("dd", {}, tokensText(evaluation.tokens))),
        el("div", {}, el("dt", {}, t("debug.cost")), el("dd", {}, money(evaluation.cost))),
        el("div", {}, el("dt", {}, t("debug.attempts")), el("dd", {}, maxAttempts
          ? t("debug.attemptsValue", { attempts: number(evaluation.attempts ?? 0), max: number(maxAttempts) })
          : number(evaluation.attempts ?? 0))),
        evaluation.error_code
          ? el("div", {}, el("dt", {}, t("debug.errorCode")), el("dd", {}, el("code", {}, evaluation.error_code)))
          : null,
        el("div", {}, el("dt", {}, t("debug.configVersion")), el("dd", {}, evaluation.config_version ?? "—")),
        el("div", {}, el("dt", {}, t("debug.evaluationId")), el("dd", {}, el("code", {}, evaluation.id))),
      ),
      rawBlock(t("debug.rawPrompt"), evaluation.raw_prompt, `${key}-prompt`),
      rawBlock(t("debug.rawResponse"), evaluation.raw_response, `${key}-response`),
    ));
  });
  return el("li", {}, details);
}

async function refresh() {
  if (container.dataset.view !== "ready") showState(container, "loading");
  try {
    const { data } = await get("/debug/info?limit=20");
    stale = false;
    showMode(data.debug_enabled);
    const open = new Set([...container.querySelectorAll("details[open]")].map((d) => d.dataset.evaluation));
    const list = clear(slot(container, "list"));
    for (const evaluation of data.evaluations) {
      const node = item(evaluation, data.max_attempts);
      list.append(node);
      // Keep what the admin had open across a refresh.
      if (open.has(evaluation.id)) node.querySelector("details").open = true;
    }
    showState(container, data.evaluations.length ? "ready" : "empty");
  } catch (error) {
    showError(container, errorMessage(error), () => refresh());
  }
}

function load() {
  loading ??= refresh().finally(() => { loading = null; });
  return loading;
}

// ---------------------------------------------------------------- controls

async function onToggle() {
  const wanted = toggle.checked;
  toggle.disabled = true;
  try {
    const { data } = await post("/admin/debug/toggle", { debug_enabled: wanted });
    showMode(data.debug_enabled);
    ctx.announce(data.debug_enabled ? t("debug.onNote") : t("debug.offNote"));
  } catch (error) {
    showMode(!wanted);
    $("debug-mode-state").textContent = errorMessage(error);
  }
}

async function selfTest() {
  const button = $("selftest-run");
  const list = clear($("selftest-results"));
  const problem = $("selftest-error");
  problem.hidden = true;
  button.disabled = true;
  button.classList.add("is-busy");
  list.setAttribute("aria-busy", "true");
  try {
    const { data } = await post("/admin/debug/self-test");
    for (const check of data.checks) {
      list.append(el(
        "li",
        { class: check.ok ? "check check-ok" : "check check-bad" },
        el("span", { class: check.ok ? "result-chip result-ok" : "result-chip result-bad" }, check.ok ? t("debug.checkOk") : t("debug.checkFailed")),
        el("span", { class: "check-name" }, check.name),
        el("span", { class: "check-time" }, seconds((check.duration_ms ?? 0) / 1000)),
        check.detail ? el("span", { class: "check-detail" }, check.detail) : null,
      ));
    }
    const failed = data.checks.filter((c) => !c.ok).length;
    ctx.announce(failed ? plural("debug.selfTestFailed", failed) : t("debug.selfTestPassed"));
  } catch (error) {
    problem.textContent = errorMessage(error);
    problem.hidden = false;
  } finally {
    button.disabled = false;
    button.classList.remove("is-busy");
    list.removeAttribute("aria-busy");
  }
}

export function init(context) {
  ctx = context;
  container = document.querySelector("#panel-debug .debug-states");
  toggle = $("debug-toggle");
  toggle.addEventListener("change", onToggle);
  $("selftest-run").addEventListener("click", selfTest);
  $("debug-refresh").addEventListener("click", () => load());
  // Debug data is for administrators: their sign-in reveals the tab.
  on("user", (user) => {
    if (!user.is_admin) return;
    allow("debug");
    // Learn whether debug mode is on (for the tab's dot) without loading the list.
    get("/debug/info?limit=1").then(({ data }) => showMode(data.debug_enabled)).catch(() => {});
  });
  // A new evaluation finished: the list is out of date.
  on("result", () => { stale = true; });
}

export function show() {
  if (!state.session?.user?.is_admin) return;
  if (!loaded || stale) {
    loaded = true;
    load();
  }
}
