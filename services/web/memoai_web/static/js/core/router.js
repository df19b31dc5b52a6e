// Hash routes: #/<tab>[/<evaluation id>]. Every panel stays in the DOM, so a tab
// switch only flips `hidden` - typed text, scroll position and results survive.

import { t } from "./i18n.js";

const panels = new Map();
const links = new Map();
let modules = {};
let context = null;
let current = null;
let defaultTab = "write";
let pageTitle = document.title;
const allowed = new Set(["always"]);

export function parse(hash) {
  const [tab = "", ...rest] = hash.replace(/^#\/?/, "").split("/");
  return { tab: decodeURIComponent(tab), param: rest.length ? decodeURIComponent(rest.join("/")) : null };
}

// A tab's list item carries data-when; a tab linked from elsewhere (Account, in
// the header) carries it on the link itself.
const gate = (link) => link?.closest("[data-when]");

function visible(tab) {
  const item = gate(links.get(tab));
  return Boolean(item) && allowed.has(item.dataset.when);
}

/** Reveal tabs for a role or mode ("user", "coach", "debug", "admin") once the app knows it applies. */
export function allow(when) {
  allowed.add(when);
  for (const [, link] of links) {
    const item = gate(link);
    if (item.dataset.when === when) item.hidden = false;
  }
  fitTabs();
  // A deep link to a tab revealed late (#/admin on reload) is honoured once allowed.
  const { tab, param } = parse(location.hash);
  if (context && tab && tab !== current && visible(tab)) show(tab, param);
}

export function currentTab() {
  return current;
}

function show(tab, param, { focus = false } = {}) {
  const target = visible(tab) ? tab : defaultTab;
  const changed = target !== current;
  const first = current === null;
  for (const [id, panel] of panels) panel.hidden = id !== target;
  for (const [id, link] of links) {
    if (id === target) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const label = t(`tab.${target}`);
  document.querySelector(".menu-current").textContent = label;
  document.title = `${label} · ${pageTitle}`;
  current = target;
  modules[target]?.show?.(context, param, { changed, first });
  if (focus) {
    const heading = panels.get(target).querySelector("[data-autofocus]") ?? document.getElementById(`heading-${target}`);
    heading?.focus({ preventScroll: false });
  }
  closeMenu();
}

function hashFor(tab, param) {
  // A param may have parts (#/cohorts/review/<id>): each is escaped, the slashes kept.
  return `#/${tab}${param ? `/${String(param).split("/").map(encodeURIComponent).join("/")}` : ""}`;
}

/** Go to a tab (a new history entry); `focus` moves keyboard focus into it. */
export function navigate(tab, param = null, { focus = true } = {}) {
  const hash = hashFor(tab, param);
  if (location.hash !== hash) history.pushState(null, "", hash);
  show(tab, param, { focus });
}

/** Keep the address in step with what is shown (deep links), without a history entry. */
export function reflect(tab, param) {
  const hash = hashFor(tab, param);
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

function onLinkClick(event) {
  const link = event.target.closest?.("a[href^='#/']");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return; // new tab or window
  event.preventDefault();
  const { tab, param } = parse(link.getAttribute("href"));
  // A tab keeps the focus on the menu; a link in the content moves it to the new view.
  navigate(tab || defaultTab, param, { focus: !link.classList.contains("tab") });
}

function onHashChange() {
  const { tab, param } = parse(location.hash);
  show(tab || defaultTab, param);
}

// ---------------------------------------------------------------- narrow screens

const toggle = () => document.querySelector(".menu-toggle");

function closeMenu() {
  const button = toggle();
  if (button?.getAttribute("aria-expanded") === "true") {
    button.setAttribute("aria-expanded", "false");
    document.querySelector(".tabs").classList.remove("open");
  }
}

/**
 * Fit the tabs on one line: as they are, else compact (no icons, less padding),
 * else collapsed into the menu.
 */
function fitTabs() {
  const root = document.documentElement;
  const nav = document.querySelector(".tabs");
  const list = nav.querySelector(".tab-list");
  root.classList.remove("tabs-collapsed", "tabs-compact");
  let fits = list.scrollWidth <= nav.clientWidth;
  if (!fits) {
    root.classList.add("tabs-compact");
    fits = list.scrollWidth <= nav.clientWidth;
  }
  if (!fits) root.classList.remove("tabs-compact");
  root.classList.toggle("tabs-collapsed", !fits);
  if (fits) closeMenu();
}

function setupMenu() {
  const button = toggle();
  const nav = document.querySelector(".tabs");
  fitTabs();
  // The header's width follows the window; its content does not change it, so no loop.
  const resized = new ResizeObserver(fitTabs);
  resized.observe(document.querySelector(".topbar-inner"));
  // The status area grows when the session or the offline chip appears; tabs do
  // not change its size, so this cannot loop either.
  const status = document.querySelector(".status-area");
  if (status) resized.observe(status);
  document.fonts?.ready.then(fitTabs); // the web font is wider or narrower than the fallback
  button.addEventListener("click", () => {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    nav.classList.toggle("open", open);
    if (open) nav.querySelector("[aria-current='page']")?.focus();
  });
  nav.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      closeMenu();
      button.focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (!nav.contains(event.target)) closeMenu();
  });
}

export function start(ctx, tabModules) {
  context = ctx;
  modules = tabModules;
  defaultTab = ctx.boot.defaultTab;
  pageTitle = ctx.boot.frontend.ui_settings.page_title;
  for (const panel of document.querySelectorAll("[data-panel]")) panels.set(panel.dataset.panel, panel);
  for (const link of document.querySelectorAll("[data-tab]")) links.set(link.dataset.tab, link);
  setupMenu();
  // In-app links switch at once, in the click's own task.
  document.addEventListener("click", onLinkClick);
  // Back and forward over our pushState entries fire popstate; a typed address,
  // hashchange. Showing the same tab twice is harmless.
  window.addEventListener("popstate", onHashChange);
  window.addEventListener("hashchange", onHashChange);
  const { tab, param } = parse(location.hash);
  show(tab || defaultTab, param);
}
