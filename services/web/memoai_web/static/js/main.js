// Start-up: read the boot data, wire the shared components, show the tab the
// address asks for, then load the configuration and the session in parallel.

import { configure, ensureSession, get, onSession } from "./core/api.js";
import { slot } from "./core/dom.js";
import { setup as setupI18n, t } from "./core/i18n.js";
import { errorMessage } from "./core/messages.js";
import { start as startRouter } from "./core/router.js";
import { emit, on, state } from "./core/store.js";
import { setupLogin } from "./components/login.js";
import { showDisconnected, showOfflineEvaluator, showSession } from "./components/session.js";
import { setupTheme } from "./components/theme.js";
import { setupTooltips } from "./components/tooltips.js";
import { tabModules } from "./tabs/index.js";

const boot = JSON.parse(document.getElementById("boot").textContent);
state.boot = boot;
setupI18n(boot);
configure(boot);
if (!boot.frontend.components.tab_switch_animation) document.documentElement.dataset.animate = "off";

// ---------------------------------------------------------------- shared UI

const live = document.getElementById("live");
function announce(message) {
  // Clear first so the same message twice is still read out.
  live.textContent = "";
  requestAnimationFrame(() => { live.textContent = message; });
}

let toastTimer = null;
function toast(message, actionLabel, href) {
  const node = document.getElementById("toast");
  slot(node, "message").textContent = message;
  const action = slot(node, "action");
  action.textContent = actionLabel;
  action.href = href;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, 10_000);
  action.onclick = () => { node.hidden = true; };
}

const banner = document.getElementById("banner");
function showBanner(message, retry) {
  slot(banner, "message").textContent = message;
  banner.querySelector("[data-retry]").onclick = retry;
  banner.hidden = false;
}

// ---------------------------------------------------------------- loading

async function loadConfig() {
  try {
    const { data } = await get("/config/public", { session: false });
    state.config = data;
    showOfflineEvaluator(data);
    emit("config", data);
    return true;
  } catch (error) {
    emit("config-error", error);
    throw error;
  }
}

async function connect() {
  if (boot.authEnabled) return setupLogin(boot);
  // Writing needs no account, but admins and token owners can still sign in.
  const user = await setupLogin(boot, { optional: true });
  if (!user) await ensureSession(boot.hasSession);
}

/** Load what the app needs; on failure show one banner whose retry loads what is missing. */
async function startup() {
  const tasks = [];
  if (!state.config) tasks.push(loadConfig());
  if (!state.session) tasks.push(connect());
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) {
    showDisconnected();
    showBanner(t("error.startup", { reason: errorMessage(failed.reason) }), () => {
      banner.hidden = true;
      startup();
    });
  } else {
    banner.hidden = true;
    document.documentElement.dataset.ready = "true";
    performance.mark("memoai:ready"); // read by `make bench-web`
  }
}

const ctx = {
  boot,
  announce,
  toast,
  reloadConfig: () => startup(),
};

onSession((session) => {
  state.session = session;
  showSession(session);
});

on("result", (evaluation) => {
  // Tab links and "read comments" keep pointing at the result on show (deep links).
  for (const link of document.querySelectorAll("#tab-overall, #tab-detailed, [data-result-link]")) {
    const tab = link.dataset.tab ?? link.dataset.resultLink;
    link.setAttribute("href", `#/${tab}/${encodeURIComponent(evaluation.id)}`);
  }
});

for (const button of document.querySelectorAll("[data-lang]")) {
  button.addEventListener("click", () => {
    const year = 365 * 24 * 3600;
    document.cookie = `${boot.langCookie}=${button.dataset.lang}; path=/; max-age=${year}; samesite=lax`;
    location.reload();
  });
}

setupTooltips();
setupTheme();
for (const module of Object.values(tabModules)) module.init(ctx);
// Start loading first: the tab shown next may need the session.
startup();
startRouter(ctx, tabModules);
