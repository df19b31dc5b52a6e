// Admin: system status - database, broker, workers, model provider, version,
// uptime and debug mode, as GET /admin/status reports them.

import { get } from "../../core/api.js";
import { clear, el, showError, showState, slot } from "../../core/dom.js";
import { number, t } from "../../core/i18n.js";
import { errorMessage } from "../../core/messages.js";
import { $ } from "./shared.js";

function uptime(seconds) {
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const unit = (value, name) => number(value, { style: "unit", unit: name, unitDisplay: "short" });
  if (days) return `${unit(days, "day")} ${unit(hours, "hour")}`;
  if (hours) return `${unit(hours, "hour")} ${unit(minutes, "minute")}`;
  return unit(minutes, "minute");
}

function statusItem(label, ok, text) {
  const tone = ok === null ? "neutral" : ok ? "ok" : "bad";
  return el(
    "div",
    { class: `status-item status-${tone}` },
    el("dt", {}, label),
    el(
      "dd",
      {},
      el("span", { class: "status-dot", "aria-hidden": "true" }),
      ok === null ? null : el("span", { class: "status-word" }, ok ? t("admin.ok") : t("admin.down")),
      el("span", {}, text),
    ),
  );
}

export async function loadStatus() {
  const box = document.querySelector("#admin-status .status-states");
  showState(box, "loading");
  try {
    const { data } = await get("/admin/status");
    const workers = data.workers ?? [];
    const alive = workers.filter((w) => w.alive).length;
    const grid = clear(slot(box, "grid"));
    grid.append(
      statusItem(t("admin.statusDb"), data.database.ok, [data.database.backend, data.database.latency_ms !== null && data.database.latency_ms !== undefined ? t("admin.ms", { n: number(data.database.latency_ms, { maximumFractionDigits: 1 }) }) : null].filter(Boolean).join(" · ")),
      statusItem(t("admin.statusBroker"), data.broker.ok, t("admin.queueDepth", { n: number(data.broker.queue_depth ?? 0) })),
      statusItem(t("admin.statusWorkers"), workers.length ? alive > 0 : false, [t("admin.workersAlive", { alive: number(alive), total: number(workers.length) }), workers.map((w) => w.name).join(", ")].filter(Boolean).join(" · ")),
      statusItem(t("admin.statusLlm"), data.llm.reachable, [data.llm.provider, data.llm.model].filter(Boolean).join(" · ")),
      statusItem(t("admin.statusVersion"), null, data.version ?? "—"),
      statusItem(t("admin.statusUptime"), null, uptime(data.uptime_seconds ?? 0)),
      statusItem(t("admin.statusDebug"), null, data.debug_enabled ? t("debug.on") : t("debug.off")),
    );
    showState(box, "ready");
  } catch (error) {
    showError(box, errorMessage(error), () => loadStatus());
  }
}

export function init() {
  $("status-refresh").addEventListener("click", loadStatus);
}
